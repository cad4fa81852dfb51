#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang-16 (ASan + UBSan) into
# build-fuzz/ and runs each for SECONDS (default 60), one process at a time.
# Prints executions, corpus size and crashes per target; exits non-zero when
# any target crashed (the input is saved in build-fuzz/artifacts/TARGET/).
#
# Usage: scripts/fuzz.sh [--runs N] [--no-build] [SECONDS] [TARGET...]
#        scripts/fuzz.sh --seeds        # rewrite fuzz/corpus/ (the checked-in seeds)
#   --runs N     stop each target after N executions instead of after SECONDS
#   --no-build   run what build-fuzz/ holds (e.g. a second fuzz.sh beside a first)
#   TARGET     frame_parser messages tensor_codec control units profile tensor_file (default: all)
# Environment: TANDEM_FUZZ_BUILD_DIR (default build-fuzz), TANDEM_JOBS.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${TANDEM_FUZZ_BUILD_DIR:-$root/build-fuzz}"
all_targets=(frame_parser messages tensor_codec control units profile tensor_file)

seconds=60 runs="" seeds=0 no_build=0 targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --seeds) seeds=1; shift ;;
    --no-build) no_build=1; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    [0-9]*) seconds="$1"; shift ;;
    *) [[ " ${all_targets[*]} " == *" $1 "* ]] || { echo "fuzz.sh: unknown target '$1' (known: ${all_targets[*]})" >&2; exit 2; }
       targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

"$root/scripts/install-deps.sh" fuzz
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
# build_tree DIR TARGET... [-- cmake options]: configures DIR once, builds the targets.
build_tree() {
  local dir="$1"; shift
  local want=() opts=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do want+=("$1"); shift; done
  [ $# -gt 0 ] && { shift; opts=("$@"); }
  [ ${#want[@]} -gt 0 ] || return 0
  # Configure unless a configure finished (a failed one leaves CMakeCache.txt but no build file).
  if [ ! -f "$dir/build.ninja" ] && [ ! -f "$dir/Makefile" ]; then
    cmake -S "$root" -B "$dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DTANDEM_BUILD_TESTS=OFF -DTANDEM_BUILD_BENCH=OFF "${opts[@]}" >/dev/null
  fi
  echo "fuzz.sh: building ${want[*]} in $dir" >&2
  cmake --build "$dir" -j "${TANDEM_JOBS:-$(nproc)}" --target "${want[@]}" >"$dir/build.log" 2>&1 ||
    { tail -40 "$dir/build.log" >&2; exit 1; }
}
# The torch-free targets build with clang-16; the tensor-file loader needs
# LibTorch, whose headers clang cannot compile, so it builds with g++ in
# build-fuzz/torch/ (fuzz/CMakeLists.txt).
clang_targets=() gcc_targets=()
for t in "${targets[@]}"; do
  if [ "$t" = tensor_file ]; then gcc_targets+=("fuzz_$t"); else clang_targets+=("fuzz_$t"); fi
done
[ "$seeds" = 1 ] && clang_targets=(fuzz_make_corpus)
[ "$seeds" = 1 ] && gcc_targets=()
mkdir -p "$build"
[ "$no_build" = 1 ] && clang_targets=() gcc_targets=()
build_tree "$build" "${clang_targets[@]}" -- -DCMAKE_CXX_COMPILER=clang++-16 -DTANDEM_FUZZ=ON
build_tree "$build/torch" "${gcc_targets[@]}" -- -DCMAKE_CXX_COMPILER=g++ -DTANDEM_FUZZ_TORCH=ON

# LibTorch and OpenBLAS are not instrumented and keep allocations for the
# life of the process; those are not the fuzzed code's leaks.
export LSAN_OPTIONS="suppressions=$root/scripts/sanitizers/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

if [ "$seeds" = 1 ]; then
  rm -rf "$root/fuzz/corpus"
  "$build/bin/fuzz_make_corpus" "$root/fuzz/corpus" "$root/profiles/cloud.json"
  for t in "${all_targets[@]}"; do echo "fuzz.sh: $(ls "$root/fuzz/corpus/$t" | wc -l) seeds for $t" >&2; done
  exit 0
fi

stop=(-max_total_time="$seconds")
[ -n "$runs" ] && stop=(-runs="$runs")
failed=0
printf '%-14s %12s %8s %10s %8s %8s\n' target executions seconds exec/s corpus crashes
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t" artifacts="$build/artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  dict=()
  [ -f "$root/fuzz/dict/$t.dict" ] && dict=(-dict="$root/fuzz/dict/$t.dict")
  log="$build/fuzz_$t.log"
  before=$(find "$artifacts" -type f | wc -l)
  status=0
  exe="$build/bin/fuzz_$t"
  [ "$t" = tensor_file ] && exe="$build/torch/bin/fuzz_$t"
  "$exe" "${stop[@]}" "${dict[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$corpus" "$root/fuzz/corpus/$t" >"$log" 2>&1 || status=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  secs=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | grep -o 'in [0-9]*' | grep -o '[0-9]*' || true)
  crashes=$(( $(find "$artifacts" -type f | wc -l) - before ))
  size=$(find "$corpus" -type f | wc -l)
  [ "$status" -ne 0 ] && [ "$crashes" -eq 0 ] && crashes=1
  rate="-"
  [ -n "$execs" ] && [ -n "$secs" ] && [ "$secs" -gt 0 ] && rate=$((execs / secs))
  printf '%-14s %12s %8s %10s %8s %8s\n' "$t" "${execs:-?}" "${secs:-?}" "$rate" "$size" "$crashes"
  if [ "$status" -ne 0 ]; then
    failed=1
    echo "fuzz.sh: fuzz_$t failed (exit $status); log $log, inputs in $artifacts:" >&2
    grep -m1 -E 'ERROR|fuzz property|runtime error|terminate|deadly' "$log" >&2 || tail -5 "$log" >&2
  fi
done
exit $failed
