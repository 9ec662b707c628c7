#include "async_job.h"

#include <new>
#include <stdexcept>

namespace bl {

Napi::Error make_error(Napi::Env env, const std::string& code, const std::string& message) {
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

AsyncJob::AsyncJob(Napi::Env env, Exec exec, Done done, std::shared_ptr<std::atomic<bool>> busy)
    : Napi::AsyncWorker(env, "biaslearn"),
      deferred_(Napi::Promise::Deferred::New(env)),
      exec_(std::move(exec)),
      done_(std::move(done)),
      busy_(std::move(busy)) {}

Napi::Promise AsyncJob::run(Napi::Env env, Exec exec, Done done, std::shared_ptr<std::atomic<bool>> busy) {
  if (busy) {
    bool expected = false;
    if (!busy->compare_exchange_strong(expected, true)) {
      auto d = Napi::Promise::Deferred::New(env);
      d.Reject(
          make_error(env, "E_CONCURRENT", "another operation on this object is still running; await it first").Value());
      return d.Promise();
    }
  }
  auto* job = new AsyncJob(env, std::move(exec), std::move(done), std::move(busy));
  Napi::Promise p = job->deferred_.Promise();
  job->Queue();
  return p;
}

void AsyncJob::Execute() {
  try {
    exec_();
  } catch (const BlError& e) {
    code_ = e.code();
    SetError(e.what());
  } catch (const std::bad_alloc&) {
    code_ = "E_OOM";
    SetError("out of memory: an allocation on a worker thread failed");
  } catch (const std::length_error& e) {
    code_ = "E_OOM";
    SetError(std::string("out of memory: an allocation larger than the maximum size was asked for (") + e.what() + ")");
  } catch (const std::exception& e) {
    code_ = "E_NATIVE";
    SetError(e.what());
  }
}

void AsyncJob::release() {
  if (busy_) busy_->store(false);
  busy_.reset();
}

void AsyncJob::OnOK() {
  release();
  Napi::Env env = Env();
  try {
    deferred_.Resolve(done_(env));
  } catch (const Napi::Error& e) { deferred_.Reject(e.Value()); } catch (const BlError& e) {
    deferred_.Reject(make_error(env, e.code(), e.what()).Value());
  }
}

void AsyncJob::OnError(const Napi::Error& e) {
  release();
  deferred_.Reject(make_error(Env(), code_, e.Message()).Value());
}

Napi::Float32Array to_float32_array(Napi::Env env, std::vector<float>&& data) {
  const size_t n = data.size();
  if (n == 0) return Napi::Float32Array::New(env, 0);
  auto* owned = new std::vector<float>(std::move(data));
  Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(
      env, owned->data(), n * sizeof(float), [](Napi::Env, void*, std::vector<float>* v) { delete v; }, owned);
  return Napi::Float32Array::New(env, n, buf, 0);
}

}  // namespace bl
