use crate::output::{Delivery, DispatchError, ErrorKind, Output, OutputProperty};
use std::io::Write as _;
use std::sync::{OnceLock, mpsc};
use tokio::sync::oneshot;

/// Prints each publication as one JSON line on standard output.
///
/// Configure it as a list of descriptors in `outputs.json` (`{"stdout": ["console"]}`); rules
/// then name `stdout:console`.
///
/// The lines are written by a thread of their own, in the order their deliveries asked, each
/// delivery waiting for its line to be written and flushed. So a pipe nobody reads holds up
/// only the deliveries to `stdout` (until `dispatch_timeout_secs` fails them; they stay
/// pending), never the others; and a line whose delivery stopped waiting is not written.
///
/// ```
/// use streamalert::{Output, outputs::Stdout};
/// assert_eq!(Stdout.properties()[0].name, "descriptor");
/// ```
#[derive(Debug, Default, Clone, Copy)]
#[crate::output(service = "stdout", builtin)]
pub struct Stdout;

#[async_trait::async_trait]
impl Output for Stdout {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![OutputProperty::descriptor(
            "a short and unique descriptor for this console output",
        )]
    }

    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError> {
        let error = |message: String| DispatchError::new(ErrorKind::Io, message);
        let (done, written) = oneshot::channel();
        writer()
            .map_err(|e| error(format!("cannot start the standard output writer: {e}")))?
            .send(Line {
                text: super::json_line(delivery.publication),
                done,
            })
            .map_err(|_| error("the standard output writer stopped".to_owned()))?;
        match written.await {
            Ok(result) => result.map_err(|e| error(format!("standard output: {e}"))),
            Err(_) => Err(error("the standard output writer stopped".to_owned())),
        }
    }
}

/// A line for the writer thread, and where to say it was written.
struct Line {
    text: String,
    done: oneshot::Sender<std::io::Result<()>>,
}

/// The queue of the writer thread, started on first use.
fn writer() -> Result<&'static mpsc::Sender<Line>, &'static str> {
    static QUEUE: OnceLock<Result<mpsc::Sender<Line>, String>> = OnceLock::new();
    QUEUE
        .get_or_init(|| {
            let (queue, lines) = mpsc::channel::<Line>();
            std::thread::Builder::new()
                .name("stdout-writer".into())
                .spawn(move || write_lines(&lines))
                .map(|_| queue)
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(String::as_str)
}

/// Writes and flushes each line whose delivery still waits for it, and says how it went.
fn write_lines(lines: &mpsc::Receiver<Line>) {
    for line in lines {
        if line.done.is_closed() {
            continue;
        }
        let mut out = std::io::stdout().lock();
        let result = out
            .write_all(line.text.as_bytes())
            .and_then(|()| out.flush());
        let _ = line.done.send(result);
    }
}
