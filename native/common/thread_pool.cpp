#include "thread_pool.h"

#include <algorithm>
#include <memory>

namespace bl {

ThreadPool::ThreadPool(int threads) {
  const int extra = std::max(0, threads - 1);
  for (int i = 0; i < extra; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::parallel_for(size_t n, size_t grain, const std::function<void(size_t, size_t)>& fn) {
  if (n == 0) return;
  grain = std::max<size_t>(grain, 1);
  const size_t chunks = (n + grain - 1) / grain;
  if (workers_.empty() || chunks == 1) {
    // Same chunk boundaries as the threaded path: callers may rely on end - begin <= grain.
    for (size_t c = 0; c < chunks; ++c) fn(c * grain, std::min(n, (c + 1) * grain));
    return;
  }
  std::lock_guard<std::mutex> call_lock(call_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    fn_ = &fn;
    n_ = n;
    chunk_ = grain;
    chunks_ = chunks;
    next_ = 0;
    done_ = 0;
    ++generation_;
  }
  work_cv_.notify_all();
  // The caller works too.
  for (;;) {
    size_t c;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (next_ >= chunks_) break;
      c = next_++;
    }
    fn(c * chunk_, std::min(n, (c + 1) * chunk_));
    std::lock_guard<std::mutex> lock(mu_);
    if (++done_ == chunks_) done_cv_.notify_all();
  }
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [&] { return done_ == chunks_; });
  fn_ = nullptr;
}

void ThreadPool::worker_loop() {
  uint64_t seen = 0;
  for (;;) {
    std::unique_lock<std::mutex> lock(mu_);
    work_cv_.wait(lock, [&] { return stop_ || (generation_ != seen && fn_ != nullptr && next_ < chunks_); });
    if (stop_) return;
    seen = generation_;
    while (fn_ != nullptr && next_ < chunks_) {
      const size_t c = next_++;
      const auto* fn = fn_;
      const size_t n = n_, chunk = chunk_;
      lock.unlock();
      (*fn)(c* chunk, std::min(n, (c + 1) * chunk));
      lock.lock();
      if (++done_ == chunks_) done_cv_.notify_all();
    }
  }
}

namespace {
std::mutex g_pool_mu;
std::unique_ptr<ThreadPool> g_pool;
int g_threads = 0;
}  // namespace

int cpu_threads() {
  std::lock_guard<std::mutex> lock(g_pool_mu);
  if (g_threads <= 0) g_threads = std::max(1u, std::thread::hardware_concurrency());
  return g_threads;
}

void set_cpu_threads(int threads) {
  std::lock_guard<std::mutex> lock(g_pool_mu);
  const int t = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (g_pool && g_pool->threads() == t) return;
  g_pool.reset(new ThreadPool(t));
  g_threads = t;
}

ThreadPool& cpu_pool() {
  std::lock_guard<std::mutex> lock(g_pool_mu);
  if (!g_pool) {
    if (g_threads <= 0) g_threads = std::max(1u, std::thread::hardware_concurrency());
    g_pool.reset(new ThreadPool(g_threads));
  }
  return *g_pool;
}

}  // namespace bl
