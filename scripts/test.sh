#!/usr/bin/env bash
# The whole test suite: unit, vector, integration, compile-fail and doc tests. The AWS tests
# need a local AWS endpoint, so this starts moto's server first (scripts/moto-server.sh
# installs it into a venv on the first run) and stops it at the end. If the server does not
# start, this fails at once: the AWS tests would otherwise check nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
fail() {
    echo "test.sh: $*" >&2
    exit 1
}
# Not `eval "$(…)"` directly: the status of a failed command substitution would be lost.
moto_env=$(scripts/moto-server.sh start) ||
    fail "moto's server did not start (its log is above), so the AWS tests cannot run"
trap 'scripts/moto-server.sh stop' EXIT
eval "$moto_env"
[ -n "${STREAMALERT_TEST_AWS_ENDPOINT:-}" ] ||
    fail "scripts/moto-server.sh start printed no STREAMALERT_TEST_AWS_ENDPOINT: $moto_env"
cargo test --workspace "$@"
