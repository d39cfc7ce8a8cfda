#include "train/run/faults.h"

#include <algorithm>

namespace tlm::train {

bool Faults::nan_loss_at(int64_t step) const {
  return std::find(nan_loss_steps.begin(), nan_loss_steps.end(), step) != nan_loss_steps.end();
}

}  // namespace tlm::train
