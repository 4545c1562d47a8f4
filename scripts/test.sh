#!/usr/bin/env bash
# The whole test suite: unit, vector, integration, compile-fail and doc tests. The AWS tests
# need a local AWS endpoint and the `smtp` tests a local SMTP relay, so this starts moto's
# server and aiosmtpd first (scripts/moto-server.sh and scripts/smtp-server.sh install them
# into venvs on the first run) and stops them at the end. If either does not start, this
# fails at once: their tests would otherwise check nothing.
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
smtp_env=$(scripts/smtp-server.sh start) ||
    fail "the SMTP relay did not start (its log is above), so the smtp tests cannot run"
trap 'scripts/moto-server.sh stop; scripts/smtp-server.sh stop' EXIT
eval "$smtp_env"
[ -n "${STREAMALERT_TEST_SMTP_STARTTLS:-}" ] ||
    fail "scripts/smtp-server.sh start printed no STREAMALERT_TEST_SMTP_STARTTLS: $smtp_env"
cargo test --workspace "$@"
