#pragma once
// Helpers shared by the optimisers' sources. Not part of the public API: do
// not include from outside partition/.

#include <algorithm>
#include <cmath>

namespace tandem::partition::detail {

// Relative slack under which two objective values count as equal. Sums of the
// same terms in a different order differ by a few ulps; a candidate must beat
// the incumbent by more than that to replace it, so ties keep the first found.
inline constexpr double k_tie_relative = 1e-12;

/// True when `candidate` beats `incumbent` by more than rounding noise.
inline bool strictly_better(double candidate, double incumbent) {
  return candidate < incumbent - k_tie_relative * std::max(1.0, std::abs(incumbent));
}

}  // namespace tandem::partition::detail
