// The `tlm` executable (train/cli/cli.h).
#include "train/cli/cli.h"

int main(int argc, char** argv) { return tlm::cli::run(argc, argv); }
