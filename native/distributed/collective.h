// The C ABI between the MPI module (build/Release/biaslearn_mpi.node, native/mpi/) and the model
// modules (biaslearn.node, biaslearn_cuda.node), which never link MPI. The CUDA module built with
// NCCL exports the same entry for its NCCL communicator (native/backend/cuda/nccl_collective.cpp). The MPI module
// exports `bl_collective_v1()`; a model module finds it with dlopen(RTLD_NOLOAD) + dlsym on the path the TypeScript
// loader hands over (attachCollective), so one MPI communicator serves every model in the process. Every call is
// collective: all ranks call it in the same order with the same n. Calls are serialized inside the MPI module (one
// mutex), so any thread may call (the libuv workers that run training do); MPI is initialised with
// MPI_THREAD_SERIALIZED or better.
#pragma once
#include <stddef.h>
#include <stdint.h>

extern "C" {

#define BL_COLLECTIVE_MAGIC 0x424c434fu  // "BLCO"
#define BL_COLLECTIVE_VERSION 1u

struct BlCollective {
  uint32_t magic;    // BL_COLLECTIVE_MAGIC
  uint32_t version;  // BL_COLLECTIVE_VERSION
  int rank, size;    // of MPI_COMM_WORLD (valid once the MPI module's init() ran)
  // data[0..n) summed in place over every rank (MPI_Allreduce, MPI_SUM; the same bits on every
  // rank). Returns 0, or an MPI error code with a message in err[0..err_len).
  int (*allreduce_f32)(float* data, size_t n, char* err, size_t err_len);
  int (*allreduce_f64)(double* data, size_t n, char* err, size_t err_len);
  // 0: data are host memory (MPI). 1: data are device memory of the CUDA backend (NCCL, from the
  // CUDA module); the caller has synchronized the backend, the call returns after the sum landed.
  uint32_t device_memory;
};

typedef const BlCollective* (*BlCollectiveEntry)(void);
}
