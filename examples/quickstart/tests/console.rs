//! The `console` command in a real browser: headless Chromium (the Debian package `chromium`,
//! which `.ci/run` installs) loads the overview, a list and an alert's page of a ledger this
//! test prepares, submits the page's replay form, and the ledger changes. Screenshots of the
//! three pages are written under `target/console-screenshots/`.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use streamalert::Alert;
use streamalert::config::LedgerSettings;
use streamalert::ledger::{AlertKey, DeliveryState, Ledger as _, NewAlert, Outcome, SqliteLedger};

/// A configuration directory whose ledger is `workdir/ledger.sqlite3`.
fn write_conf(workdir: &Path) {
    let conf = workdir.join("conf");
    std::fs::create_dir_all(&conf).expect("conf dir");
    std::fs::write(
        conf.join("outputs.json"),
        r#"{"file": {"alerts": "alerts.jsonl"}, "stdout": ["console"]}"#,
    )
    .expect("outputs.json");
    std::fs::write(
        conf.join("processor.json"),
        r#"{"ledger": {"path": "ledger.sqlite3"}}"#,
    )
    .expect("processor.json");
}

fn settings(workdir: &Path) -> LedgerSettings {
    LedgerSettings {
        path: workdir.join("ledger.sqlite3"),
        ..Default::default()
    }
}

/// Records two alerts: the first sent to file:alerts and dead on stdout:console, the second
/// failed on file:alerts. Returns their keys.
fn prepare_ledger(workdir: &Path) -> (AlertKey, AlertKey) {
    runtime().block_on(async {
        let ledger = SqliteLedger::open(&settings(workdir)).expect("ledger");
        let dead = Alert::new(
            "osquery_root_login",
            serde_json::json!({"username": "root", "host": "web-01"}),
            ["file:alerts", "stdout:console"],
        );
        let failed = Alert::new(
            "cloudtrail_root_account_usage",
            serde_json::json!({"eventName": "ConsoleLogin"}),
            ["file:alerts"],
        );
        let keys = (AlertKey::of(&dead), AlertKey::of(&failed));
        ledger
            .record_alerts(
                [dead, failed]
                    .into_iter()
                    .map(|alert| NewAlert {
                        alert: alert.into(),
                        intents: Default::default(),
                    })
                    .collect(),
            )
            .await
            .expect("recorded");
        for (key, output, outcome) in [
            (&keys.0, "file:alerts", Outcome::Sent),
            (
                &keys.0,
                "stdout:console",
                Outcome::Dead("standard output closed".into()),
            ),
            (&keys.1, "file:alerts", Outcome::Failed("disk full".into())),
        ] {
            ledger
                .record_outcome(key.clone(), output.into(), outcome)
                .await
                .expect("outcome");
        }
        keys
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn state_of(workdir: &Path, key: &AlertKey, output: &str) -> DeliveryState {
    runtime().block_on(async {
        let ledger = SqliteLedger::open(&settings(workdir)).expect("ledger");
        let entry = ledger.get(key.clone()).await.expect("read").expect("alert");
        entry.delivery(output).expect("delivery").state
    })
}

/// The running console, stopped when dropped.
struct Console {
    child: Child,
    url: String,
    /// The line that gave the URL.
    started: String,
    /// Its standard error after that line, read by a thread until it ends.
    log: Arc<Mutex<String>>,
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `quickstart console` with `args` in `workdir`; returns it once it logged its URL, or
/// its exit status and standard error when it stopped instead.
fn start_console(workdir: &Path, args: &[&str]) -> Result<Console, (Option<i32>, String)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_quickstart"))
        .current_dir(workdir)
        .arg("console")
        .args(args)
        .args(["--config", "conf"])
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the quickstart binary runs");
    let stderr = child.stderr.take().expect("stderr");
    let mut seen = String::new();
    let mut lines = BufReader::new(stderr).lines();
    let mut found = None;
    for line in lines.by_ref() {
        let line = line.expect("stderr line");
        seen.push_str(&line);
        seen.push('\n');
        if let Some(at) = line.find("console: http://") {
            let url = line[at + "console: ".len()..]
                .split_whitespace()
                .next()
                .expect("the URL")
                .to_owned();
            found = Some((url, line));
            break;
        }
    }
    let Some((url, started)) = found else {
        let status = child.wait().expect("exit status");
        return Err((status.code(), seen));
    };
    let log = Arc::new(Mutex::new(String::new()));
    let more = Arc::clone(&log);
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            let mut log = more.lock().expect("log");
            log.push_str(&line);
            log.push('\n');
        }
    });
    Ok(Console {
        child,
        url,
        started,
        log,
    })
}

/// Where the screenshots go: `target/console-screenshots` (this test runs from target/debug/deps).
fn screenshots_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let target = exe.ancestors().nth(3).expect("the target directory");
    let dir = target.join("console-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshots dir");
    dir
}

