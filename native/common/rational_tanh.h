// tanh as a rational function: the [13/6] minimax fit (as used by Eigen for float), clamped to
// +-7.9053, within a few ulp of tanh. One definition for the CPU loops (where it vectorises) and
// the CUDA kernels of the RNN step, so both backends evaluate the same formula.
#pragma once

#if defined(__CUDACC__)
#define BL_TANH_HD __host__ __device__ __forceinline__
#else
#define BL_TANH_HD inline
#endif

namespace bl {

BL_TANH_HD float rational_tanh(float x) {
  const float c = 7.90531110763549805f;
  x = x > c ? c : (x < -c ? -c : x);
  const float x2 = x * x;
  float p = -2.76076847742355e-16f;
  p = p * x2 + 2.00018790482477e-13f;
  p = p * x2 + -8.60467152213735e-11f;
  p = p * x2 + 5.12229709037114e-08f;
  p = p * x2 + 1.48572235717979e-05f;
  p = p * x2 + 6.37261928875436e-04f;
  p = p * x2 + 4.89352455891786e-03f;
  float q = 1.19825839466702e-06f;
  q = q * x2 + 1.18534705686654e-04f;
  q = q * x2 + 2.26843463243900e-03f;
  q = q * x2 + 4.89352518554385e-03f;
  return x * p / q;
}

}  // namespace bl
