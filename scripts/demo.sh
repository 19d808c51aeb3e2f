#!/usr/bin/env bash
# scripts/demo.sh: build and run examples/demo.cpp (a server and a client talking on loopback).
# SPDX-License-Identifier: BSL-1.0
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_packages cmake ninja-build g++ libasio-dev catch2 python3
cmake --preset dev >/dev/null
cmake --build --preset dev --target demo -j "$(jobs)"
./build/dev/examples/demo
