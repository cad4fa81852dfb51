#pragma once
// Queue files: one control-protocol task per line (JSON), blank lines and
// lines starting with '#' skipped — what `tandem submit --queue` reads.

#include <filesystem>
#include <vector>

#include "control/protocol.hpp"

namespace tandem::control {

/// Reads a queue file; task ids are renumbered 0..n-1 in file order. Throws
/// std::invalid_argument naming FILE:LINE and the problem, or when the file
/// cannot be opened or holds no task.
std::vector<TaskSpec> read_queue_file(const std::filesystem::path& path);

}  // namespace tandem::control
