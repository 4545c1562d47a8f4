#!/usr/bin/env bash
# The whole test suite: unit, vector, integration, compile-fail and doc tests. The AWS tests
# need a local AWS endpoint, so this starts moto's server first (scripts/moto-server.sh
# installs it into a venv on the first run) and stops it at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/moto-server.sh start)"
trap 'scripts/moto-server.sh stop' EXIT
cargo test --workspace "$@"
