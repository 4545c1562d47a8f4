//! Test-only fault injection: crashes at exact points, for the crash-and-fault suite
//! (`tests/tests/crash_faults.rs`).
//!
//! `STREAMALERT_FAULT=POINT:N` (or `POINT:N:SERVICE`) makes the process abort itself (as a crash
//! does: no destructor runs, nothing more is written) the `N`-th time it reaches `POINT`:
//!
//! - `read`: `process` received a chunk of input lines, before evaluating or recording them;
//! - `after_record`: a batch of alerts (and its input checkpoint) is committed to the ledger,
//!   before any of its deliveries starts;
//! - `after_sent`: a delivery (to `SERVICE` only, when given) succeeded, before the ledger
//!   records it;
//! - `intake_apply`: the SQLite ledger is about to apply entries of its intake log (recorded
//!   alerts and outcomes, durable in the log and not yet in SQLite);
//! - `intake_switch`: the intake log is about to empty one of its two files for the next
//!   generation (when the other one is long, or on opening and closing the ledger).
//!
//! Nothing but the tests sets the variable; unset (or malformed) it does nothing.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable naming the fault.
const VARIABLE: &str = "STREAMALERT_FAULT";

/// Where a fault can be injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Point {
    /// `process` received a chunk of input lines.
    Read,
    /// A batch of alerts is committed to the ledger.
    AfterRecord,
    /// A delivery succeeded and is not recorded yet.
    AfterSent,
    /// Entries of the SQLite ledger's intake log are about to be applied.
    IntakeApply,
    /// The intake log is about to empty a file for its next generation.
    IntakeSwitch,
}

impl Point {
    fn parse(name: &str) -> Option<Self> {
        match name {
            "read" => Some(Self::Read),
            "after_record" => Some(Self::AfterRecord),
            "after_sent" => Some(Self::AfterSent),
            "intake_apply" => Some(Self::IntakeApply),
            "intake_switch" => Some(Self::IntakeSwitch),
            _ => None,
        }
    }
}

/// The fault the environment asks for.
struct Fault {
    point: Point,
    nth: u64,
    service: Option<String>,
    reached: AtomicU64,
}

fn fault() -> Option<&'static Fault> {
    static FAULT: OnceLock<Option<Fault>> = OnceLock::new();
    FAULT
        .get_or_init(|| {
            let value = std::env::var(VARIABLE).ok()?;
            let mut parts = value.splitn(3, ':');
            let point = Point::parse(parts.next()?)?;
            let nth = parts.next()?.parse().ok()?;
            Some(Fault {
                point,
                nth,
                service: parts.next().map(str::to_owned),
                reached: AtomicU64::new(0),
            })
        })
        .as_ref()
}

/// Aborts the process if this is the reach of `point` (by `service`) the fault names.
pub(crate) fn reached(point: Point, service: Option<&str>) {
    let Some(fault) = fault() else {
        return;
    };
    if fault.point != point || fault.service.as_deref().is_some_and(|s| Some(s) != service) {
        return;
    }
    if fault.reached.fetch_add(1, Ordering::SeqCst) + 1 == fault.nth {
        eprintln!("{VARIABLE}: aborting at {point:?} #{}", fault.nth);
        std::process::abort();
    }
}
