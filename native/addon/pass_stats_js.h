// Per-batch sums of a native pass (train/pass.h PassStats) as
// { lossSum: Float32Array, correct: Float32Array, sqError: Float32Array, size: Int32Array }, in batch order.
#pragma once
#include <napi.h>

#include <vector>

#include "../train/pass.h"

namespace bl {

inline Napi::Object stats_to_js(Napi::Env env, const PassStats& s) {
  auto f32 = [&](const std::vector<float>& v) {
    auto a = Napi::Float32Array::New(env, v.size());
    for (size_t i = 0; i < v.size(); ++i) a[i] = v[i];
    return a;
  };
  auto size = Napi::Int32Array::New(env, s.size.size());
  for (size_t i = 0; i < s.size.size(); ++i) size[i] = s.size[i];
  Napi::Object o = Napi::Object::New(env);
  o.Set("lossSum", f32(s.loss_sum));
  o.Set("correct", f32(s.correct));
  o.Set("sqError", f32(s.sq_error));
  o.Set("size", size);
  return o;
}

}  // namespace bl
