// A Promise-returning AsyncWorker (after sharp / better-sqlite3): the JS thread validates and
// fills a plain job, `exec` runs on a libuv worker thread, `done` builds the result on the JS
// thread. A BlError becomes a rejected Promise with an Error whose `code` is the BlError's.
#pragma once
#include <napi.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "../common/error.h"

namespace bl {

class AsyncJob : public Napi::AsyncWorker {
 public:
  using Exec = std::function<void()>;
  using Done = std::function<Napi::Value(Napi::Env)>;

  // Queues the job and returns its Promise. `busy` (optional) is held for the job's lifetime;
  // if already held the Promise rejects with E_CONCURRENT and nothing runs.
  // Nothing of JavaScript's may be read by `exec`: the caller copies what the job needs first.
  static Napi::Promise run(Napi::Env env, Exec exec, Done done, std::shared_ptr<std::atomic<bool>> busy = nullptr);

  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& e) override;

 private:
  AsyncJob(Napi::Env env, Exec exec, Done done, std::shared_ptr<std::atomic<bool>> busy);
  void release();

  Napi::Promise::Deferred deferred_;
  Exec exec_;
  Done done_;
  std::shared_ptr<std::atomic<bool>> busy_;
  std::string code_ = "E_NATIVE";
};

// An Error with `code`, for rejecting or throwing on the JS thread.
Napi::Error make_error(Napi::Env env, const std::string& code, const std::string& message);

// Float32Array that owns `data` without copying.
Napi::Float32Array to_float32_array(Napi::Env env, std::vector<float>&& data);

}  // namespace bl
