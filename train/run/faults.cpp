#include "train/run/faults.h"

#include <algorithm>
#include <mutex>

namespace tlm::train::detail {
namespace {
std::mutex g_mutex;
std::vector<int64_t> g_nan_steps;  // guarded by g_mutex; empty: no injection
}  // namespace

InjectNanLoss::InjectNanLoss(std::vector<int64_t> steps) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_nan_steps = std::move(steps);
}

InjectNanLoss::~InjectNanLoss() {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_nan_steps.clear();
}

bool nan_loss_injected(int64_t step) {
  std::lock_guard<std::mutex> lock(g_mutex);
  return std::find(g_nan_steps.begin(), g_nan_steps.end(), step) != g_nan_steps.end();
}

}  // namespace tlm::train::detail
