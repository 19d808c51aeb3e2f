# scripts/lib.sh: shared by demo.sh and test.sh: install missing Debian packages, pick a job count.
# SPDX-License-Identifier: BSL-1.0

# The Debian packages every configuration of scripts/test.sh needs; .ci/run installs the same list.
# clang 19's sanitizer runtimes (libclang-rt-19-dev) and libFuzzer (libfuzzer-19-dev) are packages
# of their own: clang-19 alone links no -fsanitize program. doxygen builds the reference
# documentation (the docs preset); pkg-config runs the pkg-config consumer tests.
test_packages=(cmake ninja-build g++ clang-19 libclang-rt-19-dev libfuzzer-19-dev libasio-dev catch2
  libssl-dev openssl python3 redis-tools curl wrk ca-certificates git doxygen pkg-config libboost1.81-dev)

# What the local-only configurations add: the io-uring preset needs liburing; bench/run.sh also
# builds the Go and tokio servers (its peers) and drives ping with redis-benchmark.
io_uring_packages=(liburing-dev)
bench_packages=(redis-tools golang-go cargo librust-tokio-dev "${io_uring_packages[@]}" python3)

# ensure_packages pkg...: installs the packages that are not installed yet (apt, as root or via sudo).
ensure_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "costream: installing ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

jobs() { nproc 2>/dev/null || echo 2; }
