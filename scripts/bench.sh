#!/usr/bin/env bash
# Runs every benchmark of issues #9 and #14 and writes BENCHMARKS.md at the repository root, with
# the dispatch chart BENCHMARKS-dispatch.svg next to it:
#   1. release builds of examples/loadgen and examples/quickstart, both with streamalert's `aws`
#      (loadgen for its aws-firehose row), separately so that quickstart is built as deployed;
#   2. a Python venv with `requests` for StreamAlert's per-alert baseline
#      (examples/loadgen/data/streamalert_baseline.py): StreamAlert's own pins on Python <= 3.11,
#      a current `requests` on 3.12+;
#   3. the criterion micro benches (`cargo bench -p streamalert --features jemalloc`: the
#      quickstart's allocator), then the compose benches
#      alternated with the baseline's --compose-only runs;
#   4. the load bench (`loadgen load`: the Python baseline and the processor alternated against
#      one local sink, with and without the ledger, plus the sink's raw ceiling; then the
#      aws-firehose output batching into the sink's Firehose endpoint, and that endpoint's
#      ceiling);
#   5. the cold start (`loadgen cold-start`: quickstart vs the baseline's start and first send);
#   6. the retry memory of issue #12 (`loadgen retry-memory`: peak RSS of `quickstart retry`
#      over an empty ledger, the floor, and over ledgers of BENCH_RETRY_COUNTS pending alerts).
# Everything runs on 127.0.0.1 (the AWS SDK gets static placeholder credentials, the sink as its
# endpoint and AWS_EC2_METADATA_DISABLED=true). Figures are medians of alternated runs; ratios
# come from one run.
#
# Environment: BENCH_COUNT (alerts per run, default 3000), BENCH_ROUNDS (default 3),
# BENCH_COLD_ROUNDS (default 5), BENCH_CONCURRENCY (default 32), BENCH_RETRY_COUNTS (default
# 10000,100000,1000000; the 1M ledger takes a few GB in the temp dir for a few minutes),
# BENCH_VENV (default target/bench-venv), BENCH_PYTHON (the interpreter the venv is made from,
# default python3).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
# Cargo's target directory (CARGO_TARGET_DIR when set, as cargo itself does).
TARGET=$(realpath -m "${CARGO_TARGET_DIR:-$ROOT/target}")
COUNT=${BENCH_COUNT:-3000}
ROUNDS=${BENCH_ROUNDS:-3}
COLD_ROUNDS=${BENCH_COLD_ROUNDS:-5}
CONCURRENCY=${BENCH_CONCURRENCY:-32}
RETRY_COUNTS=${BENCH_RETRY_COUNTS:-10000,100000,1000000}
VENV=${BENCH_VENV:-$TARGET/bench-venv}
HOST_PYTHON=${BENCH_PYTHON:-python3}
OUT=$TARGET/bench
CRITERION=$TARGET/criterion
BASELINE="$ROOT/examples/loadgen/data/streamalert_baseline.py"
RECORD="$ROOT/examples/loadgen/data/record.json"
# The criterion ids of streamalert/benches (group/function).
CRITERION_IDS=(alert/from_record compose/default compose/generic5 request/slack
    request/pagerduty-v2 request/jira-v2 request/opsgenie request/slack-bot request/google-chat
    request/discord request/splunk-hec ledger/sqlite_record_delivery
    ledger/sqlite_record_and_complete)
mkdir -p "$OUT"

say() { printf '\n== %s\n' "$*" >&2; }

say "release builds"
cargo build --release -p loadgen
cargo build --release -p quickstart --features aws   # the binary deployed at scale

say "python venv ($VENV)"
if ! "$VENV/bin/python" -c 'import requests' 2>/dev/null; then
    "$HOST_PYTHON" -m venv "$VENV"
    if "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info >= (3, 12))'; then
        # StreamAlert's own pins (urllib3 1.25 does not run on Python 3.12+).
        "$VENV/bin/pip" install -q requests==2.24.0 urllib3==1.25.10 chardet==3.0.4 idna==2.8 certifi
    else
        "$VENV/bin/pip" install -q requests
    fi
