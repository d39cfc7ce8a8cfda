// libFuzzer entry point of one fuzz target, chosen at compile time (TLM_FUZZ_TARGET=config):
// the TLM_FUZZ build (make fuzz) links one binary fuzz_<target> per target in targets.h.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tests/fuzz/targets.h"

#ifndef TLM_FUZZ_TARGET
#error "define TLM_FUZZ_TARGET to one of the functions in tests/fuzz/targets.h"
#endif

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tlm::fuzz::TLM_FUZZ_TARGET(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
