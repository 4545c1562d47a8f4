//! `process`'s input: standard input, or a file resumed where the ledger says the last run on it
//! stopped (its [`InputCheckpoint`]).

use crate::ledger::{Fingerprint, HEAD_BYTES, InputCheckpoint};
use std::io::{BufRead as _, Read, Seek as _};
use std::path::Path;

/// How many lines a chunk holds at most.
const CHUNK: usize = 512;

/// Where reading stands: the bytes and lines consumed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Position {
    /// Bytes consumed.
    pub(super) offset: u64,
    /// Lines consumed.
    pub(super) line: u64,
}

/// Input lines read on the reader thread: each line's number and text (or why it cannot be
/// read), where reading stands after them, and the fingerprint of the input's first bytes.
pub(super) struct Chunk {
    pub(super) lines: Vec<(u64, Result<String, String>)>,
    pub(super) end: Position,
    head_len: u64,
    head_hash: Fingerprint,
}

/// What identifies an input file between runs.
struct FileIdentity {
    /// The canonical path: the checkpoint's key.
    key: String,
    /// `device:inode`.
    file_id: String,
    /// The size when opened.
    size: u64,
}

/// An opened input.
pub(super) struct Input {
    /// What messages call it: the path as given, or `<stdin>`.
    pub(super) name: String,
    reader: Box<dyn Read + Send>,
    /// The file behind `reader`, until reading starts (to check and seek it).
    file: Option<std::fs::File>,
    identity: Option<FileIdentity>,
    /// Where reading starts.
    pub(super) start: Position,
    /// The input's first bytes already read (up to [`HEAD_BYTES`]).
    head: Vec<u8>,
}

impl Input {
    /// Opens `path` (`-`: standard input) at its start.
    pub(super) fn open(path: &Path) -> Result<Self, String> {
        if path == Path::new("-") {
            return Ok(Self {
                name: "<stdin>".to_owned(),
                reader: Box::new(std::io::stdin()),
                file: None,
                identity: None,
                start: Position::default(),
                head: Vec::new(),
            });
        }
        let cannot = |error: std::io::Error| format!("cannot read {}: {error}", path.display());
        let file = open_file(path)?;
        let metadata = file.metadata().map_err(cannot)?;
        // Only a regular file can be read again; a pipe or a device given by its path
        // (`/dev/stdin`, `<(…)`) is read as standard input is.
        let identity = if metadata.is_file() {
            let key = std::fs::canonicalize(path).map_err(cannot)?;
            Some(FileIdentity {
                key: key.display().to_string(),
                file_id: file_id(&metadata),
                size: metadata.len(),
            })
        } else {
            None
        };
        Ok(Self {
            name: path.display().to_string(),
            reader: Box::new(file.try_clone().map_err(cannot)?),
            file: Some(file),
            identity,
            start: Position::default(),
            head: Vec::new(),
        })
    }

    /// The key of a file input's checkpoint (its canonical path); `None` for standard input, a
    /// pipe or a device.
    pub(super) fn checkpoint_key(&self) -> Option<&str> {
        self.identity.as_ref().map(|identity| identity.key.as_str())
    }

    /// Moves to where `checkpoint` says the last run stopped, once the file is checked to be
    /// the one it read: the same device and inode, at least as long, and the same first bytes.
    pub(super) fn resume(&mut self, checkpoint: &InputCheckpoint) -> Result<(), String> {
        let (Some(file), Some(identity)) = (&mut self.file, &self.identity) else {
            return Ok(());
        };
        let name = &self.name;
        let refuse = |why: String| {
            format!(
                "{name} changed since a run read it up to byte {}, line {}: {why}; its records \
                 there are in the ledger already. Use --from-start to read the file from the \
                 beginning (its records are then alerted again)",
                checkpoint.offset, checkpoint.line
            )
        };
        if checkpoint.file_id != identity.file_id {
            return Err(refuse(format!(
                "it is another file now (device and inode {}, were {})",
                identity.file_id, checkpoint.file_id
            )));
        }
        if identity.size < checkpoint.offset {
            return Err(refuse(format!(
                "it is only {} bytes long now",
                identity.size
            )));
        }
        let mut head = Vec::new();
        file.by_ref()
            .take(checkpoint.head_len)
            .read_to_end(&mut head)
            .map_err(|e| format!("cannot read {name}: {e}"))?;
        if Fingerprint::of(&head) != checkpoint.head_hash {
            return Err(refuse(format!(
                "its first {} bytes differ",
                checkpoint.head_len
            )));
        }
        file.seek(std::io::SeekFrom::Start(checkpoint.offset))
            .map_err(|e| format!("cannot read {name}: {e}"))?;
        self.head = head;
        self.start = Position {
            offset: checkpoint.offset,
            line: checkpoint.line,
        };
        Ok(())
    }

    /// The checkpoint of a file input read up to the end of `chunk`; `None` for standard input,
    /// a pipe or a device.
    pub(super) fn checkpoint(&self, chunk: &Chunk) -> Option<InputCheckpoint> {
        self.identity.as_ref().map(|identity| InputCheckpoint {
            input: identity.key.clone(),
            file_id: identity.file_id.clone(),
            size: identity.size,
            head_len: chunk.head_len,
            head_hash: chunk.head_hash,
            offset: chunk.end.offset,
            line: chunk.end.line,
        })
    }