fi
PY="$VENV/bin/python"
"$PY" -c 'import sys, requests; print("python", sys.version.split()[0], "requests", requests.__version__)' >&2

# The mean of one criterion id in ns, or nothing when that bench has not run.
estimate() {
    local file="$CRITERION/$1/new/estimates.json"
    [[ -f $file ]] && "$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["mean"]["point_estimate"])' "$file"
}

say "criterion micro benches"
: > "$OUT/criterion.tsv"
: > "$OUT/compose.tsv"
if compgen -G "streamalert/benches/*.rs" > /dev/null; then
    cargo bench -p streamalert --features jemalloc
    for id in "${CRITERION_IDS[@]}"; do
        if ns=$(estimate "$id"); then
            printf '%s\t%s\n' "$id" "$ns" >> "$OUT/criterion.tsv"
        else
            echo "bench.sh: no criterion estimate for $id (bench missing); left out" >&2
        fi
    done
else
    echo "bench.sh: streamalert/benches does not exist yet; criterion figures left out" >&2
fi

say "compose: baseline --compose-only alternated with criterion compose/*"
for round in $(seq "$ROUNDS"); do
    for chain in generic5 default; do
        us=$("$PY" "$BASELINE" --record "$RECORD" --compose-only --chain "$chain" --count "$COUNT" |
            "$PY" -c 'import json, sys; print(json.loads(sys.stdin.readline())["us_per_alert"])')
        printf 'baseline\t%s\t%s\n' "$chain" "$us" >> "$OUT/compose.tsv"
        echo "round $round: baseline compose $chain: $us us/alert" >&2
    done
    if [[ -s $OUT/criterion.tsv ]] && grep -q '^compose/' "$OUT/criterion.tsv"; then
        cargo bench -p streamalert --features jemalloc -- compose/ > /dev/null
        for chain in generic5 default; do
            if ns=$(estimate "compose/$chain"); then
                printf 'rust\t%s\t%s\n' "$chain" "$ns" >> "$OUT/compose.tsv"
                echo "round $round: rust compose $chain: $ns ns/alert" >&2
            fi
        done
    fi
done

say "load bench"
AWS_EC2_METADATA_DISABLED=true "$TARGET/release/loadgen" load --python "$PY" \
    --baseline "$BASELINE" --record "$RECORD" \
    --count "$COUNT" --rounds "$ROUNDS" --concurrency "$CONCURRENCY" > "$OUT/load.json"

say "cold start"
"$TARGET/release/loadgen" cold-start --quickstart "$TARGET/release/quickstart" \
    --python "$PY" --baseline "$BASELINE" --record "$RECORD" --rounds "$COLD_ROUNDS" > "$OUT/cold.json"

say "retry memory"
"$TARGET/release/loadgen" retry-memory --quickstart "$TARGET/release/quickstart" \
    --record "$RECORD" --counts "$RETRY_COUNTS" > "$OUT/retry.json"

say "BENCHMARKS.md and BENCHMARKS-dispatch.svg"
"$PY" - "$OUT" "$ROOT/BENCHMARKS.md" <<'PYTHON'
import datetime, json, os, platform, statistics, subprocess, sys

out, target_file = sys.argv[1], sys.argv[2]
load = json.load(open(os.path.join(out, 'load.json')))
cold = json.load(open(os.path.join(out, 'cold.json')))
retry = json.load(open(os.path.join(out, 'retry.json')))
criterion = dict(line.rstrip('\n').split('\t') for line in open(os.path.join(out, 'criterion.tsv')) if line.strip())
compose = {}
for line in open(os.path.join(out, 'compose.tsv')):
    side, chain, value = line.rstrip('\n').split('\t')
    compose.setdefault((side, chain), []).append(float(value))

def cpu_model():
    for line in open('/proc/cpuinfo'):
        if line.startswith('model name'):
            return line.split(':', 1)[1].strip()
    return platform.machine()

