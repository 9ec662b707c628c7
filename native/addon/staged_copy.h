// Large float inputs of a job (a dataset's x, predict's x), copied without stalling the event
// loop: the destination is allocated and touched on a libuv worker first (the page faults of
// fresh memory are most of a copy's cost), then the JS thread copies the arrays into the resident
// pages (one memcpy) and starts the job. Small inputs (under kStageBytes in all) are copied at
// once. Either way no worker ever reads JavaScript memory (binding_util.h).
//
// Documented result: the job computes on the values the arrays hold when the copy is made, which
// is before the returned Promise settles; an array detached or resized before then rejects with
// E_INVALID_ARG naming it, never a read of freed memory.
#pragma once
#include <napi.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "binding_util.h"

namespace bl {

constexpr size_t kStageBytes = size_t(1) << 20;

// The copies handed to `start`, in the order of the arrays (nullptr for an absent optional one).
using StagedStart = std::function<Napi::Value(Napi::Env, std::vector<SharedF32>)>;

class StagedCopy : public Napi::AsyncWorker {
 public:
  // arrays: Float32Arrays (or null/undefined where optional), validated by the caller; `start`
  // runs on the JS thread with the copies and returns the job's Promise, which the returned one follows.
  static Napi::Value run(Napi::Env env, const std::vector<Napi::Value>& arrays, const std::vector<const char*>& names,
                         StagedStart start) {
    std::vector<size_t> lengths(arrays.size(), 0);
    size_t bytes = 0;
    for (size_t i = 0; i < arrays.size(); ++i) {
      if (arrays[i].IsNull() || arrays[i].IsUndefined()) continue;
      typed_data<float>(env, arrays[i], napi_float32_array, names[i], &lengths[i]);
      bytes += lengths[i] * sizeof(float);
    }
    if (bytes < kStageBytes) {
      std::vector<SharedF32> copies;
      for (size_t i = 0; i < arrays.size(); ++i)
        copies.push_back(arrays[i].IsNull() || arrays[i].IsUndefined() ? nullptr
                                                                       : shared_f32(env, arrays[i], names[i]));
      return start(env, std::move(copies));
    }
    auto* job = new StagedCopy(env, arrays, names, std::move(lengths), std::move(start));
    Napi::Promise p = job->deferred_.Promise();
    job->Queue();
    return p;
  }

  void Execute() override {
    try {
      for (size_t i = 0; i < lengths_.size(); ++i)
        if (present_[i]) {
          require_host_memory(lengths_[i] * sizeof(float), names_[i]);
          buffers_[i] = std::make_shared<std::vector<float>>(lengths_[i]);  // zero-filled: the pages are touched here
        }
    } catch (const BlError& e) {
      code_ = e.code();
      SetError(e.what());
    } catch (const std::bad_alloc&) {
      code_ = "E_OOM";
      SetError("out of memory: the copy of the inputs could not be allocated");
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    try {
      std::vector<SharedF32> copies(lengths_.size());
      for (size_t i = 0; i < lengths_.size(); ++i) {
        if (!present_[i]) continue;
        Napi::Value v = refs_[i].Value();
        size_t n = 0;
        const bool ok = v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array;
        const float* p = ok ? typed_data<float>(env, v, napi_float32_array, names_[i], &n) : nullptr;
        if (!ok || n != lengths_[i])
          throw_js(env, "E_INVALID_ARG",
                   std::string(names_[i]) + " was detached or resized before the call copied it (" +
                       std::to_string(lengths_[i]) + " values at the call, " + std::to_string(n) + " now)");
        std::copy(p, p + n, buffers_[i]->begin());
        copies[i] = buffers_[i];
      }
      refs_.clear();
      deferred_.Resolve(start_(env, std::move(copies)));
    } catch (const Napi::Error& e) { deferred_.Reject(e.Value()); }
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(make_error(Env(), code_, e.Message()).Value()); }

 private:
  StagedCopy(Napi::Env env, const std::vector<Napi::Value>& arrays, const std::vector<const char*>& names,
             std::vector<size_t> lengths, StagedStart start)
      : Napi::AsyncWorker(env, "biaslearn.copy"),
        deferred_(Napi::Promise::Deferred::New(env)),
        names_(names),
        lengths_(std::move(lengths)),
        start_(std::move(start)) {
    for (const Napi::Value& v : arrays) {
      present_.push_back(!(v.IsNull() || v.IsUndefined()));
      refs_.push_back(present_.back() ? Napi::Persistent(v) : Napi::Reference<Napi::Value>());
    }
    buffers_.resize(lengths_.size());
  }

  Napi::Promise::Deferred deferred_;
  std::vector<const char*> names_;
  std::vector<size_t> lengths_;
  std::vector<bool> present_;
  std::vector<Napi::Reference<Napi::Value>> refs_;
  std::vector<std::shared_ptr<std::vector<float>>> buffers_;
  StagedStart start_;
  std::string code_ = "E_NATIVE";
};

}  // namespace bl
