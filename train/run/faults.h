// Fault-injection hooks for tests (tests/train/test_faults.cpp): an object the test builds and
// hands to the code under test, which consults it where real faults happen. Nothing global:
// code given no Faults (the CLI, every other caller) never injects anything.
//
//   Faults faults;
//   faults.nan_loss_steps = {3, 4};         // the loss of steps 3 and 4 becomes NaN
//   faults.disk_full = DiskFull{0};         // (train/sys/file_io.h) every checkpoint write fails
//   trainer.set_faults(&faults);            // (train/run/trainer.h)
//   trainer.run(stderr);                    // nan_policy decides: stop at step 3, or skip both
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "train/sys/file_io.h"

namespace tlm::train {

struct Faults {
  // The training loss of each listed step (0-based, as Trainer::step() counts) is multiplied by
  // NaN before backward, so the loss and every gradient are NaN, as after a numerical blow-up.
  std::vector<int64_t> nan_loss_steps;
  // Checkpoint writes fail with ENOSPC once a file would grow past disk_full->bytes.
  std::optional<DiskFull> disk_full;

  bool nan_loss_at(int64_t step) const;
  const DiskFull* disk() const { return disk_full ? &*disk_full : nullptr; }
};

}  // namespace tlm::train