rustc = subprocess.run(['rustc', '--version'], capture_output=True, text=True).stdout.strip()
cores = load['cores']
python, requests = load['python'], load['requests']
today = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
machine = lambda start, end: f"{cores} cores, load {start.split()[0]}→{end.split()[0]}"
load_machine = machine(load['load_start'], load['load_end'])
cold_machine = machine(cold['load_start'], cold['load_end'])
ceiling = load['ceiling_median_per_s']

def rate(x): return f"{x:,.0f}/s"
def ratio(x): return '—' if x is None else f"{x:.1f}×"
def verdict(ok): return 'met' if ok else '**missed**'

conc = load['concurrency']
firehose = load['firehose']

def pct(x): return f"{x * 100:.1f} %"
def number(x): return isinstance(x, (int, float)) and x == x  # not None, not NaN

rows, targets = [], []
def target(name, measured, ok):
    targets.append((name, measured, verdict(ok) if ok is not None else 'not measured'))

for service, s in load['services'].items():
    amortised = s['ledger_amortised_us']
    rows.append((f"{service} dispatch, sequential (alerts/s; p50 {s['p50_us']:.0f} µs, p99 {s['p99_us']:.0f} µs per delivery)",
                 rate(s['rust_median_per_s']), rate(s['baseline_median_per_s']), ratio(s['ratio']), load_machine))
    rows.append((f"{service} dispatch, sequential without the ledger (diagnostic: `Processor::deliver`; p50 {s['unrecorded_p50_us']:.0f} µs, p99 {s['unrecorded_p99_us']:.0f} µs)",
                 rate(s['unrecorded_median_per_s']), rate(s['baseline_median_per_s']),
                 ratio(s['unrecorded_median_per_s'] / s['baseline_median_per_s'] if s['baseline_median_per_s'] else None), load_machine))
    rows.append((f"{service} dispatch, concurrent ×{conc} (alerts/s; ÷ the sequential baseline)",
                 rate(s['concurrent_median_per_s']), rate(s['baseline_median_per_s']), ratio(s['concurrent_ratio']), load_machine))
    rows.append((f"{service} dispatch, concurrent ×{conc} without the ledger (diagnostic; the ledger costs {amortised:.1f} µs per alert at ×{conc})",
                 rate(s['concurrent_unrecorded_median_per_s']), rate(s['baseline_median_per_s']),
                 ratio(s['concurrent_unrecorded_median_per_s'] / s['baseline_median_per_s'] if s['baseline_median_per_s'] else None), load_machine))
    base_ok = lambda key, floor: None if s[key] is None else s[key] >= floor
    target(f"{service} dispatch ×{conc} with the ledger ≥ 35 % of the sink ceiling (#14)", pct(s['concurrent_of_ceiling']), s['concurrent_of_ceiling'] >= 0.35)
    target(f"{service} dispatch ×{conc} with the ledger ≥ 50 % of the sink ceiling (#9; #14's aim)", pct(s['concurrent_of_ceiling']), s['concurrent_of_ceiling'] >= 0.5)
    target(f"{service} dispatch sequential with the ledger ≥ 8× baseline (#14)", ratio(s['ratio']), base_ok('ratio', 8))
    target(f"{service} dispatch sequential with the ledger: p50 ≤ 150 µs (#14)", f"{s['p50_us']:.0f} µs", s['p50_us'] <= 150)
    target(f"{service} ledger, amortised per alert at ×{conc} ≤ 10 µs (#14)", f"{amortised:.1f} µs", amortised <= 10)
    target(f"{service} dispatch sequential ≥ 60× baseline (#9)", ratio(s['ratio']), base_ok('ratio', 60))
    target(f"{service} dispatch ×{conc} ≥ 60× baseline (#9)", ratio(s['concurrent_ratio']), base_ok('concurrent_ratio', 60))
    target(f"{service} dispatch sequential ≥ 50 % of the sink ceiling (#9)", pct(s['rust_of_ceiling']), s['rust_of_ceiling'] >= 0.5)
