#!/usr/bin/env bash
# A local AWS endpoint for the `aws` feature's integration tests: moto's server (PyPI
# `moto[server]`) on a free loopback port.
#
#   scripts/moto-server.sh start   installs moto in a venv (once), starts the server (once) and
#                                  prints `export STREAMALERT_TEST_AWS_ENDPOINT=http://127.0.0.1:PORT`
#   scripts/moto-server.sh env     prints that line for a running server (exit 1 if none)
#   scripts/moto-server.sh stop    stops the server this script started
#
# Typical use: eval "$(scripts/moto-server.sh start)" && cargo test --workspace
#
# `start` is idempotent: a server it started earlier and that still answers is reused. The venv
# lives in $STREAMALERT_MOTO_VENV (default ~/.cache/streamalert-rs/moto-venv); the server's pid,
# port and log in target/moto/. Lambda functions run as moto's stub (no docker).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv=${STREAMALERT_MOTO_VENV:-"${XDG_CACHE_HOME:-$HOME/.cache}/streamalert-rs/moto-venv"}
state="$here/target/moto"
spec='moto[server]>=5.1,<6'

log() { echo "moto-server: $*" >&2; }

answers() { # PORT -> does a moto server answer there?
    curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$1/moto-api/data.json" 2>/dev/null ||
        curl -fsS -o /dev/null --max-time 2 -X POST "http://127.0.0.1:$1/moto-api/reset" 2>/dev/null
}

running_port() { # prints the port of the server this script started, if it still runs
    [ -f "$state/pid" ] && [ -f "$state/port" ] || return 1
    local pid port
    pid=$(cat "$state/pid") port=$(cat "$state/port")
    kill -0 "$pid" 2>/dev/null && answers "$port" && echo "$port"
}

configure() { # PORT: the settings the tests rely on, after every start
    curl -fsS -o /dev/null --max-time 5 -X POST -H 'Content-Type: application/json' \
        -d '{"lambda":{"use_docker":false}}' "http://127.0.0.1:$1/moto-api/config"
}

install() {
    if [ -x "$venv/bin/moto_server" ]; then
        return
    fi
    log "installing $spec into $venv (about a minute)"
    mkdir -p "$(dirname "$venv")"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$spec" >&2
}

start() {
    local port
    if port=$(running_port); then
        configure "$port"
        echo "export STREAMALERT_TEST_AWS_ENDPOINT=http://127.0.0.1:$port"
        return
    fi
    install
    mkdir -p "$state"
    port=$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    # setsid: the server outlives this script and its caller's job control.
    # moto_server's own entry point, with one request at a time: moto has no locks, so only a
    # single-threaded server makes conditional writes atomic, as they are in AWS (the DynamoDB
    # ledger's tests rely on it). Every answer closes its connection, so nothing waits long.
    setsid "$venv/bin/python" -c '
import os, signal, sys
from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
port = int(sys.argv[1])
os.environ.setdefault("MOTO_PORT", str(port))
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
run_simple("127.0.0.1", port, DomainDispatcherApplication(create_backend_app), threaded=False, request_handler=MotoRequestHandler)
' "$port" >"$state/server.log" 2>&1 </dev/null &
    echo $! >"$state/pid"
    echo "$port" >"$state/port"
    for _ in $(seq 1 150); do # up to 30 s; moto usually answers in under a second
        if answers "$port"; then
            configure "$port"
            log "listening on 127.0.0.1:$port (pid $(cat "$state/pid"), log $state/server.log)"
            echo "export STREAMALERT_TEST_AWS_ENDPOINT=http://127.0.0.1:$port"
            return
        fi
        if ! kill -0 "$(cat "$state/pid")" 2>/dev/null; then
            break
        fi
        sleep 0.2
    done
    log "the server did not start; its log:"
    cat "$state/server.log" >&2
    stop
    return 1
}

stop() {
    if [ -f "$state/pid" ]; then
        local pid
        pid=$(cat "$state/pid")
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            log "stopped (pid $pid)"
        fi
    fi
    rm -f "$state/pid" "$state/port"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
env)
    port=$(running_port) || { log "not running"; exit 1; }
    echo "export STREAMALERT_TEST_AWS_ENDPOINT=http://127.0.0.1:$port"
    ;;
*)
    echo "usage: $0 start|env|stop" >&2
    exit 2
    ;;
esac
