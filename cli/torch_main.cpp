// tandem-torch: the `tandem` commands that need LibTorch (run, profile, import) and
// every other command for models only LibTorch can load. `tandem` runs it.

#include "cli/commands.hpp"

int main(int argc, char** argv) {
  using namespace tandem::cli;
  static constexpr LocalCommand k_local[] = {
      {"models", cmd_models}, {"plan", cmd_plan},       {"submit", cmd_submit},
      {"run", cmd_run},       {"profile", cmd_profile}, {"import", cmd_import},
      {"simulate", cmd_simulate},
  };
  return dispatch(argc, argv, k_local, Context{.graph = resolve_graph_with_torch}, true);
}