rows.append((f"sink ceiling (raw client, {load['ceiling_connections']} connections, 1.5 KB POST)", rate(ceiling), '—', '—', load_machine))
rows.append((f"aws-firehose dispatch, concurrent ×{conc} (records/s; {firehose['median_records_per_request']:.1f} records per `PutRecordBatch`; "
             f"{pct(firehose['of_ceiling'])} of the sink's Firehose ceiling)",
             rate(firehose['median_per_s']), '—', '—', load_machine))
rows.append((f"sink Firehose ceiling (raw client, {load['ceiling_connections']} connections, `PutRecordBatch` of {firehose['ceiling_records_per_request']} records; records/s)",
             rate(firehose['ceiling_median_per_s']), '—', '—', load_machine))

for chain, limit, issues in (('generic5', 5, '#9, #14'), ('default', 3, '#14')):
    rust = compose.get(('rust', chain))
    base = compose.get(('baseline', chain))
    r = statistics.median(rust) / 1000 if rust else None
    target(f"compose {chain} + JSON ≤ {limit} µs/alert ({issues})", '—' if r is None else f"{r:.2f} µs", None if r is None else r <= limit)
    if not base:
        continue
    b = statistics.median(base)
    if r is not None:
        rows.append((f"compose {chain} + JSON (µs/alert)", f"{r:.2f} µs", f"{b:.1f} µs", f"{b / r:.1f}×", load_machine))
    else:
        rows.append((f"compose {chain} + JSON (µs/alert)", 'not measured (criterion bench missing)', f"{b:.1f} µs", '—', load_machine))
for id_, limit in (('request/slack', 5), ('request/pagerduty-v2', 5), ('alert/from_record', 1)):
    us = float(criterion[id_]) / 1000 if id_ in criterion else None
    target(f"`{id_}` ≤ {limit} µs (#14)", '—' if us is None else f"{us:.2f} µs", None if us is None else us <= limit)

def cold_row(name, short, key, issues):
    c, b = cold[key], cold['baseline']
    rows.append((f"cold start, {name}: exec → first delivery", f"{c['median_ms']:.1f} ms", f"{b['median_ms']:.1f} ms",
                 f"{b['median_ms'] / c['median_ms']:.0f}× faster", cold_machine))
    rows.append((f"cold start, {name}: peak RSS at first delivery", f"{c['median_peak_rss_kib'] / 1024:.1f} MiB",
                 f"{b['median_peak_rss_kib'] / 1024:.1f} MiB", f"{c['median_peak_rss_kib'] / b['median_peak_rss_kib']:.2f}", cold_machine))
    target(f"cold start, {short}: ≤ 10 ms median ({issues})", f"{c['median_ms']:.1f} ms", c['median_ms'] <= 10)
    target(f"cold start, {short}: ≤ 15 MB RSS (#9)", f"{c['median_peak_rss_kib'] * 1024 / 1e6:.1f} MB", c['median_peak_rss_kib'] * 1024 <= 15e6)
rows.append(("process start floor: spawn → exit of `/bin/true` (same clock)", f"{cold['median_floor_ms']:.1f} ms", '—', '—', cold_machine))
cold_row('restart (existing ledger)', 'restart', 'rust_restart', '#9')
cold_row('first start (creates the ledger)', 'first start', 'rust_new_ledger', '#9, #14')
target("peak RSS of the load bench ≤ 40 MiB (#14; slack and pagerduty-v2 runs and their ceiling)",
       f"{load['peak_rss_kib'] / 1024:.1f} MiB ({load['peak_rss_with_firehose_kib'] / 1024:.1f} MiB after the Firehose rounds)",
       load['peak_rss_kib'] <= 40 * 1024)

micro = []
for id_, ns in criterion.items():
    micro.append((id_, f"{float(ns) / 1000:.2f} µs"))

