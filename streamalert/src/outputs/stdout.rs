use crate::output::{Delivery, DispatchError, ErrorKind, Output, OutputProperty};
use std::io::Write as _;

/// Prints each publication as one JSON line on standard output.
///
/// Configure it as a list of descriptors in `outputs.json` (`{"stdout": ["console"]}`); rules
/// then name `stdout:console`.
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
        let line = super::json_line(delivery.publication);
        let mut out = std::io::stdout().lock();
        out.write_all(line.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| DispatchError::new(ErrorKind::Io, format!("standard output: {e}")))
    }
}
