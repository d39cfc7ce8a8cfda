// Fault-injection hooks for tests (tests/train/test_faults.cpp). The library consults them at
// the points where real faults happen; nothing but a live guard object turns one on.
//
//   {
//     detail::InjectNanLoss nan({3, 4});      // the loss of steps 3 and 4 becomes NaN
//     trainer.run(stderr);                   // nan_policy decides: stop at step 3, or skip both
//   }
//   detail::SimulateDiskFull full(0);         // (train/io/file_io.h) every checkpoint write fails
#pragma once

#include <cstdint>
#include <vector>

namespace tlm::train::detail {

// While alive, the training loss of each listed step (0-based, as Trainer::step() counts) is
// multiplied by NaN before backward, so the loss and every gradient are NaN, as after a
// numerical blow-up.
class InjectNanLoss {
 public:
  explicit InjectNanLoss(std::vector<int64_t> steps);
  ~InjectNanLoss();
  InjectNanLoss(const InjectNanLoss&) = delete;
  InjectNanLoss& operator=(const InjectNanLoss&) = delete;
};

// True when an InjectNanLoss guard lists `step`.
bool nan_loss_injected(int64_t step);

}  // namespace tlm::train::detail
