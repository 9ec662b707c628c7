// Names of the frozen-weight precisions (common/bf16.h).
#include "bf16.h"
#include "error.h"

namespace bl {

Precision parse_precision(const std::string& s) {
  if (s == "fp32") return Precision::Fp32;
  if (s == "bf16") return Precision::Bf16;
  if (s == "tf32") return Precision::Tf32;
  fail("E_INVALID_ARG", "expected 'fp32', 'bf16' or 'tf32' for the weight precision, got '" + s + "'");
}

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::Fp32:
      return "fp32";
    case Precision::Bf16:
      return "bf16";
    case Precision::Tf32:
      return "tf32";
  }
  return "?";
}

}  // namespace bl
