// Errors raised by native code. Native code never calls exit/abort on user input: it throws
// BlError, whose `code` matches the TypeScript ErrorCode union (src/errors.ts); the addon layer
// turns it into a JS Error with a `code` property.
#pragma once
#include <stdexcept>
#include <string>

namespace bl {

class BlError : public std::runtime_error {
 public:
  BlError(std::string code, const std::string& message) : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

[[noreturn]] inline void fail(const char* code, const std::string& message) { throw BlError(code, message); }

inline void require(bool ok, const char* code, const std::string& message) {
  if (!ok) fail(code, message);
}

}  // namespace bl
