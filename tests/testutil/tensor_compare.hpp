#pragma once
// Test helper (LibTorch): how far a result's values are from a reference.

#include <algorithm>
#include <vector>

#include <ATen/ATen.h>

namespace tandem::testutil {

/// max |got - want| / max |want|, with `got` the flat values a task result carries.
inline double max_rel_diff(const std::vector<float>& got, const at::Tensor& want) {
  const at::Tensor g = at::tensor(got).reshape_as(want);
  return (g - want).abs().max().item<double>() / std::max(want.abs().max().item<double>(), 1e-12);
}

}  // namespace tandem::testutil
