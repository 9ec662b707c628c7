// A multi-task dataset resident on a backend: the union of every task's samples, uploaded once,
// with one task id per sample. Batches mix tasks freely; the model gathers rows, labels and task
// ids by index on the device.
//   x [N, I] float32, labels [N] int32 in [0, classes[task[n]]), task [N] int32 in [0, K).
// The task ids are also kept on the host, so the model knows each batch's composition (which
// tasks to step) without reading device memory.
#pragma once
#include <memory>
#include <vector>

#include "../backend/backend.h"
#include "../data/device_dataset.h"

namespace bl {

struct MultitaskData {
  std::shared_ptr<DeviceDataset> base;  // x and labels (classes = max over tasks)
  DeviceBuffer task;                    // [N] int32 (device)
  std::vector<int32_t> host_task;       // [N] the same ids on the host
  std::vector<int> classes;             // [K] classes of each task
  std::vector<int> count;               // [K] samples of each task
  uint64_t id = 0;                      // unique per process: caches derived from the data key on it
  int n() const { return base->n; }
  int input_size() const { return base->input_size; }
  int tasks() const { return static_cast<int>(classes.size()); }

  // Validates (task ids in [0, K) -> E_INVALID_ARG, labels in range of their task ->
  // E_LABEL_RANGE, finite x -> E_NONFINITE) and uploads.
  static std::shared_ptr<MultitaskData> create(std::shared_ptr<Backend> be, const float* x, int n, int input_size,
                                               const int32_t* labels, const int32_t* task,
                                               const std::vector<int>& classes);
};

}  // namespace bl
