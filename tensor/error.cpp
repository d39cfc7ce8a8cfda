#include "tensor/error.h"

#include <cstring>

namespace tlm::detail {

void throw_error(const char* file, int line, const std::string& message) {
  // Keep only the path below the source root: "tensor/shape.cpp", not "/home/.../tensor/shape.cpp".
  std::string path(file);
  for (const char* layer : {"tensor/", "autograd/", "nn/", "optim/", "train/", "tests/", "bench/", "examples/"}) {
    auto pos = path.rfind(layer);
    if (pos != std::string::npos) {
      path = path.substr(pos);
      break;
    }
  }
  throw Error(fmt::format("{} ({}:{})", message, path, line));
}

}  // namespace tlm::detail
