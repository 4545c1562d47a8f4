//! The built-in outputs. `file` and `stdout` need no account, so everything runs locally.

mod file;
mod stdout;

pub use file::File;
pub use stdout::Stdout;

use crate::publisher::Publication;

/// One JSON line of a publication: compact, UTF-8, newline-terminated.
fn json_line(publication: &Publication) -> String {
    let mut line = serde_json::to_string(&**publication).unwrap_or_else(|_| "{}".to_owned());
    line.push('\n');
    line
}
