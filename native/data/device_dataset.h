// A dataset resident on a backend: uploaded once, then batches are gathered on the device by
// index, so an epoch never copies samples back and forth.
//   x: [N, D] float32; classification: labels [N] int32 in [0, classes);
//   regression: values [N, W] float32.
#pragma once
#include <memory>

#include "../backend/backend.h"

namespace bl {

struct DeviceDataset {
  std::shared_ptr<Backend> backend;
  int n = 0;
  int input_size = 0;
  bool classification = true;
  int output_size = 0;  // classes, or target width
  uint64_t id = 0;      // unique per process: caches derived from the data key on it
  DeviceBuffer x, labels, values;

  // Copies host arrays to the backend. Validates shapes, ranges and finiteness (E_* errors).
  static std::shared_ptr<DeviceDataset> create(std::shared_ptr<Backend> be, const float* x, int n, int input_size,
                                               const int32_t* labels, int classes, const float* values, int width);
};

}  // namespace bl
