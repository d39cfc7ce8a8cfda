// Shapes and strides (in elements, row-major), NumPy broadcasting, axis normalisation.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tlm {

using Shape = std::vector<int64_t>;
using Strides = std::vector<int64_t>;

int64_t shape_numel(const Shape& shape);
Strides contiguous_strides(const Shape& shape);
// "[4,3]" — the form every shape error uses.
std::string shape_str(const Shape& shape);
// The broadcast of two shapes by NumPy's rules; `op` names the caller in the error.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// Maps a possibly negative axis into [0, ndim); throws naming `op` when out of range.
int64_t normalize_axis(int64_t axis, int64_t ndim, const char* op);

}  // namespace tlm
