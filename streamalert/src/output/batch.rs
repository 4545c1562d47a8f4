//! Batching of concurrent deliveries to one destination (Firehose `PutRecordBatch`, SQS
//! `SendMessageBatch`, CloudWatch Logs `PutLogEvents`, Splunk's HTTP Event Collector).
//!
//! The processor dispatches the outputs of a run concurrently, one [`Output::dispatch`] call
//! per delivery. A batching output hands its record to a [`Batcher`] and waits for *that
//! record's* result. The batcher sends what has queued for a destination in one call (up to the
//! service's limits) from a task of its own; records that arrive while a call is in flight go
//! into the next one ("group commit"): no timer, no added latency when a record is alone, and
//! batches grow with the load. Each record gets its own result, so a record the service
//! rejects fails alone: its delivery stays pending in the ledger while the others are recorded
//! as sent.
//!
//! [`Output::dispatch`]: crate::output::Output::dispatch

use crate::output::{DispatchError, ErrorKind};
use futures_util::FutureExt as _;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// The limits of one batch call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Records per call.
    pub max_records: usize,
    /// Sum of the records' sizes per call (as the sink measures them).
    pub max_bytes: usize,
}

/// Sends one batch of records to one destination.
///
/// ```
/// use streamalert::output::batch::{BatchLimits, BatchSink};
/// use streamalert::output::DispatchError;
///
/// /// Accepts every record.
/// struct Accept;
///
/// #[streamalert::async_trait]
/// impl BatchSink for Accept {
///     type Record = String;
///     fn limits(&self) -> BatchLimits { BatchLimits { max_records: 500, max_bytes: 4 << 20 } }
///     async fn send(&self, _destination: &str, records: &[String]) -> Vec<Result<(), DispatchError>> {
///         records.iter().map(|_| Ok(())).collect()
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait BatchSink: Send + Sync + 'static {
    /// One record as the service takes it.
    type Record: Send + 'static;

    /// The service's limits per call.
    fn limits(&self) -> BatchLimits;

    /// Sends `records` (never empty) to `destination` and returns one result per record, in
    /// order. A result list of another length fails the whole batch.
    async fn send(
        &self,
        destination: &str,
        records: &[Self::Record],
    ) -> Vec<Result<(), DispatchError>>;
}

struct Entry<R> {
    record: R,
    size: usize,
    done: oneshot::Sender<Result<(), DispatchError>>,
}

struct Queue<R> {
    entries: Vec<Entry<R>>,
    flushing: bool,
}

type Queues<R> = Arc<Mutex<HashMap<String, Queue<R>>>>;

/// Collects the records of concurrent deliveries per destination and sends them in batches.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use streamalert::output::batch::{BatchLimits, BatchSink, Batcher};
/// use streamalert::output::{DispatchError, ErrorKind};
///
/// /// Rejects records that are "bad", remembers the batches.
/// #[derive(Default)]
/// struct Picky(Mutex<Vec<Vec<String>>>);
///
/// #[streamalert::async_trait]
/// impl BatchSink for Picky {
///     type Record = String;
///     fn limits(&self) -> BatchLimits { BatchLimits { max_records: 10, max_bytes: 1000 } }
///     async fn send(&self, _: &str, records: &[String]) -> Vec<Result<(), DispatchError>> {
///         self.0.lock().unwrap().push(records.to_vec());
///         records.iter().map(|r| if r == "bad" {
///             Err(DispatchError::new(ErrorKind::Rejected, "bad record"))
///         } else { Ok(()) }).collect()
///     }
/// }
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let sink = Arc::new(Picky::default());
/// let batcher = Batcher::new(sink.clone());
/// let (a, b) = tokio::join!(
///     batcher.submit("queue", "good".to_owned(), 4),
///     batcher.submit("queue", "bad".to_owned(), 3),
/// );
/// assert!(a.is_ok());
/// assert!(b.is_err());
/// # });
/// ```
pub struct Batcher<S: BatchSink> {
    sink: Arc<S>,
    queues: Queues<S::Record>,
}

