// EXPECT_ERROR_CONTAINS(stmt, needle): `stmt` must throw tlm::Error whose message contains
// `needle` (bad input must give a clear error; the tests check the words of it).
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "tensor/error.h"

#define EXPECT_ERROR_CONTAINS(stmt, needle)                                          \
  do {                                                                               \
    try {                                                                            \
      stmt;                                                                          \
      ADD_FAILURE() << "expected tlm::Error containing '" << (needle) << "'";        \
    } catch (const ::tlm::Error& e) {                                                \
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();  \
    }                                                                                \
  } while (0)