# The dispatch chart: for each dispatch row, the baseline, streamalert-rs and the sink ceiling.
groups = []
for service, s in load['services'].items():
    groups.append((f"{service}, sequential (alerts/s)", s['baseline_median_per_s'], s['rust_median_per_s'], ceiling))
    groups.append((f"{service}, {conc} in flight (alerts/s)", s['baseline_median_per_s'], s['concurrent_median_per_s'], ceiling))
groups.append((f"aws-firehose, {conc} in flight (records/s, {firehose['median_records_per_request']:.1f} per request)",
               None, firehose['median_per_s'], firehose['ceiling_median_per_s']))

def svg_chart(groups):
    from xml.sax.saxutils import escape
    width, left, bar_w, bar_h, gap = 1020, 220, 460, 18, 4
    series = (('StreamAlert (Python)', '#868e96'), ('streamalert-rs', '#e8590c'), ('sink ceiling', '#1c7ed6'))
    out, y = [], 84
    for title, base, rust, top in groups:
        out.append(f'<text x="16" y="{y}" font-weight="bold">{escape(title)}</text>')
        y += 8
        scale = max(v for v in (base, rust, top) if number(v))
        for index, ((name, colour), value) in enumerate(zip(series, (base, rust, top))):
            out.append(f'<text x="{left - 8}" y="{y + 13}" text-anchor="end">{escape(name)}</text>')
            if number(value):
                w = max(1.0, bar_w * value / scale)
                label = f"{value:,.0f}/s"
                if index == 1:
                    parts = []
                    if number(base) and base:
                        parts.append(f"{rust / base:.1f}× baseline")
                    if number(top) and top:
                        parts.append(f"{rust / top * 100:.1f} % of the ceiling")
                    if parts:
                        label += f" ({', '.join(parts)})"
                out.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour}"/>')
                out.append(f'<text x="{left + w + 6:.1f}" y="{y + 13}">{escape(label)}</text>')
            else:
                out.append(f'<text x="{left + 6}" y="{y + 13}" fill="#868e96">no baseline (it covers slack and pagerduty-v2)</text>')
            y += bar_h + gap
        y += 22
    height = y + 10
    head = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'font-family="-apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="13" fill="#212529">',
        '<title>Dispatch rates: the StreamAlert baseline, streamalert-rs and the sink ceiling</title>',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="16" y="26" font-size="16" font-weight="bold">Dispatch: StreamAlert baseline, streamalert-rs and the sink ceiling</text>',
        f'<text x="16" y="48" font-size="12" fill="#495057">{escape(today)}, {escape(load_machine)}. streamalert-rs with its '
        f'SQLite ledger; ceiling: the bench\'s raw client, {load["ceiling_connections"]} connections. Each row to its own scale.</text>',
    ]
    return '\n'.join(head + out + ['</svg>', ''])

chart = os.path.join(os.path.dirname(os.path.abspath(target_file)), 'BENCHMARKS-dispatch.svg')
open(chart, 'w').write(svg_chart(groups))

