// Ctrl-C handling for training: the first SIGINT/SIGTERM only raises a flag, so the loop
// can finish its step, write a checkpoint and exit cleanly; a second one kills as usual.
//
//   InterruptGuard guard;            // installs the handler, restores the old one on exit
//   while (!guard.requested()) step();
#pragma once

namespace tlm::train {

class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
  bool requested() const;
  int signal_number() const;  // which signal asked us to stop (0 if none)
};

}  // namespace tlm::train
