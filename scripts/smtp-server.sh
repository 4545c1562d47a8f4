#!/usr/bin/env bash
# A local SMTP relay for the `smtp` output's integration tests: aiosmtpd (PyPI) on two free
# loopback ports, one offering STARTTLS, one speaking TLS from the first byte, both with a
# self-signed certificate and requiring AUTH (user `alerts`, password `smtp-pa55word-secret`).
# Every message received is written to a JSON file (envelope, raw data, TLS and AUTH state).
#
#   scripts/smtp-server.sh start   installs aiosmtpd in a venv (once), starts the relay (once) and
#                                  prints the `export STREAMALERT_TEST_SMTP_*=…` lines
#   scripts/smtp-server.sh env     prints those lines for a running relay (exit 1 if none)
#   scripts/smtp-server.sh stop    stops the relay this script started
#
# Typical use: eval "$(scripts/smtp-server.sh start)" && cargo test --workspace --test it -- smtp
#
# The venv lives in $STREAMALERT_SMTP_VENV (default ~/.cache/streamalert-rs/smtp-venv); the
# relay's pid, ports, certificate, log and received mail in target/smtp/.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv=${STREAMALERT_SMTP_VENV:-"${XDG_CACHE_HOME:-$HOME/.cache}/streamalert-rs/smtp-venv"}
state="$here/target/smtp"
spec='aiosmtpd>=1.4,<2'

log() { echo "smtp-server: $*" >&2; }

exports() {
    echo "export STREAMALERT_TEST_SMTP_STARTTLS=127.0.0.1:$(cat "$state/starttls_port")"
    echo "export STREAMALERT_TEST_SMTP_TLS=127.0.0.1:$(cat "$state/tls_port")"
    echo "export STREAMALERT_TEST_SMTP_MAILDIR=$state/mail"
}

running() { # is the relay this script started still running?
    [ -f "$state/pid" ] && [ -f "$state/ready" ] && kill -0 "$(cat "$state/pid")" 2>/dev/null
}

install() {
    if "$venv/bin/python" -c 'import aiosmtpd' 2>/dev/null; then
        return
    fi
    log "installing $spec into $venv"
    mkdir -p "$(dirname "$venv")"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$spec" >&2
}

start() {
    if running; then
        exports
        return
    fi
    install
    mkdir -p "$state/mail"
    rm -f "$state/ready"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
        -keyout "$state/key.pem" -out "$state/cert.pem" 2>/dev/null
    # setsid: the relay outlives this script and its caller's job control.
    setsid "$venv/bin/python" -c '
import itertools, json, os, signal, socket, ssl, sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

state = sys.argv[1]
maildir = os.path.join(state, "mail")
counter = itertools.count()

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

class Handler:
    def __init__(self, mode):
        self.mode = mode

    async def handle_DATA(self, server, session, envelope):
        received = {
            "mode": self.mode,
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "data": envelope.original_content.decode("utf-8", "replace"),
            "tls": session.ssl is not None,
            "authenticated": bool(session.authenticated),
        }
        path = os.path.join(maildir, "%d-%d.json" % (time.time_ns(), next(counter)))
        with open(path + ".tmp", "w") as f:
            json.dump(received, f)
        os.rename(path + ".tmp", path)
        return "250 Message accepted for delivery"

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword)
          and auth_data.login == b"alerts" and auth_data.password == b"smtp-pa55word-secret")
    # handled=False: aiosmtpd itself answers a failure with 535.
    return AuthResult(success=ok, handled=False)

context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(os.path.join(state, "cert.pem"), os.path.join(state, "key.pem"))
ports = {"starttls": free_port(), "tls": free_port()}
starttls = Controller(Handler("starttls"), hostname="127.0.0.1", port=ports["starttls"],
                      tls_context=context, require_starttls=True,
                      authenticator=authenticator, auth_required=True)
implicit = Controller(Handler("tls"), hostname="127.0.0.1", port=ports["tls"],
                      ssl_context=context, authenticator=authenticator,
                      auth_required=True, auth_require_tls=False)
starttls.start()
implicit.start()
for mode, port in ports.items():
    with open(os.path.join(state, mode + "_port"), "w") as f:
        f.write(str(port))
open(os.path.join(state, "ready"), "w").close()
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
try:
    while True:
        time.sleep(3600)
finally:
    starttls.stop()
    implicit.stop()
' "$state" >"$state/server.log" 2>&1 </dev/null &
    echo $! >"$state/pid"
    for _ in $(seq 1 150); do # up to 30 s
        if [ -f "$state/ready" ]; then
            log "listening on 127.0.0.1:$(cat "$state/starttls_port") (STARTTLS) and :$(cat "$state/tls_port") (TLS), pid $(cat "$state/pid")"
            exports
            return
        fi
        if ! kill -0 "$(cat "$state/pid")" 2>/dev/null; then
            break
        fi
        sleep 0.2
    done
    log "the relay did not start; its log:"
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
    rm -f "$state/pid" "$state/ready"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
env)
    running || { log "not running"; exit 1; }
    exports
    ;;
*)
    echo "usage: $0 start|env|stop" >&2
    exit 2
    ;;
esac
