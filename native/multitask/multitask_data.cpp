#include "multitask_data.h"

#include <algorithm>
#include <atomic>
#include <string>

#include "../common/error.h"

namespace bl {

std::shared_ptr<MultitaskData> MultitaskData::create(std::shared_ptr<Backend> be, const float* x, int n, int input_size,
                                                     const int32_t* labels, const int32_t* task,
                                                     const std::vector<int>& classes) {
  require(n > 0, "E_EMPTY", "expected at least one sample for the multi-task dataset, got 0");
  require(!classes.empty(), "E_CONFIG", "expected at least one task, got 0");
  const int K = static_cast<int>(classes.size());
  int max_classes = 0;
  for (int k = 0; k < K; ++k) {
    require(classes[k] >= 1, "E_INVALID_ARG",
            "expected classes >= 1 for task " + std::to_string(k) + ", got " + std::to_string(classes[k]));
    max_classes = std::max(max_classes, classes[k]);
  }
  static std::atomic<uint64_t> next_id{1};
  auto d = std::make_shared<MultitaskData>();
  d->id = next_id.fetch_add(1);
  d->classes = classes;
  d->count.assign(K, 0);
  d->host_task.assign(task, task + n);
  for (int i = 0; i < n; ++i) {
    const int t = task[i];
    if (t < 0 || t >= K)
      fail("E_INVALID_ARG", "task id " + std::to_string(t) + " out of range [0, " + std::to_string(K) + ") at sample " +
                                std::to_string(i));
    if (labels[i] < 0 || labels[i] >= classes[t])
      fail("E_LABEL_RANGE", "expected labels in [0, " + std::to_string(classes[t]) + ") for task " + std::to_string(t) +
                                ", got " + std::to_string(labels[i]) + " at sample " + std::to_string(i));
    ++d->count[t];
  }
  d->base = DeviceDataset::create(be, x, n, input_size, labels, max_classes, nullptr, 0);
  d->task = DeviceBuffer(be, (size_t)n * sizeof(int32_t));
  be->upload(d->task.data(), task, (size_t)n * sizeof(int32_t));
  be->synchronize();
  return d;
}

}  // namespace bl
