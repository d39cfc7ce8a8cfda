// tlm::Error and TLM_CHECK: the one exception type of tlm.
//
//   TLM_CHECK(a.dim() == 2, "matmul: {} x {}: expected 2-D inputs", shape_str(a), shape_str(b));
//
// Messages name the op (or config key), what was expected and what was found.
// The file and line of the check are appended, so a report points at the code.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace tlm {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
[[noreturn]] void throw_error(const char* file, int line, const std::string& message);
}  // namespace detail

}  // namespace tlm

#define TLM_CHECK(cond, ...)                                                     \
  do {                                                                           \
    if (!(cond)) ::tlm::detail::throw_error(__FILE__, __LINE__, ::fmt::format(__VA_ARGS__)); \
  } while (0)

#define TLM_FAIL(...) ::tlm::detail::throw_error(__FILE__, __LINE__, ::fmt::format(__VA_ARGS__))
