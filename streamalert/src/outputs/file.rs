use crate::config::Synchronous;
use crate::output::{Delivery, DispatchError, ErrorKind, Output, OutputProperty};
use std::io::Write as _;
use std::path::PathBuf;

/// Appends each publication as one JSON line to a local file.
///
/// Configure it as a map from descriptor to path in `outputs.json`:
/// `{"file": {"alerts": "out/alerts.jsonl"}}`; rules then name `file:alerts`. Parent
/// directories are created. Each line is written with a single `write` to a file opened in
/// append mode, so concurrent deliveries never interleave within a line. Under the ledger's
/// `"synchronous": "full"` the line is flushed to disk (`fdatasync`, and the directory's entry
/// when the file is new) before the delivery counts as sent, so it survives a power loss as
/// the ledger's record of it does; under `normal` it survives the process being killed.
///
/// ```
/// use streamalert::{Alert, Output, Publication, output::Delivery, outputs::File};
/// # tokio_test();
/// # fn tokio_test() { tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let dir = std::env::temp_dir().join(format!("sa-doc-{}", std::process::id()));
/// let path = dir.join("alerts.jsonl");
/// let alert = Alert::new("r", serde_json::json!({}), ["file:alerts"]);
/// let mut publication = Publication::new();
/// publication.insert("id", alert.alert_id.clone());
/// let delivery = Delivery::new(&alert, "alerts", &publication).with_setting(path.to_str());
/// File.dispatch(&delivery).await.unwrap();
/// assert!(std::fs::read_to_string(&path).unwrap().contains(&alert.alert_id));
/// # std::fs::remove_dir_all(dir).unwrap();
/// # }) }
/// ```
#[derive(Debug, Default, Clone, Copy)]
#[crate::output(service = "file", builtin)]
pub struct File;

#[async_trait::async_trait]
impl Output for File {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![
            OutputProperty::descriptor("a short and unique descriptor for this file"),
            OutputProperty::new(
                "aws_value",
                "the path of the JSON lines file to append alerts to",
            )
            .forbidding(&[]),
        ]
    }

    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError> {
        let path = delivery.setting.map(PathBuf::from).ok_or_else(|| {
            DispatchError::new(
                ErrorKind::Config,
                format!(
                    "no path configured for `file:{}` in outputs.json",
                    delivery.descriptor
                ),
            )
        })?;
        let line = super::json_line(delivery.publication);
        let durable = delivery.synchronous == Synchronous::Full;
        tokio::task::spawn_blocking(move || append(&path, line.as_bytes(), durable))
            .await
            .map_err(|e| {
                DispatchError::new(ErrorKind::Io, format!("file writer task failed: {e}"))
            })?
    }
}

/// Appends `bytes` to `path`; `durable`: flushed to disk before returning (with the directory
/// entry of a file this call created).
fn append(path: &std::path::Path, bytes: &[u8], durable: bool) -> Result<(), DispatchError> {
    let io_error =
        |e: std::io::Error| DispatchError::new(ErrorKind::Io, format!("{}: {e}", path.display()));
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(parent) = parent {
        std::fs::create_dir_all(parent).map_err(io_error)?;
    }
    let existed = durable && path.exists();
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io_error)?;
    file.write_all(bytes).map_err(io_error)?;
    if durable {
        file.sync_data().map_err(io_error)?;
        if !existed {
            let directory = parent.unwrap_or_else(|| std::path::Path::new("."));
            std::fs::File::open(directory)
                .and_then(|directory| directory.sync_all())
                .map_err(io_error)?;
        }
    }
    Ok(())
}