/// Runs headless Chromium on `url` with `args` (its own profile under `workdir`); returns
/// standard output.
fn chromium(workdir: &Path, args: &[&str], url: &str) -> String {
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-dev-shm-usage",
            "--window-size=1280,900",
        ])
        .arg(format!(
            "--user-data-dir={}",
            workdir.join("chromium-profile").display()
        ))
        .args(args)
        .arg(url)
        .output()
        .expect("chromium runs (apt-get install chromium)");
    assert!(
        out.status.success(),
        "chromium {args:?} {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The page's DOM as Chromium built it, and a screenshot of it named `name`.png.
fn load(workdir: &Path, url: &str, name: &str) -> String {
    let shot = screenshots_dir().join(format!("{name}.png"));
    let _ = std::fs::remove_file(&shot);
    chromium(workdir, &[&format!("--screenshot={}", shot.display())], url);
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(size > 1000, "screenshot {} ({size} bytes)", shot.display());
    chromium(workdir, &["--dump-dom"], url)
}

#[test]
fn a_browser_sees_the_ledger_and_replays_a_dead_delivery() {
    let dir = tempfile::tempdir().expect("tempdir");
    let workdir = dir.path();
    write_conf(workdir);
    let (dead, failed) = prepare_ledger(workdir);
    let console = start_console(workdir, &[]).expect("the console starts");
    assert!(
        console.url.starts_with("http://127.0.0.1:"),
        "{}",
        console.url
    );

    let overview = load(workdir, &console.url, "overview");
    assert!(overview.contains("<h1>Overview</h1>"), "{overview}");
    assert!(
        overview.contains("data-cell=\"stdout:console dead\""),
        "{overview}"
    );
    assert!(
        overview.contains("data-total=\"dead\"><b>1</b>"),
        "{overview}"
    );
    assert!(
        overview.contains("data-total=\"failed\"><b>1</b>"),
        "{overview}"
    );
    assert!(overview.contains("<svg class=\"chart\""), "{overview}");

    let list = load(
        workdir,
        &format!("{}deliveries?state=failed", console.url),
        "deliveries",
    );
    assert!(
        list.contains(&format!(
            "data-row=\"{} file:alerts failed\"",
            failed.alert_id
        )),
        "{list}"
    );
    assert_eq!(list.matches("<tr data-row=").count(), 1, "{list}");

    let alert_url = format!("{}alerts/{}", console.url, dead.alert_id);
    let alert = load(workdir, &alert_url, "alert");
    assert!(alert.contains("standard output closed"), "{alert}");
    assert!(alert.contains("osquery_root_login"), "{alert}");

    // Click the page's own replay button: its form, submitted by the browser.
    let start = alert
        .find("<form method=\"post\" action=\"/replay\"")
        .expect("a replay form");
    let form = &alert[start..start + alert[start..].find("</form>").expect("form end") + 7];
    let page = workdir.join("click.html");
    std::fs::write(
        &page,
        format!(
            "<!DOCTYPE html><html><body>{}<script>document.forms[0].submit()</script></body></html>",
            form.replace("action=\"/replay\"", &format!("action=\"{}replay\"", console.url))
        ),
    )
    .expect("click page");
    let after = chromium(
        workdir,
        &["--dump-dom", "--virtual-time-budget=10000"],
        &format!("file://{}", page.display()),
    );
    assert!(after.contains("replayed 1 deliveries"), "{after}");
    let log = console.log.lock().expect("log").clone();
    let logged = log
        .lines()
        .find(|line| line.contains("console: replay"))
        .unwrap_or_else(|| panic!("the replay is logged: {log}"));
    for part in [
        "operator=127.0.0.1:",
        "(loopback)",
        "at=20",
        &format!("alert_id=\"{}\"", dead.alert_id),
        "output=\"stdout:console\"",
        "changed=1",
    ] {
        assert!(logged.contains(part), "{part} in {logged}");
    }
    drop(console);
    assert_eq!(
        state_of(workdir, &dead, "stdout:console"),
        DeliveryState::Pending
    );
    assert_eq!(state_of(workdir, &dead, "file:alerts"), DeliveryState::Sent);
    assert_eq!(
        state_of(workdir, &failed, "file:alerts"),
        DeliveryState::Failed
    );
}

#[test]
fn a_non_loopback_address_needs_a_token_file_and_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let workdir = dir.path();
    write_conf(workdir);
    prepare_ledger(workdir);
    let Err((status, stderr)) = start_console(workdir, &["--listen", "0.0.0.0:0"]) else {
        panic!("the console started on 0.0.0.0 without a token");
    };
    assert_eq!(status, Some(1), "{stderr}");
    assert!(
        stderr.contains("--listen 0.0.0.0:0 is not a loopback address"),
        "{stderr}"
    );
    assert!(stderr.contains("--token-file"), "{stderr}");

    std::fs::write(workdir.join("token"), "a-long-random-token\n").expect("token");
    let console = start_console(
        workdir,
        &[
            "--listen",
            "0.0.0.0:0",
            "--token-file",
            "token",
            "--read-only",
        ],
    )
    .expect("the console starts with a token");
    assert!(
        console.url.starts_with("http://0.0.0.0:"),
        "{}",
        console.url
    );
    assert!(
        console
            .started
            .contains("every request must present the token of --token-file; read-only"),
        "{}",
        console.started
    );
}
