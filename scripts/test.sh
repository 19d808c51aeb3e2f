#!/usr/bin/env bash
# scripts/test.sh: the whole test suite, as CI runs it (.ci/run).
# SPDX-License-Identifier: BSL-1.0
#
# Installs what is missing, builds the reference documentation (the docs preset:
# Doxygen, where any warning, an undocumented public name included, fails the run;
# COSTREAM_TEST_DOCS=0 skips it), then for each configuration in COSTREAM_TEST_CONFIGS
# (default: g++; clang 19 with ASan+UBSan and with TSan, which also check clang's
# warnings; g++ on Boost.Asio) configures, builds and runs ctest. Fails at the first
# configuration that fails. The sanitizer presets build at -O0 with line tables only:
# clang at -O1 -g took 2.7 times as long per test file, and the tests wait on sockets,
# not on the CPU. The plain `clang` preset is there for local runs.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

configs=${COSTREAM_TEST_CONFIGS:-dev asan-ubsan tsan boost}
ensure_packages "${test_packages[@]}"
[[ " $configs " == *" io-uring "* ]] && ensure_packages "${io_uring_packages[@]}"

# The documentation first: it takes seconds, and a missing doc comment fails early.
if [ "${COSTREAM_TEST_DOCS:-1}" != 0 ]; then
  echo "=== costream: docs ==="
  start=$SECONDS
  cmake --preset docs >/dev/null
  cmake --build --preset docs
  echo "=== costream: docs built in $((SECONDS - start)) s: build/docs/html/index.html ==="
fi

for config in $configs; do
  echo "=== costream: $config ==="
  start=$SECONDS
  cmake --preset "$config" >/dev/null
  cmake --build --preset "$config" -j "$(jobs)"
  echo "=== costream: $config built in $((SECONDS - start)) s; testing ==="
  # ctest is the last command of each configuration: its summary ends the run.
  (cd "build/$config" && ctest -j "$(jobs)" --timeout 300 --output-on-failure)
done
