//! How far `process` has read an input file, recorded together with the alerts read from it.

use super::Fingerprint;
use std::fmt;

/// How many bytes from the start of an input identify its content: its first KiB.
pub const HEAD_BYTES: u64 = 1024;

/// Where reading an input file stopped, and what that file was.
///
/// [`Ledger::record_alerts_at`](super::Ledger::record_alerts_at) records it with the alerts
/// of the records up to [`offset`](Self::offset), so the next `process` of the same file
/// resumes after them: nothing read is lost (its alerts are recorded) and nothing is read
/// twice. The identity says whether the file is still the one that was read: the same file
/// (device and inode) and the same first bytes ([`head_hash`](Self::head_hash)), at least
/// [`offset`](Self::offset) bytes long. A file that only grew (lines appended) is the same
/// input.
///
/// ```
/// use streamalert::ledger::{Fingerprint, InputCheckpoint};
/// let checkpoint = InputCheckpoint {
///     input: "/var/log/records.jsonl".into(),
///     file_id: "2049:131".into(),
///     size: 4096,
///     head_len: 1024,
///     head_hash: Fingerprint::of(b"..."),
///     offset: 2048,
///     line: 20,
/// };
/// assert_eq!(checkpoint.to_string(), "/var/log/records.jsonl at byte 2048, line 21");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputCheckpoint {
    /// The input's canonical path: the checkpoint's key.
    pub input: String,
    /// The file's device and inode, `device:inode` (empty where the platform has none).
    pub file_id: String,
    /// The file's size when the run that recorded the checkpoint opened it.
    pub size: u64,
    /// How many bytes from the start [`head_hash`](Self::head_hash) covers: [`HEAD_BYTES`],
    /// or fewer when fewer had been read.
    pub head_len: u64,
    /// The fingerprint of the file's first [`head_len`](Self::head_len) bytes.
    pub head_hash: Fingerprint,
    /// The bytes consumed: the offset just after the last record read.
    pub offset: u64,
    /// The lines consumed.
    pub line: u64,
}

impl fmt::Display for InputCheckpoint {
    /// `FILE at byte N, line L`, where `L` is the line reading resumes at.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at byte {}, line {}",
            self.input,
            self.offset,
            self.line.saturating_add(1)
        )
    }
}
