// NCCL collectives of the CUDA module (built when NCCL is found, BL_WITH_NCCL; cuda.cmake). The
// communicator is bootstrapped over MPI as NCCL's own examples do: rank 0 calls ncclUniqueId(),
// the TypeScript side broadcasts it with the MPI module (MPI_Bcast), and every rank calls
// ncclInit(id, rank, size) (ncclCommInitRank). The module then exports the collective ABI of
// native/distributed/collective.h with device_memory = 1, so ParamSet and the width-parallel MLP
// sum device buffers in place (ncclAllReduce, ncclSum) without a host round trip. Each rank uses
// the backend's device 0: give each rank its own GPU with CUDA_VISIBLE_DEVICES (NCCL refuses two
// ranks of one communicator on the same GPU).
#include <cuda_runtime.h>
#include <nccl.h>
#include <napi.h>

#include <cstdio>
#include <mutex>
#include <string>

#include "../../addon/binding_util.h"
#include "../../addon/exports_registry.h"
#include "../../distributed/collective.h"

namespace {

std::mutex nccl_mutex;
ncclComm_t comm = nullptr;
cudaStream_t stream = nullptr;

template <typename T>
int allreduce(T* data, size_t n, ncclDataType_t type, char* err, size_t err_len) {
  std::lock_guard<std::mutex> lock(nccl_mutex);
  if (!comm) {
    std::snprintf(err, err_len, "NCCL is not initialised (ncclInit)");
    return 1;
  }
  ncclResult_t r = ncclAllReduce(data, data, n, type, ncclSum, comm, stream);
  if (r != ncclSuccess) {
    std::snprintf(err, err_len, "ncclAllReduce failed: %s", ncclGetErrorString(r));
    return static_cast<int>(r);
  }
  cudaError_t e = cudaStreamSynchronize(stream);
  if (e != cudaSuccess) {
    std::snprintf(err, err_len, "ncclAllReduce: %s", cudaGetErrorString(e));
    return static_cast<int>(e);
  }
  return 0;
}

int allreduce_f32(float* data, size_t n, char* err, size_t err_len) {
  return allreduce(data, n, ncclFloat32, err, err_len);
}
int allreduce_f64(double* data, size_t n, char* err, size_t err_len) {
  return allreduce(data, n, ncclFloat64, err, err_len);
}

BlCollective table{BL_COLLECTIVE_MAGIC, BL_COLLECTIVE_VERSION, 0, 1, nullptr, nullptr, 1};

const char hex_digits[] = "0123456789abcdef";

// ncclUniqueId(): a fresh id as hex (rank 0; the others receive it over MPI).
Napi::Value UniqueId(const Napi::CallbackInfo& info) {
  ncclUniqueId id;
  ncclResult_t r = ncclGetUniqueId(&id);
  if (r != ncclSuccess)
    bl::throw_js(info.Env(), "E_DISTRIBUTED", std::string("ncclGetUniqueId: ") + ncclGetErrorString(r));
  std::string hex;
  for (unsigned char c : id.internal) {
    hex.push_back(hex_digits[c >> 4]);
    hex.push_back(hex_digits[c & 15]);
  }
  return Napi::String::New(info.Env(), hex);
}

// ncclInit(idHex, rank, size): ncclCommInitRank on device 0 (collective over the ranks).
Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string hex = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  if (hex.size() != 2 * NCCL_UNIQUE_ID_BYTES) bl::throw_js(env, "E_INVALID_ARG", "expected an NCCL unique id in hex");
  const int rank = info[1].As<Napi::Number>().Int32Value(), size = info[2].As<Napi::Number>().Int32Value();
  if (size < 1 || rank < 0 || rank >= size) bl::throw_js(env, "E_INVALID_ARG", "expected 0 <= rank < size");
  ncclUniqueId id;
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  for (int i = 0; i < NCCL_UNIQUE_ID_BYTES; ++i)
    id.internal[i] = static_cast<char>(nibble(hex[2 * i]) * 16 + nibble(hex[2 * i + 1]));
  std::lock_guard<std::mutex> lock(nccl_mutex);
  if (comm) bl::throw_js(env, "E_DISTRIBUTED", "NCCL is already initialised in this process");
  cudaError_t e = cudaSetDevice(0);
  if (e == cudaSuccess && !stream) e = cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
  if (e != cudaSuccess) bl::throw_js(env, "E_BACKEND_UNAVAILABLE", std::string("NCCL: ") + cudaGetErrorString(e));
  ncclResult_t r = ncclCommInitRank(&comm, size, id, rank);
  if (r != ncclSuccess) {
    comm = nullptr;
    bl::throw_js(env, "E_DISTRIBUTED", std::string("ncclCommInitRank: ") + ncclGetErrorString(r));
  }
  table.rank = rank;
  table.size = size;
  table.allreduce_f32 = allreduce_f32;
  table.allreduce_f64 = allreduce_f64;
  return env.Undefined();
}

// ncclVersion(): "2.30.7".
Napi::Value Version(const Napi::CallbackInfo& info) {
  int v = 0;
  ncclGetVersion(&v);
  const int major = v / 10000, minor = (v / 100) % 100, patch = v % 100;
  return Napi::String::New(info.Env(),
                           std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch));
}

void InitNccl(Napi::Env env, Napi::Object exports) {
  exports.Set("ncclUniqueId", Napi::Function::New(env, UniqueId));
  exports.Set("ncclInit", Napi::Function::New(env, Init));
  exports.Set("ncclVersion", Napi::Function::New(env, Version));
}

}  // namespace

extern "C" __attribute__((visibility("default"))) const BlCollective* bl_collective_v1(void) { return &table; }

BL_REGISTER_EXPORTS(InitNccl);