    /// Starts reading on a thread of its own, handing over chunks of lines through `tx`.
    pub(super) fn read_on_thread(
        &mut self,
        tx: tokio::sync::mpsc::Sender<Chunk>,
    ) -> std::io::Result<std::thread::JoinHandle<()>> {
        let reader = std::mem::replace(&mut self.reader, Box::new(std::io::empty()));
        // The reader is a clone of the file: it shares the position the check left.
        self.file = None;
        let (start, head) = (self.start, std::mem::take(&mut self.head));
        std::thread::Builder::new()
            .name("input-reader".into())
            .spawn(move || read_chunks(reader, start, head, &tx))
    }
}

/// Opens the file `path`; a directory is an error naming it.
pub(super) fn open_file(path: &Path) -> Result<std::fs::File, String> {
    if path.is_dir() {
        return Err(format!(
            "cannot read {}: it is a directory (expected a file of JSON lines, or `-`)",
            path.display()
        ));
    }
    std::fs::File::open(path).map_err(|error| format!("cannot read {}: {error}", path.display()))
}

/// `device:inode` of a file (empty where the platform has none).
fn file_id(metadata: &std::fs::Metadata) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        format!("{}:{}", metadata.dev(), metadata.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = metadata;
        String::new()
    }
}

/// Reads lines and hands them over in chunks: full chunks while input is plentiful, whatever
/// is there as soon as the reader would wait (so a slow pipe is never held back). `head` holds
/// the input's first bytes already read; it grows to [`HEAD_BYTES`] with what is read.
fn read_chunks(
    input: Box<dyn Read + Send>,
    start: Position,
    mut head: Vec<u8>,
    tx: &tokio::sync::mpsc::Sender<Chunk>,
) {
    let head_bytes = usize::try_from(HEAD_BYTES).unwrap_or(usize::MAX);
    let mut reader = std::io::BufReader::with_capacity(1 << 16, input);
    let mut lines = Vec::with_capacity(CHUNK);
    let mut position = start;
    let mut buffer = Vec::new();
    let send = |lines, position, head: &[u8]| {
        tx.blocking_send(Chunk {
            lines,
            end: position,
            head_len: head.len() as u64,
            head_hash: Fingerprint::of(head),
        })
        .is_ok()
    };
    loop {
        buffer.clear();
        match reader.read_until(b'\n', &mut buffer) {
            Ok(0) => break,
            Ok(read) => {
                position.offset += read as u64;
                position.line += 1;
                if head.len() < head_bytes {
                    let wanted = (head_bytes - head.len()).min(buffer.len());
                    head.extend_from_slice(&buffer[..wanted]);
                }
                while buffer.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                    buffer.pop();
                }
                let line = String::from_utf8(std::mem::take(&mut buffer))
                    .map_err(|_| "not valid UTF-8".to_owned());
                lines.push((position.line, line));
            }
            Err(error) => {
                lines.push((position.line + 1, Err(format!("cannot read: {error}"))));
                break;
            }
        }
        if lines.len() >= CHUNK || reader.buffer().is_empty() {
            let full = std::mem::replace(&mut lines, Vec::with_capacity(CHUNK));
            if !send(full, position, &head) {
                return;
            }
        }
    }
    if !lines.is_empty() {
        send(lines, position, &head);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    /// Every chunk `input` hands over, once its reader is done.
    fn read_all(input: &mut Input) -> Vec<Chunk> {
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        let reader = input.read_on_thread(tx).expect("reader thread");
        let mut chunks = Vec::new();
        while let Some(chunk) = rx.blocking_recv() {
            chunks.push(chunk);
        }
        reader.join().expect("reader");
        chunks
    }

    #[test]
    fn a_small_file_that_grew_resumes_and_its_head_grows_to_a_kib() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("in.jsonl");
        std::fs::write(&path, "a\nbb\n").expect("write");
        let mut input = Input::open(&path).expect("open");
        let chunks = read_all(&mut input);
        let first = input.checkpoint(&chunks[chunks.len() - 1]).expect("a file");
        assert_eq!((first.offset, first.line), (5, 2));
        assert_eq!(first.head_len, 5);
        assert_eq!(first.head_hash, Fingerprint::of(b"a\nbb\n"));

        let long = "x".repeat(2000);
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .expect("open");
        writeln!(file, "{long}").expect("append");
        let mut input = Input::open(&path).expect("open");
        input.resume(&first).expect("only appended to");
        assert_eq!(input.start, Position { offset: 5, line: 2 });
        let chunks = read_all(&mut input);
        assert_eq!(chunks[0].lines, vec![(3, Ok(long))]);
        let second = input.checkpoint(&chunks[chunks.len() - 1]).expect("a file");
        let text = std::fs::read(&path).expect("read");
        assert_eq!((second.offset, second.line), (text.len() as u64, 3));
        assert_eq!(second.head_len, HEAD_BYTES);
        assert_eq!(second.head_hash, Fingerprint::of(&text[..1024]));

        let mut input = Input::open(&path).expect("open");
        input.resume(&second).expect("unchanged");
        assert!(read_all(&mut input).is_empty(), "nothing left to read");
    }
}
