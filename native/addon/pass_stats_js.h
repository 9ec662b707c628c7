// Per-batch sums of a native pass (mlp/mlp.h PassStats, also used by the RNN) as
// { lossSum: Float32Array, correct: Float32Array, size: Int32Array }, in batch order.
#pragma once
#include <napi.h>

#include "../mlp/mlp.h"

namespace bl {

inline Napi::Object stats_to_js(Napi::Env env, const PassStats& s) {
  Napi::Object o = Napi::Object::New(env);
  auto loss = Napi::Float32Array::New(env, s.loss_sum.size());
  auto correct = Napi::Float32Array::New(env, s.correct.size());
  auto size = Napi::Int32Array::New(env, s.size.size());
  for (size_t i = 0; i < s.size.size(); ++i) {
    loss[i] = s.loss_sum[i];
    correct[i] = s.correct[i];
    size[i] = s.size[i];
  }
  o.Set("lossSum", loss);
  o.Set("correct", correct);
  o.Set("size", size);
  return o;
}

}  // namespace bl
