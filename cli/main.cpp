// tandem: the command-line front end, torch-free (models, plan, submit, simulate);
// run and profile, and models it cannot load itself, go to tandem-torch.

#include "cli/commands.hpp"

int main(int argc, char** argv) {
  using namespace tandem::cli;
  static constexpr LocalCommand k_local[] = {
      {"models", cmd_models},
      {"plan", cmd_plan},
      {"submit", cmd_submit},
      {"simulate", cmd_simulate},
  };
  return dispatch(argc, argv, k_local, Context{.graph = resolve_graph}, false);
}
