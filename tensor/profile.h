// Kernel profiling by kind: where the time of a training step goes (`tlm train --profile`).
//
//   ProfileSession session;             // profiling on for this thread while it lives
//   run_steps();
//   for (auto& [kind, s] : session.breakdown()) ...   // seconds per kind of kernel
//
// Every kernel entry point opens a TLM_PROFILE(Kind) scope. With no session active a scope
// costs one thread-local load. Times are exclusive: a kernel that calls another (a batched
// matmul calling a copy) is charged only for its own part, so the kinds add up to the time
// spent in kernels; the rest of a step (autograd bookkeeping, data) is reported as "other".
#pragma once

#include <array>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace tlm {

enum class OpKind {
  Matmul, Attention, Norm, Elementwise, Reduce, Softmax, Loss, Index, Copy, Optimizer, Count
};
const char* op_kind_name(OpKind kind);

class ProfileSession {
 public:
  ProfileSession();
  ~ProfileSession();
  ProfileSession(const ProfileSession&) = delete;
  ProfileSession& operator=(const ProfileSession&) = delete;

  // (kind name, seconds), in the order of OpKind.
  std::vector<std::pair<std::string, double>> breakdown() const;
  double kernel_seconds() const;
  void add(OpKind kind, double seconds) { seconds_[static_cast<int>(kind)] += seconds; }

 private:
  std::array<double, static_cast<int>(OpKind::Count)> seconds_{};
  ProfileSession* previous_;
};

class ProfileScope {
 public:
  explicit ProfileScope(OpKind kind);
  ~ProfileScope();
  ProfileScope(const ProfileScope&) = delete;
  ProfileScope& operator=(const ProfileScope&) = delete;

 private:
  OpKind kind_;
  bool active_;
  double child_seconds_ = 0;
  ProfileScope* parent_ = nullptr;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace tlm

#define TLM_PROFILE(kind) ::tlm::ProfileScope tlm_profile_scope_(::tlm::OpKind::kind)
