// EXPECT_TLM_ERROR-style helper for tests/optim: the call must throw tlm::Error, and the
// message must contain every one of `parts` (the key, the allowed range, the offending name).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "tensor/error.h"

namespace tlm::optim::test_util {

inline void expect_error(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no tlm::Error thrown";
  } catch (const Error& e) {
    for (const auto& p : parts)
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos)
          << "'" << p << "' not in: " << e.what();
  }
}

}  // namespace tlm::optim::test_util
