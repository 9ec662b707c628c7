// NativeDataset: a dataset uploaded once to a backend (data/device_dataset.h), shared by every
// model kind's binding through unwrap_dataset().
#pragma once
#include <napi.h>

#include <memory>

#include "../data/device_dataset.h"

namespace bl {

// The DeviceDataset behind a NativeDataset object; throws E_INVALID_ARG / E_DISPOSED.
std::shared_ptr<DeviceDataset> unwrap_dataset(Napi::Env env, Napi::Value v);

}  // namespace bl