impl<S: BatchSink> std::fmt::Debug for Batcher<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher").finish_non_exhaustive()
    }
}

impl<S: BatchSink> Batcher<S> {
    /// A batcher sending through `sink`.
    pub fn new(sink: Arc<S>) -> Self {
        Self {
            sink,
            queues: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The sink.
    pub fn sink(&self) -> &Arc<S> {
        &self.sink
    }

    /// Queues `record` (of `size`, as the sink's limits count) for `destination` and waits for
    /// its result. A record larger than a whole batch fails at once.
    pub async fn submit(
        &self,
        destination: &str,
        record: S::Record,
        size: usize,
    ) -> Result<(), DispatchError> {
        let limits = self.sink.limits();
        if size > limits.max_bytes {
            return Err(DispatchError::new(
                ErrorKind::Rejected,
                format!(
                    "the record is {size} bytes, more than the {} a batch may hold",
                    limits.max_bytes
                ),
            ));
        }
        let (done, result) = oneshot::channel();
        let start_flusher = {
            let mut queues = lock(&self.queues);
            let queue = queues
                .entry(destination.to_owned())
                .or_insert_with(|| Queue {
                    entries: Vec::new(),
                    flushing: false,
                });
            queue.entries.push(Entry { record, size, done });
            !std::mem::replace(&mut queue.flushing, true)
        };
        if start_flusher {
            // The flusher runs as a task of its own, so a delivery that is cancelled (the
            // processor's dispatch timeout) never strands the records queued behind it.
            tokio::spawn(flush(
                self.sink.clone(),
                self.queues.clone(),
                destination.to_owned(),
            ));
        }
        result.await.unwrap_or_else(|_| {
            Err(DispatchError::new(
                ErrorKind::Unavailable,
                "the batch sender stopped before sending this record",
            ))
        })
    }
}

fn lock<R>(
    queues: &Mutex<HashMap<String, Queue<R>>>,
) -> std::sync::MutexGuard<'_, HashMap<String, Queue<R>>> {
    // A panic never happens while the lock is held (only pushes and drains), so a poisoned
    // lock still holds consistent queues.
    queues
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Sends the queue of `destination` batch by batch until it is empty.
async fn flush<S: BatchSink>(sink: Arc<S>, queues: Queues<S::Record>, destination: String) {
    // Let deliveries that are ready to run queue their records first.
    tokio::task::yield_now().await;
    let limits = sink.limits();
    loop {
        let batch: Vec<Entry<S::Record>> = {
            let mut all = lock(&queues);
            let Some(queue) = all.get_mut(&destination) else {
                return;
            };
            let mut count = 0;
            let mut bytes = 0;
            for entry in &queue.entries {
                if count == limits.max_records.max(1)
                    || (count > 0 && bytes + entry.size > limits.max_bytes)
                {
                    break;
                }
                count += 1;
                bytes += entry.size;
            }
            if count == 0 {
                queue.flushing = false;
                all.remove(&destination);
                return;
            }
            queue.entries.drain(..count).collect()
        };
        let (records, waiters): (Vec<_>, Vec<_>) =
            batch.into_iter().map(|e| (e.record, e.done)).unzip();
        let results = AssertUnwindSafe(sink.send(&destination, &records))
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| {
                let message = crate::text::panic_message(&*panic);
                vec![Err(DispatchError::new(ErrorKind::Panicked, message)); records.len()]
            });
        if results.len() == waiters.len() {
            for (waiter, result) in waiters.into_iter().zip(results) {
                let _ = waiter.send(result);
            }
        } else {
            let error = DispatchError::new(
                ErrorKind::InvalidResponse,
                format!(
                    "the batch of {} records got {} results",
                    waiters.len(),
                    results.len()
                ),
            );
            for waiter in waiters {
                let _ = waiter.send(Err(error.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::Notify;

    /// Records every batch; the first call waits for `release`; rejects records named "bad".
    #[derive(Default)]
    struct Gate {
        calls: Mutex<Vec<Vec<String>>>,
        entered: Notify,
        release: Notify,
    }

    #[async_trait::async_trait]
    impl BatchSink for Gate {
        type Record = String;
        fn limits(&self) -> BatchLimits {
            BatchLimits {
                max_records: 3,
                max_bytes: 100,
            }
        }
        async fn send(&self, _: &str, records: &[String]) -> Vec<Result<(), DispatchError>> {
            let first = {
                let mut calls = self.calls.lock().unwrap();
                calls.push(records.to_vec());
                calls.len() == 1
            };
            if first {
                self.entered.notify_one();
                self.release.notified().await;
            }
            records
                .iter()
                .map(|r| {
                    if r == "bad" {
                        Err(DispatchError::new(ErrorKind::Rejected, "bad"))
                    } else {
                        Ok(())
                    }
                })
                .collect()
        }
    }

    #[tokio::test]
    async fn records_queued_during_a_call_go_in_the_next_batches_within_the_limits() {
        let sink = Arc::new(Gate::default());
        let batcher = Arc::new(Batcher::new(sink.clone()));
        let first = tokio::spawn({
            let b = batcher.clone();
            async move { b.submit("d", "r0".into(), 1).await }
        });
        sink.entered.notified().await;
        // The first call is in flight: these five queue behind it.
        let mut later = Vec::new();
        for name in ["r1", "bad", "r3", "r4", "r5"] {
            let b = batcher.clone();
            later.push(tokio::spawn(
                async move { b.submit("d", name.into(), 1).await },
            ));
        }
        while lock(&batcher.queues)
            .get("d")
            .map_or(0, |q| q.entries.len())
            < 5
        {
            tokio::task::yield_now().await;
        }
        sink.release.notify_one();
        assert!(first.await.unwrap().is_ok());
        let results: Vec<bool> = futures_util::future::join_all(later)
            .await
            .into_iter()
            .map(|r| r.unwrap().is_ok())
            .collect();
        assert_eq!(results, [true, false, true, true, true]);
        let calls = sink.calls.lock().unwrap().clone();
        assert_eq!(
            calls,
            [vec!["r0"], vec!["r1", "bad", "r3"], vec!["r4", "r5"]]
        );
    }

    #[tokio::test]
    async fn byte_limit_splits_batches_and_oversized_records_fail_alone() {
        let sink = Arc::new(Gate::default());
        sink.release.notify_one(); // the first call does not wait
        let batcher = Batcher::new(sink.clone());
        let too_big = batcher.submit("d", "huge".into(), 101).await;
        assert_eq!(too_big.unwrap_err().kind(), ErrorKind::Rejected);
        let (a, b, c) = tokio::join!(
            batcher.submit("d", "a".into(), 60),
            batcher.submit("d", "b".into(), 60),
            batcher.submit("d", "c".into(), 40),
        );
        assert!(a.is_ok() && b.is_ok() && c.is_ok());
        let calls = sink.calls.lock().unwrap().clone();
        assert_eq!(calls, [vec!["a"], vec!["b", "c"]]);
    }

    /// A sink answering with the wrong number of results fails each record of the batch.
    struct Short;

    #[async_trait::async_trait]
    impl BatchSink for Short {
        type Record = u8;
        fn limits(&self) -> BatchLimits {
            BatchLimits {
                max_records: 10,
                max_bytes: 10,
            }
        }
        async fn send(&self, _: &str, _: &[u8]) -> Vec<Result<(), DispatchError>> {
            Vec::new()
        }
    }

    #[tokio::test]
    async fn a_result_list_of_the_wrong_length_fails_the_batch() {
        let batcher = Batcher::new(Arc::new(Short));
        let error = batcher.submit("d", 1, 1).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidResponse);
    }
}
