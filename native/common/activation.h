// The activations, each written once for the CPU loops and the CUDA kernels (host/device, like
// rational_tanh.h). Adding one is two edits here (a BL_ACTIVATIONS line and an ActFn
// specialisation) plus its float64 twin in src/model/activation.ts; the enum, the parser
// (types.cpp), the names the addon exports and every launch switch (dispatch_act) follow.
//
// ActFn<A>::forward(z) is a = act(z). ActFn<A>::grad(a) is act'(z) written through the OUTPUT
// a = act(z) (the backward passes keep only a): relu a > 0, tanh 1 - a^2, sigmoid a (1 - a), ...
// At a kink the derivative is that of the side the output cannot tell apart (relu'(0) = 0).
#pragma once
#include <cmath>
#include <cstdint>

#include "host_device.h"
#include "rational_tanh.h"

namespace bl {

// X(Name, "name"): enum order is the number the addon exports (identity 0 ... as in 0.1.x).
#define BL_ACTIVATIONS(X)          \
  X(Identity, "identity")          \
  X(Relu, "relu")                  \
  X(Tanh, "tanh")                  \
  X(Sigmoid, "sigmoid")            \
  X(TanhRational, "tanh-rational") \
  X(HardSigmoid, "hard-sigmoid")   \
  X(Softplus, "softplus")          \
  X(LeakyRelu, "leaky-relu")

enum class Act : int32_t {
#define BL_ACT_ENUM(name, str) name,
  BL_ACTIVATIONS(BL_ACT_ENUM)
#undef BL_ACT_ENUM
};

#define BL_ACT_COUNT(name, str) +1
constexpr int kActCount = 0 BL_ACTIVATIONS(BL_ACT_COUNT);
#undef BL_ACT_COUNT

// The activation's name as the API spells it ("tanh-rational").
inline const char* act_name(Act a) {
  switch (a) {
#define BL_ACT_NAME(name, str) \
  case Act::name:              \
    return str;
    BL_ACTIVATIONS(BL_ACT_NAME)
#undef BL_ACT_NAME
  }
  return "?";
}

template <Act A>
struct ActFn;  // one specialisation per activation; a missing one fails to compile in dispatch_act

template <>
struct ActFn<Act::Identity> {
  static BL_HD float forward(float z) { return z; }
  static BL_HD float grad(float) { return 1.0f; }
};

template <>
struct ActFn<Act::Relu> {
  static BL_HD float forward(float z) { return z > 0.0f ? z : 0.0f; }
  static BL_HD float grad(float a) { return a > 0.0f ? 1.0f : 0.0f; }
};

// std::tanh / tanhf (the MLP's and multi-task model's 'tanh' since 0.1).
template <>
struct ActFn<Act::Tanh> {
  static BL_HD float forward(float z) { return ::tanhf(z); }
  static BL_HD float grad(float a) { return 1.0f - a * a; }
};

template <>
struct ActFn<Act::Sigmoid> {
  static BL_HD float forward(float z) { return 1.0f / (1.0f + ::expf(-z)); }
  static BL_HD float grad(float a) { return a * (1.0f - a); }
};

// tanh as the rational function of rational_tanh.h (the RNN's default, its 'tanh' before 0.2).
template <>
struct ActFn<Act::TanhRational> {
  static BL_HD float forward(float z) { return rational_tanh(z); }
  static BL_HD float grad(float a) { return 1.0f - a * a; }
};

// clip(z, 0, 1); derivative 1 strictly inside (0, 1), 0 where clipped (and at the kinks).
template <>
struct ActFn<Act::HardSigmoid> {
  static BL_HD float forward(float z) { return z > 0.0f ? (z < 1.0f ? z : 1.0f) : 0.0f; }
  static BL_HD float grad(float a) { return a > 0.0f && a < 1.0f ? 1.0f : 0.0f; }
};

// log(1 + e^z) as max(z, 0) + log1p(e^-|z|) (no overflow); softplus' = sigmoid(z) = 1 - e^-a.
template <>
struct ActFn<Act::Softplus> {
  static BL_HD float forward(float z) { return (z > 0.0f ? z : 0.0f) + ::log1pf(::expf(-::fabsf(z))); }
  static BL_HD float grad(float a) { return -::expm1f(-a); }
};

// z > 0 ? z : 0.01 z (PyTorch's default negative slope, fixed); a has z's sign.
constexpr float kLeakyReluSlope = 0.01f;
template <>
struct ActFn<Act::LeakyRelu> {
  static BL_HD float forward(float z) { return z > 0.0f ? z : kLeakyReluSlope * z; }
  static BL_HD float grad(float a) { return a > 0.0f ? 1.0f : kLeakyReluSlope; }
};

template <Act A>
struct ActTag {
  static constexpr Act value = A;
};

// Calls f(ActTag<a>{}) with the activation as a compile-time constant, so each launcher or loop
// is instantiated once per activation:
//   dispatch_act(act, [&](auto tag) { kernel<decltype(tag)::value><<<...>>>(...); });
// The switch has no default: it is generated from BL_ACTIVATIONS and -Wswitch checks it.
template <class F>
inline void dispatch_act(Act a, F&& f) {
  switch (a) {
#define BL_ACT_CASE(name, str) \
  case Act::name:              \
    f(ActTag<Act::name>{});    \
    return;
    BL_ACTIVATIONS(BL_ACT_CASE)
#undef BL_ACT_CASE
  }
}

}  // namespace bl
