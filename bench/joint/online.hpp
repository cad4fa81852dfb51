#pragma once
// The benchmark's daemon half: test images sent one at a time, inline,
// through edge_daemon and cloud_daemon on an emulated link (bench/evaluate's
// Runner owns the daemons).

#include <functional>
#include <string>
#include <vector>

#include "app/dataset.hpp"
#include "bench/evaluate/runner.hpp"
#include "bench/joint/joint_bench.hpp"

namespace tandem::bench {

/// Sends the first `count` images as tasks made by `base` (model, plan,
/// codec, joint fields) one at a time and sums up the results. `progress`
/// gets a line every 1000 tasks.
OnlineRun run_images(Runner& runner, const std::string& name, const std::string& link, const control::TaskSpec& base,
                     const app::LabelledImages& data, std::size_t count,
                     const std::function<void(const std::string&)>& progress);

}  // namespace tandem::bench
