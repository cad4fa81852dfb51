#pragma once
// Summary statistics of measured samples, shared by tandem submit and the
// benchmarks' reports. Torch-free.

#include <vector>

namespace tandem::app {

/// The p-th percentile (0..100) of `values`, linearly interpolated between
/// the two nearest ranks; 0 for an empty list.
double percentile(std::vector<double> values, double p);

}  // namespace tandem::app
