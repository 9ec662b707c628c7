// A fixed pool of worker threads for data-parallel loops. The caller thread takes part.
// Work is split into contiguous ranges whose boundaries depend only on n and grain, and every
// reduction in the library is ordered within a range, so results never depend on the number
// of threads.
#pragma once
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace bl {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(begin, end) over [0, n) in chunks [c*grain, min(n, (c+1)*grain)): the same
  // boundaries for every thread count, and never more than `grain` items per call.
  void parallel_for(size_t n, size_t grain, const std::function<void(size_t, size_t)>& fn);

 private:
  void worker_loop();

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  const std::function<void(size_t, size_t)>* fn_ = nullptr;
  size_t n_ = 0, chunk_ = 0, next_ = 0, chunks_ = 0, done_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
  std::mutex call_mu_;  // one parallel_for at a time
};

// The process-wide pool used by the CPU backend (size: hardware threads, or set_threads()).
ThreadPool& cpu_pool();
void set_cpu_threads(int threads);
int cpu_threads();

}  // namespace bl
