//! Asking a destination whether an interrupted delivery arrived.
//!
//! When the process stops between an output's success and the ledger's record of it, the
//! ledger still holds the attempt's intent (the [`Fingerprint`] of the publication as it was
//! sent). On the next pass the processor asks the output's probe, if it has one, whether those
//! bytes are at the destination (not the publication made again from the ledger's copy of the
//! alert, whose form may differ: `1.50` reads back as `1.5`): found means sent (recorded, not
//! resent); not found means send it. Outputs without a probe are sent again (at least once).

use crate::ledger::Fingerprint;
use crate::publisher::Publication;
use std::collections::BTreeSet;
use std::io::BufRead as _;

/// The fingerprint of a publication as outputs send it: its compact JSON text.
///
/// ```
/// use streamalert::{Publication, ledger::Fingerprint, processor::publication_fingerprint};
/// let mut p = Publication::new();
/// p.insert("id", "a");
/// assert_eq!(publication_fingerprint(&p), Fingerprint::of(br#"{"id":"a"}"#));
/// ```
pub fn publication_fingerprint(publication: &Publication) -> Fingerprint {
    match serde_json::to_vec(publication) {
        Ok(bytes) => Fingerprint::of(&bytes),
        // Serializing a JSON map cannot fail; the file output writes `{}` if it ever did.
        Err(_) => Fingerprint::of(b"{}"),
    }
}

/// The output instance a probe looks at.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct ProbeTarget<'a> {
    /// `service:descriptor`.
    pub output: &'a str,
    /// The descriptor's `outputs.json` setting (the `file` output's path).
    pub setting: Option<&'a str>,
}

impl<'a> ProbeTarget<'a> {
    /// A target.
    pub fn new(output: &'a str, setting: Option<&'a str>) -> Self {
        Self { output, setting }
    }
}

/// Tells which of some publications reached an output's destination.
#[async_trait::async_trait]
pub trait DeliveryProbe: Send + Sync + 'static {
    /// The subset of `fingerprints` found at the destination of `target`.
    async fn delivered(
        &self,
        target: ProbeTarget<'_>,
        fingerprints: &BTreeSet<Fingerprint>,
    ) -> Result<BTreeSet<Fingerprint>, String>;
}

/// The probe of the `file` output: scans the file for lines equal to the publications.
///
/// ```
/// use streamalert::ledger::Fingerprint;
/// use streamalert::processor::{DeliveryProbe, FileProbe, ProbeTarget};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("alerts.jsonl");
/// std::fs::write(&path, "{\"id\":1}\n{\"id\":2}\n").unwrap();
/// let wanted = [Fingerprint::of(b"{\"id\":2}"), Fingerprint::of(b"{\"id\":3}")].into();
/// let found = FileProbe.delivered(ProbeTarget::new("file:a", path.to_str()), &wanted).await.unwrap();
/// assert_eq!(found.into_iter().collect::<Vec<_>>(), [Fingerprint::of(b"{\"id\":2}")]);
/// # });
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct FileProbe;

#[async_trait::async_trait]
impl DeliveryProbe for FileProbe {
    async fn delivered(
        &self,
        target: ProbeTarget<'_>,
        fingerprints: &BTreeSet<Fingerprint>,
    ) -> Result<BTreeSet<Fingerprint>, String> {
        let Some(path) = target.setting.map(std::path::PathBuf::from) else {
            return Err(format!("no path configured for `{}`", target.output));
        };
        let wanted = fingerprints.clone();
        tokio::task::spawn_blocking(move || {
            let file = match std::fs::File::open(&path) {
                Ok(file) => file,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
                Err(e) => return Err(format!("{}: {e}", path.display())),
            };
            let mut found = BTreeSet::new();
            let mut reader = std::io::BufReader::new(file);
            let mut line = Vec::new();
            loop {
                line.clear();
                let read = reader
                    .read_until(b'\n', &mut line)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                if read == 0 {
                    break;
                }
                // Only complete lines count: a line without its newline was cut short.
                if line.last() == Some(&b'\n') {
                    let fingerprint = Fingerprint::of(&line[..line.len() - 1]);
                    if wanted.contains(&fingerprint) {
                        found.insert(fingerprint);
                    }
                }
            }
            Ok(found)
        })
        .await
        .map_err(|e| format!("probe task failed: {e}"))?
    }
}
