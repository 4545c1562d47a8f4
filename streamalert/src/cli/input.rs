//! `process`'s input: standard input, or a file resumed where the ledger says the last run on it
//! stopped (its [`InputCheckpoint`]).

use crate::ledger::{Fingerprint, HEAD_BYTES, InputCheckpoint};
use std::io::{BufRead as _, Read, Seek as _};
use std::path::Path;

/// How many lines a chunk holds at most: each chunk's alerts are recorded in one transaction
/// with the input's checkpoint, and a chunk's alerts, their prepared copies and publications are
/// in memory together while it is recorded (each halving, 512 to 256 to 128 lines with the run's
/// queue, saved ~10 MiB in `loadgen load`).
const CHUNK: usize = 128;

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

    /// Starts reading on a thread of its own, handing over chunks of lines through `tx`; a
    /// line longer than `max_record_bytes` is handed over as an error, and skipped.
    pub(super) fn read_on_thread(
        &mut self,
        max_record_bytes: usize,
        tx: tokio::sync::mpsc::Sender<Chunk>,
    ) -> std::io::Result<std::thread::JoinHandle<()>> {
        let reader = std::mem::replace(&mut self.reader, Box::new(std::io::empty()));
        // The reader is a clone of the file: it shares the position the check left.
        self.file = None;
        let (start, head) = (self.start, std::mem::take(&mut self.head));
        std::thread::Builder::new()
            .name("input-reader".into())
            .spawn(move || read_chunks(reader, start, max_record_bytes, head, &tx))
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

/// One input line as read.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// Its bytes, without the line break.
    Kept(Vec<u8>),
    /// Longer than the limit: discarded as it was read. Its length without the `\n`.
    Skipped(u64),
}

/// Reads lines of at most `max` bytes (without the line break) from `input`, keeping no more
/// than `max` + 1 bytes of a line in memory: the rest of a longer line is read in pieces and
/// discarded. It keeps the input's first [`HEAD_BYTES`] in `head`, read or discarded alike.
struct LineReader<R> {
    input: std::io::BufReader<R>,
    max: usize,
    /// The line being read (taken when it is kept).
    line: Vec<u8>,
    head: Vec<u8>,
}

impl<R: Read> LineReader<R> {
    /// Reads `input` in pieces of 64 KiB; `head` holds the input's first bytes already read.
    fn new(input: R, max: usize, head: Vec<u8>) -> Self {
        Self {
            input: std::io::BufReader::with_capacity(1 << 16, input),
            max,
            line: Vec::new(),
            head,
        }
    }

