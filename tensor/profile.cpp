#include "tensor/profile.h"

namespace tlm {
namespace {
thread_local ProfileSession* t_session = nullptr;
thread_local ProfileScope* t_scope = nullptr;
}  // namespace

const char* op_kind_name(OpKind kind) {
  static const char* const kNames[] = {"matmul", "attention", "norm",  "elementwise", "reduce",
                                       "softmax", "loss", "index", "copy", "optimizer"};
  static_assert(sizeof(kNames) / sizeof(kNames[0]) == static_cast<size_t>(OpKind::Count),
                "op_kind_name: the table must list every OpKind");
  return kNames[static_cast<int>(kind)];
}

ProfileSession::ProfileSession() : previous_(t_session) { t_session = this; }
ProfileSession::~ProfileSession() { t_session = previous_; }

std::vector<std::pair<std::string, double>> ProfileSession::breakdown() const {
  std::vector<std::pair<std::string, double>> out;
  for (int i = 0; i < static_cast<int>(OpKind::Count); ++i)
    out.emplace_back(op_kind_name(static_cast<OpKind>(i)), seconds_[i]);
  return out;
}

double ProfileSession::kernel_seconds() const {
  double s = 0;
  for (double v : seconds_) s += v;
  return s;
}

ProfileScope::ProfileScope(OpKind kind) : kind_(kind), active_(t_session != nullptr) {
  if (!active_) return;
  parent_ = t_scope;
  t_scope = this;
  start_ = std::chrono::steady_clock::now();
}

ProfileScope::~ProfileScope() {
  if (!active_) return;
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  t_scope = parent_;
  if (parent_) parent_->child_seconds_ += elapsed;
  if (t_session) t_session->add(kind_, elapsed - child_seconds_);
}

}  // namespace tlm
