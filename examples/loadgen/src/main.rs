//! Load and cold-start benchmark of streamalert-rs (issues #9 and #14), run by `scripts/bench.sh`.
//!
//! `loadgen load` starts a local HTTP sink on 127.0.0.1 and, alternating round by round,
//! delivers alerts to it through StreamAlert's Python baseline and through the real processor
//! path (publish, dispatch, SQLite ledger) to `slack` and `pagerduty-v2`, then measures the
//! sink's ceiling with a raw client; then, rounds of the `aws-firehose` output batching
//! concurrent alerts into the sink's Firehose endpoint, and that endpoint's ceiling. `loadgen
//! cold-start` times a processor binary from `exec` to its first delivery against the
//! baseline's start-up and first send. `loadgen retry-memory` measures the peak RSS of
//! `quickstart retry` over ledgers of 0 (the floor) and of each given count of pending alerts
//! (issue #12). Each prints its figures on standard error and one JSON object on standard
//! output.
//!
//! ```text
//! cargo run --release -p loadgen -- load --python target/bench-venv/bin/python --count 3000
//! cargo run --release -p loadgen -- cold-start --quickstart target/release/quickstart --python …
//! cargo run --release -p loadgen -- retry-memory --quickstart target/release/quickstart \
//!     --counts 10000,100000,1000000
//! ```

mod baseline;
mod cold;
mod cpu;
mod firehose;
mod load;
mod retry;
mod sink;

use baseline::{Baseline, data_file};
use clap::{Args, Parser, Subcommand};
use load::Service;
use serde_json::{Value, json};
use sink::{Payload, Sink};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    about = "Load and cold-start benchmark of streamalert-rs against StreamAlert's Python baseline"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Alerts/s and latency of the processor, the baseline and the sink's ceiling.
    Load(LoadArgs),
    /// Exec to first delivery, and peak RSS then, of a processor binary and of the baseline.
    ColdStart(ColdArgs),
    /// Peak RSS of `quickstart retry` over ledgers of many pending alerts, and its floor.
    RetryMemory(RetryMemoryArgs),
    /// Runs a program and prints its peak RSS and wall time (used by `retry-memory`).
    #[command(hide = true)]
    PeakRss {
        /// The program.
        program: PathBuf,
        /// Its arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
}

/// Where the baseline is.
#[derive(Args)]
struct BaselineArgs {
    /// The Python interpreter with `requests` (a venv's); without it the baseline is skipped.
    #[arg(long)]
    python: Option<PathBuf>,
    /// StreamAlert's per-alert baseline script.
    #[arg(long, default_value_os_t = data_file("streamalert_baseline.py"))]
    baseline: PathBuf,
    /// The alert record (the same for both sides).
    #[arg(long, default_value_os_t = data_file("record.json"))]
    record: PathBuf,
}

impl BaselineArgs {
    fn baseline(&self) -> Option<Baseline> {
        self.python.as_ref().map(|python| Baseline {
            python: python.clone(),
            script: self.baseline.clone(),
            record: self.record.clone(),
        })
    }
}

#[derive(Args)]
struct LoadArgs {
    #[command(flatten)]
    baseline: BaselineArgs,
    /// Timed alerts per run and service: the baseline's, the sequential and the Firehose runs.
    #[arg(long, default_value_t = 3000)]
    count: usize,
    /// Timed alerts per concurrent run and service (with and without the ledger): at ~30,000
    /// alerts/s a run of `count` lasts ~0.1 s, too short for a stable rate or for the ledger's
    /// periodic work (the writer's batches, WAL checkpoints) to be counted in its share.
    #[arg(long, default_value_t = 20_000)]
    concurrent_count: usize,
    /// Untimed alerts before each sequential run.
    #[arg(long, default_value_t = 50)]
    warmup: usize,
    /// Rounds (each: baseline and rust, slack and pagerduty-v2, concurrent runs, ceiling), then
    /// as many Firehose rounds (the aws-firehose output, the Firehose ceiling).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Alerts in flight in the concurrent runs, and records per call of the Firehose ceiling.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Connections of the ceiling client.
    #[arg(long, default_value_t = 32)]
    ceiling_connections: usize,
    /// How long each ceiling measurement lasts, in seconds.
    #[arg(long, default_value_t = 3.0)]
    ceiling_secs: f64,
}