    /// The next line and the bytes it took (with its line break); `None` at the end.
    fn next_line(&mut self) -> std::io::Result<Option<(Line, u64)>> {
        let head_bytes = usize::try_from(HEAD_BYTES).unwrap_or(usize::MAX);
        let (mut consumed, mut length, mut too_long) = (0u64, 0u64, false);
        self.line.clear();
        loop {
            let piece = match self.input.fill_buf() {
                Ok(piece) => piece,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            let (part, ended) = match piece.iter().position(|b| *b == b'\n') {
                Some(end) => (&piece[..=end], true),
                None => (piece, piece.is_empty()),
            };
            if self.head.len() < head_bytes {
                let wanted = (head_bytes - self.head.len()).min(part.len());
                self.head.extend_from_slice(&part[..wanted]);
            }
            let text = part.strip_suffix(b"\n").unwrap_or(part);
            // One byte more than `max` is kept: a `\r` before the `\n` is not the record's.
            if !too_long && self.line.len() + text.len() > self.max.saturating_add(1) {
                too_long = true;
                self.line.clear();
            }
            if !too_long {
                self.line.reserve_exact(text.len());
                self.line.extend_from_slice(text);
            }
            length += text.len() as u64;
            consumed += part.len() as u64;
            let used = part.len();
            self.input.consume(used);
            if ended {
                break;
            }
        }
        if consumed == 0 {
            return Ok(None);
        }
        while self.line.last().is_some_and(|b| *b == b'\r') {
            self.line.pop();
        }
        let line = if too_long || self.line.len() > self.max {
            self.line.clear();
            Line::Skipped(length)
        } else {
            Line::Kept(std::mem::take(&mut self.line))
        };
        Ok(Some((line, consumed)))
    }

    /// Whether what was read is all handed over (reading on would wait for input).
    fn drained(&self) -> bool {
        self.input.buffer().is_empty()
    }
}

/// Reads lines and hands them over in chunks: full chunks while input is plentiful, whatever
/// is there as soon as the reader would wait (so a slow pipe is never held back). A line longer
/// than `max` bytes is handed over as an error naming its length, and skipped. `head` holds
/// the input's first bytes already read; it grows to [`HEAD_BYTES`] with what is read.
fn read_chunks(
    input: Box<dyn Read + Send>,
    start: Position,
    max: usize,
    head: Vec<u8>,
    tx: &tokio::sync::mpsc::Sender<Chunk>,
) {
    let mut reader = LineReader::new(input, max, head);
    let mut lines = Vec::with_capacity(CHUNK);
    let mut position = start;
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
        match reader.next_line() {
            Ok(None) => break,
            Ok(Some((line, read))) => {
                position.offset += read;
                position.line += 1;
                let line = match line {
                    Line::Kept(bytes) => {
                        String::from_utf8(bytes).map_err(|_| "not valid UTF-8".to_owned())
                    }
                    Line::Skipped(length) => Err(format!(
                        "the line is {length} bytes long, more than max_record_bytes \
                         ({max}, processor.json); skipped"
                    )),
                };
                lines.push((position.line, line));
            }
            Err(error) => {
                lines.push((position.line + 1, Err(format!("cannot read: {error}"))));
                break;
            }
        }
        if lines.len() >= CHUNK || reader.drained() {
            let full = std::mem::replace(&mut lines, Vec::with_capacity(CHUNK));
            if !send(full, position, &reader.head) {
                return;
            }
        }
    }
    if !lines.is_empty() {
        send(lines, position, &reader.head);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    /// Every chunk `input` hands over, once its reader is done (lines of at most 1 MiB).
    fn read_all(input: &mut Input) -> Vec<Chunk> {
        read_all_of_at_most(input, 1 << 20)
    }

    /// Every chunk `input` hands over, once its reader is done (lines of at most `max` bytes).
    fn read_all_of_at_most(input: &mut Input, max: usize) -> Vec<Chunk> {
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        let reader = input.read_on_thread(max, tx).expect("reader thread");
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

    #[test]
    fn a_line_over_the_limit_is_skipped_and_one_at_it_kept() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("in.jsonl");
        std::fs::write(&path, "12345678\n123456789\nabcdefgh\r\n\nlast").expect("write");
        let mut input = Input::open(&path).expect("open");
        let chunks = read_all_of_at_most(&mut input, 8);
        let lines: Vec<_> = chunks
            .iter()
            .flat_map(|chunk| chunk.lines.clone())
            .collect();
        let skipped = "the line is 9 bytes long, more than max_record_bytes (8, processor.json); \
                       skipped";
        assert_eq!(
            lines,
            vec![
                (1, Ok("12345678".to_owned())),
                (2, Err(skipped.to_owned())),
                (3, Ok("abcdefgh".to_owned())),
                (4, Ok(String::new())),
                (5, Ok("last".to_owned())),
            ]
        );
        let end = input.checkpoint(&chunks[chunks.len() - 1]).expect("a file");
        assert_eq!((end.offset, end.line), (34, 5));
    }

    #[test]
    fn the_checkpoint_after_a_skipped_last_line_resumes_at_the_next_one() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("in.jsonl");
        let long = "y".repeat(5000);
        std::fs::write(&path, format!("ok\n{long}\n")).expect("write");
        let mut input = Input::open(&path).expect("open");
        let chunks = read_all_of_at_most(&mut input, 100);
        let last = &chunks[chunks.len() - 1];
        assert!(matches!(&last.lines[..], [.., (2, Err(e))] if e.contains("5000 bytes")));
        let first = input.checkpoint(last).expect("a file");
        assert_eq!((first.offset, first.line), (5004, 2));
        // The head is the file's first KiB, though most of it was discarded.
        assert_eq!(
            first.head_hash,
            Fingerprint::of(format!("ok\n{long}").as_bytes()[..1024].as_ref())
        );

        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .expect("open");
        writeln!(file, "next").expect("append");
        let mut input = Input::open(&path).expect("open");
        input.resume(&first).expect("only appended to");
        let chunks = read_all_of_at_most(&mut input, 100);
        assert_eq!(chunks[0].lines, vec![(3, Ok("next".to_owned()))]);
    }

    #[test]
    fn a_huge_line_is_discarded_in_pieces_never_held_whole() {
        let max = 1024;
        let huge = std::io::repeat(b'x').take(10 << 20);
        let input = huge
            .chain(&b"\r\nnext\n"[..])
            .chain(std::io::repeat(b'z').take(3000));
        let mut reader = LineReader::new(input, max, Vec::new());
        let (line, read) = reader.next_line().expect("read").expect("a line");
        assert_eq!(
            (line, read),
            (Line::Skipped((10 << 20) + 1), (10 << 20) + 2)
        );
        assert!(
            reader.line.capacity() <= max + 1,
            "the line buffer grew to {} bytes",
            reader.line.capacity()
        );
        assert_eq!(reader.head, vec![b'x'; 1024]);
        let next = reader.next_line().expect("read").expect("a line");
        assert_eq!(next, (Line::Kept(b"next".to_vec()), 5));
        // The last line has no line break, and is too long all the same.
        let last = reader.next_line().expect("read").expect("a line");
        assert_eq!(last, (Line::Skipped(3000), 3000));
        assert!(reader.line.capacity() <= max + 1);
        assert!(reader.next_line().expect("read").is_none());
    }
}
