//! Where a run's CPU goes: the time on a core of each of this process's threads, summed by
//! thread name (the processor's runtime workers, the sink, the ledger's writer), read from
//! `/proc/self/task/*/schedstat` (Linux, nanoseconds), and the whole process's CPU time.

use std::collections::BTreeMap;
use std::time::Duration;

/// CPU time by thread name of the threads alive when it was taken.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ThreadCpu(BTreeMap<String, Duration>);

impl ThreadCpu {
    /// The CPU time each thread of this process has had so far.
    pub(crate) fn now() -> Result<Self, String> {
        let tasks = std::fs::read_dir("/proc/self/task")
            .map_err(|e| format!("cannot list this process's threads: {e}"))?;
        let mut by_name = BTreeMap::new();
        for task in tasks.flatten() {
            // A thread that ended since the listing has nothing left to count.
            let (Ok(name), Ok(schedstat)) = (
                std::fs::read_to_string(task.path().join("comm")),
                std::fs::read_to_string(task.path().join("schedstat")),
            ) else {
                continue;
            };
            let on_cpu = on_cpu(&schedstat)
                .ok_or_else(|| format!("cannot read {}/schedstat", task.path().display()))?;
            *by_name.entry(name.trim().to_owned()).or_default() += on_cpu;
        }
        Ok(Self(by_name))
    }

    /// The CPU time each thread name had since `earlier`, in µs per alert of `alerts` (a
    /// thread that ended in between is not counted; one that started is counted whole).
    pub(crate) fn per_alert_since(&self, earlier: &Self, alerts: u64) -> BTreeMap<String, f64> {
        self.0
            .iter()
            .map(|(name, &now)| {
                let before = earlier.0.get(name).copied().unwrap_or_default();
                let spent = now.saturating_sub(before);
                (
                    name.clone(),
                    spent.as_secs_f64() * 1e6 / alerts.max(1) as f64,
                )
            })
            .filter(|(_, us)| *us > 0.0)
            .collect()
    }
}

/// The CPU time of the whole process so far, its ended threads included.
pub(crate) fn process_cpu() -> Result<Duration, String> {
    let spent = nix::time::ClockId::CLOCK_PROCESS_CPUTIME_ID
        .now()
        .map_err(|e| format!("cannot read this process's CPU time: {e}"))?;
    Ok(Duration::from(spent))
}

/// The first field of a `schedstat` line: nanoseconds spent on a CPU.
fn on_cpu(schedstat: &str) -> Option<Duration> {
    let nanos = schedstat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

/// The median of each thread name's figure over `runs` (a name missing from a run counts 0
/// there).
pub(crate) fn median_by_name(runs: &[BTreeMap<String, f64>]) -> BTreeMap<String, f64> {
    let names: std::collections::BTreeSet<&String> =
        runs.iter().flat_map(|run| run.keys()).collect();
    names
        .into_iter()
        .map(|name| {
            let figures: Vec<f64> = runs
                .iter()
                .map(|run| run.get(name).copied().unwrap_or(0.0))
                .collect();
            (name.clone(), crate::median(&figures))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedstat_gives_the_time_on_a_cpu() {
        assert_eq!(
            on_cpu("1490774 20 1\n"),
            Some(Duration::from_nanos(1_490_774))
        );
        assert_eq!(on_cpu(""), None);
        assert_eq!(on_cpu("x 1 2"), None);
    }

    #[test]
    fn a_busy_thread_of_this_process_is_counted_under_its_name() {
        let before = ThreadCpu::now().unwrap();
        let (spun, done) = std::sync::mpsc::channel();
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("cpu-test-spin".into())
            .spawn(move || {
                // Busy until its own count says 20 ms on a CPU, however it is scheduled.
                let own = || {
                    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
                    on_cpu(&text).unwrap()
                };
                let start = own();
                while own() - start < Duration::from_millis(20) {
                    std::hint::black_box(own());
                }
                spun.send(()).unwrap();
                // Alive while the test reads its figure.
                let _ = stopped.recv();
            })
            .unwrap();
        done.recv().unwrap();
        let per_alert = ThreadCpu::now().unwrap().per_alert_since(&before, 1000);
        stop.send(()).unwrap();
        // 20 ms (and a little more) over 1,000 alerts.
        let spin = per_alert["cpu-test-spin"];
        assert!((20.0..40.0).contains(&spin), "{per_alert:?}");
    }

    #[test]
    fn the_median_of_each_name_counts_a_missing_name_as_zero() {
        let run = |pairs: &[(&str, f64)]| {
            pairs
                .iter()
                .map(|&(name, us)| (name.to_owned(), us))
                .collect::<BTreeMap<_, _>>()
        };
        let runs = [
            run(&[("sink", 8.0), ("ledger-writer", 10.0)]),
            run(&[("sink", 9.0)]),
            run(&[("sink", 7.0), ("ledger-writer", 12.0)]),
        ];
        assert_eq!(
            median_by_name(&runs),
            run(&[("sink", 8.0), ("ledger-writer", 10.0)])
        );
    }
}
