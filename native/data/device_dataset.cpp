#include "device_dataset.h"

#include <atomic>
#include <cmath>
#include <string>

#include "../common/error.h"

namespace bl {

std::shared_ptr<DeviceDataset> DeviceDataset::create(std::shared_ptr<Backend> be, const float* x, int n, int input_size,
                                                     const int32_t* labels, int classes, const float* values,
                                                     int width) {
  require(n > 0, "E_EMPTY", "expected at least one sample for dataset, got 0");
  require(input_size > 0, "E_INVALID_ARG", "expected input size >= 1, got " + std::to_string(input_size));
  const size_t nx = (size_t)n * input_size;
  for (size_t i = 0; i < nx; ++i)
    if (!std::isfinite(x[i]))
      fail("E_NONFINITE", "expected finite values in x, got " + std::to_string(x[i]) + " at row " +
                              std::to_string(i / input_size) + ", column " + std::to_string(i % input_size));
  static std::atomic<uint64_t> next_id{1};
  auto ds = std::make_shared<DeviceDataset>();
  ds->id = next_id.fetch_add(1);
  ds->backend = be;
  ds->n = n;
  ds->input_size = input_size;
  ds->x = DeviceBuffer(be, nx * sizeof(float));
  be->upload(ds->x.data(), x, nx * sizeof(float));
  if (labels) {
    require(classes > 0, "E_INVALID_ARG", "expected classes >= 1, got " + std::to_string(classes));
    for (int i = 0; i < n; ++i)
      if (labels[i] < 0 || labels[i] >= classes)
        fail("E_LABEL_RANGE", "expected labels in [0, " + std::to_string(classes) + "), got " +
                                  std::to_string(labels[i]) + " at sample " + std::to_string(i));
    ds->classification = true;
    ds->output_size = classes;
    ds->labels = DeviceBuffer(be, (size_t)n * sizeof(int32_t));
    be->upload(ds->labels.data(), labels, (size_t)n * sizeof(int32_t));
  } else {
    require(values != nullptr && width > 0, "E_INVALID_ARG", "expected labels or target values for dataset");
    const size_t nv = (size_t)n * width;
    for (size_t i = 0; i < nv; ++i)
      if (!std::isfinite(values[i]))
        fail("E_NONFINITE", "expected finite target values, got " + std::to_string(values[i]) + " at row " +
                                std::to_string(i / width));
    ds->classification = false;
    ds->output_size = width;
    ds->values = DeviceBuffer(be, nv * sizeof(float));
    be->upload(ds->values.data(), values, nv * sizeof(float));
  }
  be->synchronize();
  return ds;
}

}  // namespace bl
