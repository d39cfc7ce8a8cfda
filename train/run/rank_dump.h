// A rank's training state as JSON, for checking a data-parallel run (`tlm train --rank_dump DIR`
// writes DIR/rank<r>.json on every rank at the end; tests/mpi/test_mpi.py compares them).
//
//   {"rank": 1, "ranks": 2, "step": 6,
//    "weights_crc32": ..., "grads_crc32": ...,      // CRC-32 of the fp32 bytes, in parameter order
//    "params": {"wte.weight": [...], ...},           // every value, exactly (float -> double)
//    "grads": {"wte.weight": [...], ...}}            // the last step's averaged, clipped gradients
//
// Equal CRCs on every rank mean bit-identical weights and gradients after the all-reduce.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "train/dist/distributed.h"
#include "train/run/trainer.h"

namespace tlm::train {

nlohmann::json rank_state_json(Trainer& trainer, const Distributed& world);
// Writes rank_state_json to dir/rank<r>.json (atomically; creates dir).
void write_rank_state(const std::string& dir, Trainer& trainer, const Distributed& world);

}  // namespace tlm::train
