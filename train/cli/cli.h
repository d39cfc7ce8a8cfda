// The `tlm` command line as a function: tlm.cpp's main() is `return tlm::cli::run(argc, argv)`.
// A program that registers its own choices (a block type, ...) before calling it gets the same
// commands with those choices added (examples/new_block_parallel.cpp trains its block so).
//
//   const char* args[] = {"tlm", "train", "--set", "block=parallel"};
//   int rc = tlm::cli::run(4, const_cast<char**>(args));
//
// On a machine where OpenBLAS picked a generic kernel, run() re-executes argv[0] with the same
// arguments (train/sys/blas_select.h): a program calling it must then behave as `tlm` for them.
#pragma once

namespace tlm::cli {

// Parses argv as `tlm` does and runs the command; returns its exit status.
int run(int argc, char** argv);

}  // namespace tlm::cli
