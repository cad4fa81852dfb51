#pragma once
// Test helper: a control-protocol task in one line.

#include <cstdint>
#include <string>

#include "control/protocol.hpp"

namespace tandem::testutil {

inline control::TaskSpec make_task(std::uint64_t id, const std::string& model, std::uint64_t seed = 0,
                                   const std::string& plan = "auto", bool return_outputs = false) {
  control::TaskSpec t;
  t.task = id;
  t.model = model;
  t.seed = seed;
  t.plan = control::parse_plan_choice(plan);
  t.return_outputs = return_outputs;
  return t;
}

}  // namespace tandem::testutil
