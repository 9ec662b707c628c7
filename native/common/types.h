// Plain enums and specs shared by every backend and model. No Node-API, no CUDA.
#pragma once
#include <cstdint>
#include <string>

#include "activation.h"

namespace bl {

enum class Loss : int32_t { SoftmaxCrossEntropy = 0, MeanSquaredError = 1 };
enum class Dist : int32_t { Uniform = 0, Normal = 1, Zeros = 2 };
enum class OptimizerKind : int32_t { Sgd = 0, Adam = 1, AdamW = 2 };

// An activation by its name in BL_ACTIVATIONS ("linear" is accepted for "identity").
Act parse_act(const std::string& s);
Loss parse_loss(const std::string& s);
Dist parse_dist(const std::string& s);
OptimizerKind parse_optimizer(const std::string& s);

// A frozen (or initial) tensor's distribution. For fan-in-relative scale the effective
// parameter is scale / sqrt(fan_in): uniform[-a, a] with a = scale/sqrt(fan_in), or
// normal(0, sigma) with sigma = scale/sqrt(fan_in).
struct InitSpec {
  Dist dist = Dist::Uniform;
  float scale = 1.0f;
  bool relative_to_fan_in = true;
  float effective(int fan_in) const;
};

struct OptimizerSpec {
  OptimizerKind kind = OptimizerKind::Adam;
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;  // Adam, AdamW
  float momentum = 0.0f;                            // SGD
  bool nesterov = false;                            // SGD
  float weight_decay = 0.0f;                        // L2 added to the gradient; AdamW: decoupled
};

}  // namespace bl
