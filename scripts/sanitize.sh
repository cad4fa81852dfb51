#!/usr/bin/env bash
# Builds tandem with sanitizers (g++ 12) and runs tests under them.
#
#   scripts/sanitize.sh address   ASan + UBSan into build-asan/, then the whole CTest suite
#   scripts/sanitize.sh thread    TSan into build-tsan/, then the tests of tests/net,
#                                 tests/edge_daemon, tests/e2e, tests/app and tests/control
#   scripts/sanitize.sh MODE FOLDER...   only the tests of those tests/ folders (e.g. net
#                                 control units: no LibTorch to build); the daemons are
#                                 built too when e2e is among them
#
# Everything we compile is instrumented (TANDEM_SANITIZE); LibTorch, OpenBLAS,
# OpenMP and the other Debian libraries are not. Suppressions, each explained
# in its file: scripts/sanitizers/lsan.supp, scripts/sanitizers/tsan.supp.
# Any report fails the run: UBSan and TSan stop the process, ASan always does.
# Optimised at -O1 with line tables (-g1): quicker to build than Release, and
# the reports name files and lines.
# Environment: TANDEM_JOBS (build jobs), TANDEM_TEST_JOBS (default 2).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
mode="${1:-}"
shift || true
folders=("$@")
for d in "${folders[@]}"; do
  [ -f "$root/tests/$d/CMakeLists.txt" ] || { echo "sanitize.sh: no test folder tests/$d" >&2; exit 2; }
done
case "$mode" in
  address) build="$root/build-asan" ;;
  thread) build="$root/build-tsan" ;;
  *) echo "usage: scripts/sanitize.sh address|thread" >&2; exit 2 ;;
esac
"$root/scripts/install-deps.sh" sanitize
supp="$root/scripts/sanitizers"

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
# Configure unless a configure finished (a failed one leaves CMakeCache.txt but no build file).
if [ ! -f "$build/build.ninja" ] && [ ! -f "$build/Makefile" ]; then
  cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O1 -g1" \
    -DTANDEM_SANITIZE="$mode" -DTANDEM_BUILD_BENCH=OFF >/dev/null
fi

# Tests run with the options below, and so do the daemons the e2e tests start;
# every report goes to a file in $build/sanitizer-logs/, read after the run
# (a daemon's stderr is not always part of a test's output).
# detect_leaks stays on: LibTorch's own never-freed registries are suppressed by library.
logs="$build/sanitizer-logs"
rm -rf "$logs" && mkdir -p "$logs"
common="log_path=$logs/report:print_suppressions=0"
export ASAN_OPTIONS="$common:detect_leaks=1:detect_stack_use_after_return=0:check_initialization_order=1"
export LSAN_OPTIONS="$common:suppressions=$supp/lsan.supp"
export UBSAN_OPTIONS="$common:print_stacktrace=1:halt_on_error=1"
export TSAN_OPTIONS="$common:suppressions=$supp/tsan.supp:halt_on_error=1:second_deadlock_stack=1"

start=$(date +%s)
[ "$mode" = thread ] && [ ${#folders[@]} -eq 0 ] && folders=(net edge_daemon e2e app control)
if [ ${#folders[@]} -eq 0 ]; then
  cmake --build "$build" -j "${TANDEM_JOBS:-$(nproc)}"
  labels=()
else
  targets=()
  [[ " ${folders[*]} " == *" e2e "* ]] && targets+=(edge_daemon cloud_daemon tandem tandem-torch)
  for d in "${folders[@]}"; do
    targets+=($(grep -o 'tandem_add_test([a-z_0-9]*' "$root/tests/$d/CMakeLists.txt" | sed 's/tandem_add_test(//'))
  done
  cmake --build "$build" -j "${TANDEM_JOBS:-$(nproc)}" --target "${targets[@]}"
  labels=(-L "^($(IFS='|'; echo "${folders[*]}"))\$")
fi
built=$(date +%s)
echo "sanitize.sh $mode: build took $((built - start)) s" >&2
cd "$build"
status=0
ctest --output-on-failure -j "${TANDEM_TEST_JOBS:-2}" --timeout 2400 "${labels[@]}" || status=$?
echo "sanitize.sh $mode: tests took $(( $(date +%s) - built )) s" >&2
reports=$(find "$logs" -type f | wc -l)
if [ "$reports" -gt 0 ]; then
  echo "sanitize.sh $mode: $reports sanitizer report(s) in $logs:" >&2
  for f in "$logs"/*; do
    echo "--- $f" >&2
    grep -E 'ERROR|WARNING|SUMMARY|runtime error' "$f" | head -3 >&2
  done
  status=1
else
  echo "sanitize.sh $mode: no sanitizer reports" >&2
fi
exit $status
