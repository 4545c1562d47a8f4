//! The tokio runtime every command (and the `lambda` loop) runs on.

use std::future::Future;
use std::process::ExitCode;

/// The threads of tokio's blocking pool: SQLite ledger reads, `file` appends, delivery probes
/// and local credentials run there (tokio's default is 512).
///
/// The bound is what keeps a long `retry` under a fixed memory ceiling. glibc's malloc gives
/// each thread that allocates an arena of its own (up to eight per core), and the ledger's
/// pages read on one thread and freed on another fragment them: with the default pool a
/// `retry` over 50,000 pending alerts peaked 213 MiB above the binary's floor, twice the peak
/// over 10,000. With four threads the peak is the same for 10,000 and 50,000 (BENCHMARKS.md,
/// "Retry memory"), and no slower: the work on these threads is short, and SQLite serialises
/// its own.
pub(crate) const BLOCKING_THREADS: usize = 4;

/// Runs `work` as a task of a multi-threaded tokio runtime with [`BLOCKING_THREADS`] and waits
/// for it; fails (logged) when the runtime cannot start or `work` panics.
///
/// `work` runs on the runtime's workers, not on the calling thread: a future driven by
/// `block_on` from outside the runtime is woken through a hand-off between threads at every
/// step that waits for I/O or for another task (a third of the time of a delivery to a
/// loopback endpoint, one alert at a time; BENCHMARKS.md, "Issue 14, third sitting").
pub(crate) fn with_runtime(work: impl Future<Output = ExitCode> + Send + 'static) -> ExitCode {
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!("cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(runtime.spawn(work)) {
        Ok(code) => code,
        Err(error) => {
            tracing::error!("the command stopped: {error}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn the_blocking_pool_runs_at_most_blocking_threads_tasks_at_once() {
        let tasks = 3 * BLOCKING_THREADS;
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let finished = runtime().unwrap().block_on(async {
            let handles: Vec<_> = (0..tasks)
                .map(|_| {
                    let (running, most) = (running.clone(), most.clone());
                    tokio::task::spawn_blocking(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                })
                .collect();
            let mut finished = 0;
            for handle in handles {
                handle.await.unwrap();
                finished += 1;
            }
            finished
        });
        assert_eq!(finished, tasks, "every queued task runs");
        let most = most.load(Ordering::SeqCst);
        assert!(
            (1..=BLOCKING_THREADS).contains(&most),
            "{most} blocking tasks ran at once; the pool allows {BLOCKING_THREADS}"
        );
    }
}
