#include "types.h"

#include <cmath>

#include "error.h"

namespace bl {

Act parse_act(const std::string& s) {
  if (s == "linear") return Act::Identity;
  std::string names;
#define BL_ACT_PARSE(name, str)   \
  if (s == str) return Act::name; \
  names += std::string(names.empty() ? "" : ", ") + "'" + str + "'";
  BL_ACTIVATIONS(BL_ACT_PARSE)
#undef BL_ACT_PARSE
  fail("E_INVALID_ARG", "expected one of " + names + " for activation, got '" + s + "'");
}

Loss parse_loss(const std::string& s) {
  if (s == "softmax-cross-entropy") return Loss::SoftmaxCrossEntropy;
  if (s == "mse") return Loss::MeanSquaredError;
  fail("E_INVALID_ARG", "expected 'softmax-cross-entropy' or 'mse' for loss, got '" + s + "'");
}

Dist parse_dist(const std::string& s) {
  if (s == "uniform") return Dist::Uniform;
  if (s == "normal") return Dist::Normal;
  if (s == "zeros") return Dist::Zeros;
  fail("E_INVALID_ARG", "expected 'uniform', 'normal' or 'zeros' for distribution, got '" + s + "'");
}

OptimizerKind parse_optimizer(const std::string& s) {
  if (s == "sgd") return OptimizerKind::Sgd;
  if (s == "adam") return OptimizerKind::Adam;
  if (s == "adamw") return OptimizerKind::AdamW;
  fail("E_INVALID_ARG", "expected 'sgd', 'adam' or 'adamw' for optimizer, got '" + s + "'");
}

float InitSpec::effective(int fan_in) const {
  return relative_to_fan_in ? static_cast<float>(static_cast<double>(scale) / std::sqrt(static_cast<double>(fan_in)))
                            : scale;
}

}  // namespace bl