#[derive(Args)]
struct ColdArgs {
    #[command(flatten)]
    baseline: BaselineArgs,
    /// The processor binary (release build of examples/quickstart).
    #[arg(long)]
    quickstart: PathBuf,
    /// Its configuration directory.
    #[arg(long, default_value_os_t = quickstart_file("conf"))]
    config: PathBuf,
    /// JSON lines of records; the first is sent.
    #[arg(long, default_value_os_t = quickstart_file("data/records.jsonl"))]
    records: PathBuf,
    /// Measured starts of each side (after one untimed start each).
    #[arg(long, default_value_t = 5)]
    rounds: usize,
}

#[derive(Args)]
struct RetryMemoryArgs {
    /// The processor binary (release build of examples/quickstart).
    #[arg(long)]
    quickstart: PathBuf,
    /// The numbers of pending alerts, each in a ledger of its own.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000,1000000")]
    counts: Vec<usize>,
    /// The record of every alert.
    #[arg(long, default_value_os_t = data_file("record.json"))]
    record: PathBuf,
}

fn quickstart_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../quickstart")
        .join(name)
}

// The processor's allocator, as `streamalert::main!` gives a processor binary: the load bench
// measures what such a binary does, the sink (in this process) included.
streamalert::global_allocator!();

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Load(args) => run_load(&args),
        Command::ColdStart(args) => run_cold(&args),
        Command::RetryMemory(args) => run_retry_memory(&args),
        Command::PeakRss { program, args } => retry::peak_rss(&program, &args),
    };
    match result {
        Ok(figures) => {
            println!("{figures}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("loadgen: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The `load` command.
fn run_load(args: &LoadArgs) -> Result<Value, String> {
    let record = read_record(&args.baseline.record)?;
    let baseline = args.baseline.baseline();
    let versions = baseline.as_ref().map(Baseline::versions).transpose()?;
    let sink = Sink::start()?;
    let base_url = sink.base_url();
    // The runtime of `streamalert`'s commands (`cli::runtime`): four blocking threads, which
    // keep the SQLite work done there (ledger reads, closes) in a few of glibc's arenas.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(4)
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    let load_start = load_average()?;
    eprintln!(
        "sink on {base_url}; {} rounds of {} alerts per run and service; baseline: {}",
        args.rounds,
        args.count,
        versions
            .as_ref()
            .map_or("skipped (no --python)".to_owned(), |(p, r)| format!(
                "python {p}, requests {r}"
            ))
    );

    let mut per_service: Vec<ServiceFigures> = Service::ALL
        .iter()
        .map(|&service| ServiceFigures::new(service))
        .collect();
    let mut ceilings = Vec::new();
    for round in 1..=args.rounds {
        for figures in &mut per_service {
            let service = figures.service;
            let url = service.url(&base_url);
            if let Some(baseline) = &baseline {
                let rate = baseline.dispatch(service.name(), &url, args.count)?;
                eprintln!(
                    "round {round}: {:<12} baseline   {rate:>9.1} alerts/s",
                    service.name()
                );
                figures.baseline.push(rate);
            }
            for path in [load::Path::Recorded, load::Path::Unrecorded] {
                let before = sink.received();
                let (record, base_url) = (record.clone(), base_url.clone());
                let (warmup_count, count) = (args.warmup, args.count);
                let run = on_worker(&runtime, async move {
                    let dir = temp_dir()?;
                    let processor = load::processor(&base_url, dir.path(), 1, path).await?;
                    let warmup = load::alerts(service, &record, warmup_count);
                    let alerts = load::alerts(service, &record, count);
                    load::sequential(processor, path, warmup, alerts).await
                })?;
                check_received(&sink, before, args.warmup + args.count)?;
                let label = match path {
                    load::Path::Recorded => "rust",
                    load::Path::Unrecorded => "no ledger",
                };
                eprintln!(
                    "round {round}: {:<12} {label:<10} {:>9.1} alerts/s",
                    service.name(),
                    run.per_second()
                );
                match path {
                    load::Path::Recorded => {
                        figures.rust.push(run.per_second());
                        figures.latencies.extend(run.latencies);
                    }
                    load::Path::Unrecorded => {
                        figures.unrecorded.push(run.per_second());
                        figures.unrecorded_latencies.extend(run.latencies);
                    }
                }
            }
        }
        for figures in &mut per_service {
            let service = figures.service;
            for path in [load::Path::Recorded, load::Path::Unrecorded] {
                let before = sink.received();
                let (record, base_url) = (record.clone(), base_url.clone());
                let (concurrency, count) = (args.concurrency, args.concurrent_count);
                let run = on_worker(&runtime, async move {
                    let dir = temp_dir()?;
                    let processor =
                        load::processor(&base_url, dir.path(), concurrency, path).await?;
                    load::concurrent(processor, load::alerts(service, &record, count)).await
                })?;
                check_received(&sink, before, count)?;
                let rate = count as f64 / run.seconds;
                let label = match path {
                    load::Path::Recorded => format!("rust ×{}", args.concurrency),
                    load::Path::Unrecorded => format!("no ledger ×{}", args.concurrency),
                };
                eprintln!(
                    "round {round}: {:<12} {label:<14} {rate:>9.1} alerts/s; CPU per alert: {}",
                    service.name(),
                    cpu_line(&run.cpu_us, rate)
                );
                match path {
                    load::Path::Recorded => {
                        figures.concurrent.push(rate);
                        figures.concurrent_cpu.push(run.cpu_us);
                    }
                    load::Path::Unrecorded => {
                        figures.concurrent_unrecorded.push(rate);
                        figures.concurrent_unrecorded_cpu.push(run.cpu_us);
                    }
                }
            }
        }
        let ceiling = runtime.block_on(sink::ceiling(
            &base_url,
            &Payload::webhook(),
            args.ceiling_connections,
            Duration::from_secs_f64(args.ceiling_secs),
            u64::MAX,
        ))?;
        eprintln!(
            "round {round}: sink ceiling ({} connections) {:>9.1} requests/s",
            args.ceiling_connections,
            ceiling.per_second()
        );
        ceilings.push(ceiling.per_second());
    }
    // The peak RSS of the slack and pagerduty-v2 runs, before the AWS SDK is loaded.
    let peak_rss_kib = cold::vm_hwm_kib("/proc/self/status")?;
    let firehose = runtime
        .block_on(load::use_sink_for_aws(&base_url))
        .and_then(|()| firehose_rounds(args, &sink, &runtime, &record))?;
    let load_end = load_average()?;
    let peak_rss_with_firehose_kib = cold::vm_hwm_kib("/proc/self/status")?;

    let ceiling = median(&ceilings);
    let mut services = serde_json::Map::new();
    for figures in &per_service {
        let summary = figures.summary(ceiling);
        eprintln!("{}", figures.line(&summary, args.concurrency));
        services.insert(figures.service.name().to_owned(), summary);
    }
    eprintln!(
        "sink ceiling {ceiling:.0} requests/s; peak RSS {:.1} MiB; load {load_start} -> {load_end}",
        peak_rss_kib as f64 / 1024.0
    );
    Ok(json!({
        "count": args.count,
        "concurrent_count": args.concurrent_count,
        "warmup": args.warmup,
        "rounds": args.rounds,
        "concurrency": args.concurrency,
        "ceiling_connections": args.ceiling_connections,
        "cores": cores(),
        "load_start": load_start,
        "load_end": load_end,
        "python": versions.as_ref().map(|(p, _)| p),
        "requests": versions.as_ref().map(|(_, r)| r),
        "services": services,
        "ceiling_per_s": ceilings,
        "ceiling_median_per_s": ceiling,
        "peak_rss_kib": peak_rss_kib,
        "peak_rss_with_firehose_kib": peak_rss_with_firehose_kib,
        "firehose": firehose,
    }))
}

/// The `aws-firehose` rounds of the `load` command: the output at `concurrency` in flight
/// (records per second and per request, as the sink counted them), then the sink's Firehose
/// ceiling with batches of `concurrency` records.
fn firehose_rounds(
    args: &LoadArgs,
    sink: &Sink,
    runtime: &tokio::runtime::Runtime,
    record: &Value,
) -> Result<Value, String> {
    let base_url = sink.base_url();
    let payload = Payload::firehose_batch(&load::firehose_record(record), args.concurrency);
    let (mut rates, mut per_request, mut ceilings) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=args.rounds {
        let (requests, records) = (sink.received(), sink.records());
        let (run_record, run_url) = (record.clone(), base_url.clone());
        let (concurrency, count) = (args.concurrency, args.count);
        let seconds = on_worker(runtime, async move {
            let dir = temp_dir()?;
            let processor =
                load::processor(&run_url, dir.path(), concurrency, load::Path::Recorded).await?;
            let run = load::concurrent(processor, load::firehose_alerts(&run_record, count));
            Ok(run.await?.seconds)
        })?;
        let (requests, records) = (sink.received() - requests, sink.records() - records);
        if records != args.count as u64 {
            return Err(format!(
                "the sink accepted {records} Firehose records, {} expected",
                args.count
            ));
        }
        let rate = records as f64 / seconds;
        let batch = records as f64 / requests as f64;
        eprintln!(
            "round {round}: {:<12} rust ×{:<3}  {rate:>9.1} records/s, {batch:.1} records/request",
            load::FIREHOSE_OUTPUT,
            args.concurrency
        );
        rates.push(rate);
        per_request.push(batch);
        let ceiling = runtime.block_on(sink::ceiling(
            &base_url,
            &payload,
            args.ceiling_connections,
            Duration::from_secs_f64(args.ceiling_secs),
            u64::MAX,
        ))?;
        eprintln!(
            "round {round}: Firehose ceiling ({} connections, {} records/request) {:>9.1} records/s",
            args.ceiling_connections,
            args.concurrency,
            ceiling.records_per_second()
        );
        ceilings.push(ceiling.records_per_second());
    }
    let (rate, ceiling) = (median(&rates), median(&ceilings));
    eprintln!(
        "{}: concurrent (x{}) {rate:.0} records/s, {:.1} records/request, {:.1} % of the ceiling ({ceiling:.0} records/s)",
        load::FIREHOSE_OUTPUT,
        args.concurrency,
        median(&per_request),
        rate / ceiling * 100.0
    );
    Ok(json!({
        "output": load::FIREHOSE_OUTPUT,
        "per_s": rates,
        "median_per_s": rate,
        "records_per_request": per_request,
        "median_records_per_request": median(&per_request),
        "ceiling_per_s": ceilings,
        "ceiling_median_per_s": ceiling,
        "ceiling_records_per_request": args.concurrency,
        "of_ceiling": rate / ceiling,
    }))
}

/// The figures of one service across rounds.
struct ServiceFigures {
    service: Service,
    baseline: Vec<f64>,
    rust: Vec<f64>,
    concurrent: Vec<f64>,
    /// Concurrent runs without the ledger.
    concurrent_unrecorded: Vec<f64>,
    /// CPU per alert by thread name, of each concurrent run with and without the ledger.
    concurrent_cpu: Vec<BTreeMap<String, f64>>,
    concurrent_unrecorded_cpu: Vec<BTreeMap<String, f64>>,
    latencies: Vec<Duration>,
    /// Sequential runs without the ledger (`Processor::deliver`).
    unrecorded: Vec<f64>,
    unrecorded_latencies: Vec<Duration>,
}

impl ServiceFigures {
    fn new(service: Service) -> Self {
        Self {
            service,
            baseline: Vec::new(),
            rust: Vec::new(),
            concurrent: Vec::new(),
            concurrent_unrecorded: Vec::new(),
            concurrent_cpu: Vec::new(),
            concurrent_unrecorded_cpu: Vec::new(),
            latencies: Vec::new(),
            unrecorded: Vec::new(),
            unrecorded_latencies: Vec::new(),
        }
    }

    fn summary(&self, ceiling: f64) -> Value {
        let mut latencies = self.latencies.clone();
        latencies.sort_unstable();
        let mut unrecorded_latencies = self.unrecorded_latencies.clone();
        unrecorded_latencies.sort_unstable();
        let rust = median(&self.rust);
        let baseline = (!self.baseline.is_empty()).then(|| median(&self.baseline));
        let concurrent = median(&self.concurrent);
        let concurrent_unrecorded = median(&self.concurrent_unrecorded);
        json!({
            "baseline_per_s": self.baseline,
            "rust_per_s": self.rust,
            "concurrent_per_s": self.concurrent,
            "baseline_median_per_s": baseline,
            "rust_median_per_s": rust,
            "concurrent_median_per_s": concurrent,
            "ratio": baseline.map(|b| rust / b),
            "concurrent_ratio": baseline.map(|b| concurrent / b),
            "rust_of_ceiling": rust / ceiling,
            "concurrent_of_ceiling": concurrent / ceiling,
            "p50_us": percentile_us(&latencies, 50.0),
            "p99_us": percentile_us(&latencies, 99.0),
            "unrecorded_per_s": self.unrecorded,
            "unrecorded_median_per_s": median(&self.unrecorded),
            "unrecorded_p50_us": percentile_us(&unrecorded_latencies, 50.0),
            "unrecorded_p99_us": percentile_us(&unrecorded_latencies, 99.0),
            "concurrent_unrecorded_per_s": self.concurrent_unrecorded,
            "concurrent_unrecorded_median_per_s": concurrent_unrecorded,
            "ledger_amortised_us": amortised_us(concurrent, concurrent_unrecorded),
            "concurrent_cpu_us": cpu::median_by_name(&self.concurrent_cpu),
            "concurrent_unrecorded_cpu_us": cpu::median_by_name(&self.concurrent_unrecorded_cpu),
        })
    }

    fn line(&self, summary: &Value, concurrency: usize) -> String {
        let number = |key: &str| summary[key].as_f64().unwrap_or(f64::NAN);
        format!(
            "{}: sequential rust {:.0}/s, baseline {:.0}/s, ratio {:.1}x, {:.1} % of the ceiling, \
             p50 {:.0} us, p99 {:.0} us; without the ledger {:.0}/s, p50 {:.0} us, p99 {:.0} us; concurrent (x{concurrency}) {:.0}/s, ratio {:.1}x, {:.1} % of the ceiling; \
             without the ledger {:.0}/s (the ledger: {:.1} us per alert)",
            self.service.name(),
            number("rust_median_per_s"),
            number("baseline_median_per_s"),
            number("ratio"),
            number("rust_of_ceiling") * 100.0,
            number("p50_us"),
            number("p99_us"),
            number("unrecorded_median_per_s"),
            number("unrecorded_p50_us"),
            number("unrecorded_p99_us"),
            number("concurrent_median_per_s"),
            number("concurrent_ratio"),
            number("concurrent_of_ceiling") * 100.0,
            number("concurrent_unrecorded_median_per_s"),
            number("ledger_amortised_us"),
        )
    }
}

/// The `cold-start` command.
fn run_cold(args: &ColdArgs) -> Result<Value, String> {
    let records = std::fs::read_to_string(&args.records)
        .map_err(|e| format!("cannot read {}: {e}", args.records.display()))?;
    let record_line = records
        .lines()
        .next()
        .ok_or_else(|| format!("{} is empty", args.records.display()))?;
    // The quickstart runs in a temporary working directory: absolute paths only.
    let absolute = |path: &PathBuf| {
        std::fs::canonicalize(path).map_err(|e| format!("{}: {e}", path.display()))
    };
    let (quickstart, config) = (absolute(&args.quickstart)?, absolute(&args.config)?);
    let baseline = args.baseline.baseline();
    let sink = Sink::start()?;
    let url = Service::Slack.url(&sink.base_url());
    let load_start = load_average()?;
    // One untimed start of each first: the page cache then holds both programs.
    cold::quickstart(&quickstart, &config, record_line, temp_dir()?.path())?;
    if let Some(baseline) = &baseline {
        cold::baseline(baseline, &url)?;
    }
    let (mut first, mut restart, mut python) = (Vec::new(), Vec::new(), Vec::new());
    let mut floor = Vec::new();
    let show = |round: usize, what: &str, start: &cold::Start| {
        eprintln!(
            "round {round}: {what:<22} {:>8.2} ms, peak RSS {:>6.1} MiB",
            ms(start.elapsed),
            start.peak_rss_kib as f64 / 1024.0
        );
    };
    for round in 1..=args.rounds {
        if let Some(baseline) = &baseline {
            let start = cold::baseline(baseline, &url)?;
            show(round, "baseline", &start);
            python.push(start);
        }
        floor.push(ms(cold::floor()?));
        let workdir = temp_dir()?;
        let start = cold::quickstart(&quickstart, &config, record_line, workdir.path())?;
        show(round, "quickstart, new ledger", &start);
        first.push(start);
        let start = cold::quickstart(&quickstart, &config, record_line, workdir.path())?;
        show(round, "quickstart, restart", &start);
        restart.push(start);
    }
    let load_end = load_average()?;
    let summary = |starts: &[cold::Start]| {
        let times: Vec<f64> = starts.iter().map(|s| ms(s.elapsed)).collect();
        let rss: Vec<f64> = starts.iter().map(|s| s.peak_rss_kib as f64).collect();
        json!({
            "ms": times,
            "median_ms": (!times.is_empty()).then(|| median(&times)),
            "peak_rss_kib": rss,
            "median_peak_rss_kib": (!rss.is_empty()).then(|| median(&rss)),
        })
    };
    Ok(json!({
        "rounds": args.rounds,
        "cores": cores(),
        "load_start": load_start,
        "load_end": load_end,
        "rust_new_ledger": summary(&first),
        "rust_restart": summary(&restart),
        "baseline": summary(&python),
        "floor_ms": floor,
        "median_floor_ms": median(&floor),
    }))
}

/// The `retry-memory` command: the empty ledger first (the floor), then each count.
fn run_retry_memory(args: &RetryMemoryArgs) -> Result<Value, String> {
    let record = read_record(&args.record)?;
    let quickstart = std::fs::canonicalize(&args.quickstart)
        .map_err(|e| format!("{}: {e}", args.quickstart.display()))?;
    let load_start = load_average()?;
    let floor = retry::measure(&quickstart, 0, &record)?;
    eprintln!(
        "empty ledger: peak RSS {:.1} MiB, {:.2} s",
        floor.peak_rss_kib as f64 / 1024.0,
        floor.seconds
    );
    let mut runs = Vec::new();
    for &count in &args.counts {
        let run = retry::measure(&quickstart, count, &record)?;
        eprintln!(
            "{count} pending alerts: peak RSS {:.1} MiB (floor + {:.1} MiB), {:.1} s, {} delivered",
            run.peak_rss_kib as f64 / 1024.0,
            (run.peak_rss_kib as f64 - floor.peak_rss_kib as f64) / 1024.0,
            run.seconds,
            run.delivered
        );
        runs.push(run.to_json());
    }
    Ok(json!({
        "cores": cores(),
        "load_start": load_start,
        "load_end": load_average()?,
        "retry_page": streamalert::processor::RETRY_PAGE,
        "floor": floor.to_json(),
        "runs": runs,
    }))
}

/// The alert record at `path`.
fn read_record(path: &Path) -> Result<Value, String> {
    std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))
        .and_then(|text| {
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
        })
}

fn temp_dir() -> Result<tempfile::TempDir, String> {
    tempfile::tempdir().map_err(|e| format!("cannot create a temp dir: {e}"))
}

/// Fails unless the sink received exactly `expected` requests since `before`.
fn check_received(sink: &Sink, before: u64, expected: usize) -> Result<(), String> {
    let received = sink.received() - before;
    if received != expected as u64 {
        return Err(format!(
            "the sink received {received} requests, {expected} expected"
        ));
    }
    Ok(())
}

/// The three load averages of `/proc/loadavg`, e.g. `0.52 0.58 0.59`.
fn load_average() -> Result<String, String> {
    let text = std::fs::read_to_string("/proc/loadavg")
        .map_err(|e| format!("cannot read /proc/loadavg: {e}"))?;
    Ok(text
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" "))
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// The median of `values` (the mean of the middle two for an even count); NaN when empty.
fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// CPU per alert by thread name, and the cores that keeps busy at `rate` alerts per second:
/// `tokio-rt-worker 45.1 us, sink 7.9 us (1.06 cores busy)`.
fn cpu_line(cpu_us: &BTreeMap<String, f64>, rate: f64) -> String {
    let threads: Vec<String> = cpu_us
        .iter()
        .map(|(name, us)| format!("{name} {us:.1} us"))
        .collect();
    let busy = cpu_us.values().sum::<f64>() * rate / 1e6;
    format!("{} ({busy:.2} cores busy)", threads.join(", "))
}

/// What the ledger adds per alert, in microseconds, from the rates (alerts per second) of the
/// same run with and without it: `1/with - 1/without`.
fn amortised_us(with: f64, without: f64) -> f64 {
    (1.0 / with - 1.0 / without) * 1e6
}

/// The nearest-rank `p`th percentile of sorted `latencies`, in microseconds; NaN when empty.
fn percentile_us(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1e6
}

/// Runs `work` as a task of `runtime` (not on the calling thread, which would take every
/// wake-up as a hand-off between threads) and waits for it.
fn on_worker<T: Send + 'static>(
    runtime: &tokio::runtime::Runtime,
    work: impl std::future::Future<Output = Result<T, String>> + Send + 'static,
) -> Result<T, String> {
    runtime
        .block_on(runtime.spawn(work))
        .map_err(|e| format!("a load run panicked: {e}"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_percentiles() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
        let latencies: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        assert_eq!(percentile_us(&latencies, 50.0), 50.0);
        assert_eq!(percentile_us(&latencies, 99.0), 99.0);
        assert_eq!(percentile_us(&latencies[..1], 99.0), 1.0);
        assert!((amortised_us(2_000.0, 4_000.0) - 250.0).abs() < 1e-9);
        assert!(amortised_us(4_000.0, 2_000.0) < 0.0);
        let cpu = [
            ("sink".to_owned(), 8.0),
            ("tokio-rt-worker".to_owned(), 42.0),
        ]
        .into();
        assert_eq!(
            cpu_line(&cpu, 20_000.0),
            "sink 8.0 us, tokio-rt-worker 42.0 us (1.00 cores busy)"
        );
    }
}