lines = [
    '# Benchmarks',
    '',
    f'Written by `scripts/bench.sh` on {today}: {cores} cores ({cpu_model()}), {rustc}, '
    f'Python {python} with requests {requests} for the baseline '
    f'(`examples/loadgen/data/streamalert_baseline.py`, StreamAlert 3.5\'s per-alert work for slack and pagerduty-v2, '
    f'calibrated to ±5 % of the real StreamAlert). Load average: load bench {load["load_start"]} → {load["load_end"]}, '
    f'cold start {cold["load_start"]} → {cold["load_end"]} (the machine is shared with other builds, so absolute '
    f'figures move; the ratios come from runs alternated in the same invocation).',
    '',
    '![Dispatch rates: the StreamAlert baseline, streamalert-rs and the sink ceiling](BENCHMARKS-dispatch.svg)',
    '',
    '| measure | streamalert-rs | baseline | ratio | machine |',
    '|---|---|---|---|---|',
]
lines += [f'| {" | ".join(row)} |' for row in rows]
# Where the CPU of the concurrent runs goes, by thread (µs per alert, medians of the rounds).
threads = (('tokio-rt-worker', 'runtime workers'), ('sink', 'sink'), ('ledger-writer', 'ledger writer'))
lines += [
    '',
    f'CPU per alert in the ×{conc} runs, by thread (µs; each thread\'s time on a core from '
    f'`/proc/self/task/*/schedstat`, medians of the rounds; "cores busy" = total × alerts/s, of {cores}):',
    '',
    '| run | ' + ' | '.join(label for _, label in threads) + ' | total | cores busy |',
    '|---|' + '---|' * (len(threads) + 2),
]
for service, s in load['services'].items():
    for label, key, rate_key in (('with the ledger', 'concurrent_cpu_us', 'concurrent_median_per_s'),
                                 ('without the ledger', 'concurrent_unrecorded_cpu_us', 'concurrent_unrecorded_median_per_s')):
        cpu = s[key]
        total = sum(cpu.values())
        cells = [f"{cpu[name]:.1f}" if name in cpu else '—' for name, _ in threads]
        lines.append(f"| {service}, {label} | {' | '.join(cells)} | {total:.1f} | {total * s[rate_key] / 1e6:.2f} |")
lines += [
    '',
    f'Method. Dispatch: {load["rounds"]} rounds, each running baseline then streamalert-rs for slack, then for '
    f'pagerduty-v2 ({load["count"]:,} timed alerts per run after {load["warmup"]} untimed), then the concurrent runs '
    f'({load["concurrent_count"]:,} alerts each, with and without the ledger) and the sink ceiling; medians of the rounds; ratio = median(streamalert-rs) / median(baseline). The sink is a hyper server '
    f'on 127.0.0.1 inside `loadgen` (one worker thread, every request answered `200 {{"status":"success"}}`); both sides '
    f'post to it, the baseline with a new connection per alert as StreamAlert does, streamalert-rs through its pooled '
    f'client. streamalert-rs runs the real processor path for every alert: `Processor::process` (the publisher chain '
    f'(default publication), the alert and its delivery recorded in a SQLite ledger, credentials from the local store '
    f'through the credential cache, the output\'s request, the outcome recorded), with jemalloc (one arena) as the '
    f'process\'s allocator, as `main!` gives the quickstart; sequential = one alert at a time, the '
    f'same record and request body as the baseline; p50/p99 are per delivery over all sequential rounds. "Without the '
    f'ledger": the same runs by a processor without one; the ledger\'s amortised cost per alert at ×{conc} is '
    f'1/rate(with) − 1/rate(without). Every run\'s time ends once its ledger holds all of it in SQLite (a read, '
    f'which applies what the intake log still holds first; its CPU time counts under the ledger writer); closing the '
    f'ledger (a checkpoint, the log emptied) comes after the clock. Peak RSS of the whole load bench process (sink included) after the slack and '
    f'pagerduty-v2 rounds: {load["peak_rss_kib"] / 1024:.1f} MiB ({load["peak_rss_with_firehose_kib"] / 1024:.1f} MiB after '
    f'the Firehose rounds, which load the AWS SDK). The ceiling is the bench\'s own raw hyper client posting a fixed 1.5 KB '
    f'body over {load["ceiling_connections"]} kept-alive connections as fast as the sink answers.',
    '',
    f'Firehose: after those rounds, {load["rounds"]} rounds of {load["count"]:,} alerts to `aws-firehose:bench` with '
    f'{conc} in flight, through the real `aws-firehose` output (its batcher, the AWS SDK with static placeholder credentials '
    f'and the endpoint set to the sink) and the SQLite ledger. The sink answers `PutRecordBatch` and `PutRecord` as the '
    f'service does (`X-Amz-Target: Firehose_20150804.PutRecordBatch`, every record\'s base64 `Data` decoded, '
    f'`200 {{"FailedPutCount":0,"Encrypted":false,"RequestResponses":[…]}}` with one `RecordId` per record; no signature '
    f'check) and counts requests and records: records/s and records per request are its counts. Its Firehose ceiling is '
    f'the raw client posting `PutRecordBatch` calls of {firehose["ceiling_records_per_request"]} copies of the same '
    f'record over {load["ceiling_connections"]} connections, in records/s. No baseline: the Python baseline covers slack '
    f'and pagerduty-v2 only.',
    '',
    f'Chart ([BENCHMARKS-dispatch.svg](BENCHMARKS-dispatch.svg), written by the same step): each dispatch row\'s median '
    f'rates, the baseline, streamalert-rs (with the ledger) and the sink ceiling, each row to its own scale.',
    '',
    f'Compose: criterion `compose/*` (publisher chain + JSON serialization, same record; jemalloc, the quickstart\'s allocator, as in every Rust row) vs the baseline\'s '
    f'`--compose-only` ({load["count"]:,} alerts), {load["rounds"]} alternated rounds, medians; ratio = baseline µs / rust µs.',
    '',
    f'Cold start: {cold["rounds"]} alternated rounds after one untimed start of each, medians. streamalert-rs: the release '
    f'`quickstart` binary, `process --input - --config examples/quickstart/conf` in a fresh working directory, one record '
    f'written to its open standard input; the clock runs from spawn to its first `stdout:console` delivery line, and the '
    f'peak RSS (`VmHWM`) is read from `/proc` at that moment. "First start" creates the SQLite ledger; "restart" runs again '
    f'in the same directory. Baseline: `python -u` running the baseline with `--service slack --count 1 --warmup 0` '
    f'against the sink (interpreter start, imports, one alert sent), from spawn to its result line; its own `VmHWM` then.',
    '',
    '## Targets (reported, not asserted)',
    '',
    '| target | measured | |',
    '|---|---|---|',
]
lines += [f'| {" | ".join(t)} |' for t in targets]

