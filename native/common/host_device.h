// BL_HD marks a function shared by the host and the CUDA kernels (common/activation.h,
// common/philox.h): under nvcc it is __host__ __device__ and forced inline, elsewhere inline.
#pragma once

#if defined(__CUDACC__)
#define BL_HD __host__ __device__ __forceinline__
#else
#define BL_HD inline
#endif
