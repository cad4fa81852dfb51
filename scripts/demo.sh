#!/usr/bin/env bash
# The main job: install, build, then show tandem at work.
# Today: list the zoo and split a DAG model (resnet18) at its articulation
# cuts and at a multi-tensor cut, showing edge side + cloud side == whole.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" >/dev/null
bin="${TANDEM_BUILD_DIR:-$root/build}/bin"

echo "== the model zoo"
"$bin/tandem" models
echo
echo "== resnet18 split at every articulation cut (one crossing tensor each)"
"$bin/tandem" run --model resnet18 --threads 2
echo
echo "== googlenet split inside an inception block (several crossing tensors)"
"$bin/tandem" run --model googlenet --threads 2 --cut cloud_only --cut 0-20 --cut 0-35 --cut edge_only