mib = lambda kib: f"{kib / 1024:.1f} MiB"
floor = retry['floor']
lines += [
    '',
    '## Retry memory (issue #12, "Bounded retry")',
    '',
    '| pending alerts | peak RSS of `quickstart retry` | above the floor | wall time | delivered | machine |',
    '|---|---|---|---|---|---|',
    f"| 0 (empty ledger: the floor) | {mib(floor['peak_rss_kib'])} | — | {floor['seconds']:.2f} s | {floor['delivered']:,} | "
    f"{machine(retry['load_start'], retry['load_end'])} |",
]
for run in retry['runs']:
    lines.append(f"| {run['count']:,} | {mib(run['peak_rss_kib'])} | + {mib(run['peak_rss_kib'] - floor['peak_rss_kib'])} | "
                 f"{run['seconds']:.1f} s | {run['delivered']:,} | {machine(retry['load_start'], retry['load_end'])} |")
lines += [
    '',
    f'Method: for each count, `loadgen retry-memory` records that many pending alerts (the baseline\'s record, one '
    f'`file:alerts` output each) in a new SQLite ledger through the library, then runs the release `quickstart retry '
    f'--config <dir>` on it; `retry` reads the open alerts {retry["retry_page"]:,} at a time (`RETRY_PAGE`). Peak RSS is '
    f'the process\'s `ru_maxrss` (getrusage of its parent once it has exited); wall time is spawn to exit; delivered '
    f'counts the lines of the file output. The empty ledger gives the binary\'s fixed floor, so each figure reads '
    f'"floor + what the pending alerts cost".',
]
if micro:
    lines += ['', '## Micro benchmarks (criterion, `cargo bench -p streamalert --features jemalloc`, mean)', '', '| id | time |', '|---|---|']
    lines += [f'| `{i}` | {t} |' for i, t in micro]

MARKER = '<!-- notes below are kept by scripts/bench.sh -->'
notes = ''
if os.path.exists(target_file):
    text = open(target_file).read()
    if MARKER in text:
        notes = text.split(MARKER, 1)[1]
lines += ['', MARKER]
open(target_file, 'w').write('\n'.join(lines) + (notes if notes else '\n'))
print(open(target_file).read())
PYTHON
