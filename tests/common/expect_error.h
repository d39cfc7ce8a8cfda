// EXPECT_TLM_ERROR(stmt, "part", ...): `stmt` must throw tlm::Error whose message contains
// every listed part (bad input must give a clear error: the tests check its words, e.g. the
// key, the allowed values, the offending shape). The one error expectation of every test binary.
//
//   EXPECT_TLM_ERROR(cfg.apply_overrides({"n_head=0"}), "n_head", ">= 1");
//   EXPECT_TLM_ERROR(make_optimizer("adam", groups(), {}), "'adam'", "sgd, adamw, lion");
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "tensor/error.h"

#define EXPECT_TLM_ERROR(stmt, ...)                                                  \
  do {                                                                               \
    try {                                                                            \
      stmt;                                                                          \
      ADD_FAILURE() << "expected tlm::Error from: " #stmt;                           \
    } catch (const ::tlm::Error& e_) {                                               \
      for (const std::string& s_ : std::initializer_list<std::string>{__VA_ARGS__}) \
        EXPECT_NE(std::string(e_.what()).find(s_), std::string::npos)                \
            << "message lacks \"" << s_ << "\": " << e_.what();                      \
    }                                                                                \
  } while (0)
