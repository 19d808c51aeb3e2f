#!/bin/sh
# fuzz/run.sh: build the fuzz targets with clang 19, replay the corpus, then fuzz for FUZZ_SECONDS.
# SPDX-License-Identifier: BSL-1.0
#
#   FUZZ_SECONDS=60          how long to fuzz after the replay (0: replay only)
#   FUZZ_BUILD_DIR=build/fuzz  its own build directory
#   FUZZ_JOBS=2              build parallelism
# Extra arguments go to libFuzzer (e.g. -seed=1). Exits non-zero on a crash,
# leaving the input in $FUZZ_BUILD_DIR/crashes/; copy it into
# fuzz/corpus/reader/ and add a regression case to
# tests/unit/chunking_property_test.cpp (COSTREAM_FUZZ_TRACE=1 <fuzzer> <file>
# prints its steps).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build/fuzz}
seconds=${FUZZ_SECONDS:-60}
cxx=${FUZZ_CXX:-clang++-19}

cmake -S "$root/fuzz" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCOSTREAM_BUILD_FUZZ=ON >/dev/null
cmake --build "$build" -j "${FUZZ_JOBS:-2}"

fuzzer=$build/costream_reader_fuzz
corpus=$root/fuzz/corpus/reader
mkdir -p "$build/crashes" "$build/corpus/reader"

crashed() {
  echo "== CRASH: the input is in $build/crashes/ (COSTREAM_FUZZ_TRACE=1 $fuzzer <file> shows its steps)" >&2
  exit 1
}

echo "== replaying $corpus"
"$fuzzer" -runs=0 -artifact_prefix="$build/crashes/" "$corpus" || crashed

if [ "$seconds" -gt 0 ]; then
  echo "== fuzzing for $seconds s (new inputs in $build/corpus/reader)"
  # The scratch corpus comes first: libFuzzer adds new inputs to the first
  # directory, so the checked-in one stays as it is.
  "$fuzzer" -max_total_time="$seconds" -max_len=1024 -print_final_stats=1 \
    -artifact_prefix="$build/crashes/" "$@" "$build/corpus/reader" "$corpus" || crashed
fi
echo "== no crash"
