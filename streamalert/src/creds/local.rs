//! The `local` store: one sealed file per descriptor in a directory on this machine.

use super::{CredentialStore, StoreError};
use crate::config::LocalSettings;
use chacha20poly1305::aead::{Aead, Generate, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use secrecy::{ExposeSecret, SecretString};
use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use zeroize::{Zeroize as _, Zeroizing};

/// The first bytes of every sealed file: format name and version.
const MAGIC: &[u8; 8] = b"SACRED\x00\x01";
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const SUFFIX: &str = ".sealed";

/// The `local` credential store: one file per descriptor, `<dir>/<service>/<descriptor>.sealed`,
/// encrypted with XChaCha20-Poly1305.
///
/// The 256-bit key comes from the environment variable `STREAMALERT_CREDENTIALS_KEY` (64
/// hexadecimal digits) when it is set, else from the key file. The first save creates the key
/// file with mode 0600 (and the directories with mode 0700) from the operating system's random
/// source; a key file that other users may read or write is refused. A missing key is never
/// replaced while sealed files exist (a new key could not open them).
///
/// Each file is `SACRED\0\x01 || nonce (24 bytes, random per write) || ciphertext || tag`; the
/// service and descriptor are authenticated with it, so a file copied to another descriptor's
/// place does not decrypt. Writes go to a temporary file that is renamed into place, so a
/// reader never sees half a file. A wrong key or a modified file is an error, never garbage.
///
/// ```
/// use secrecy::ExposeSecret;
/// use streamalert::creds::{CredentialStore, LocalStore, encode_secret_json};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let store = LocalStore::new(dir.path().join("creds"), dir.path().join("creds.key"));
/// store.save("slack", "secops", &encode_secret_json([("url", "https://hooks.example/s3cr3t")])).await.unwrap();
/// let sealed = std::fs::read(dir.path().join("creds/slack/secops.sealed")).unwrap();
/// assert!(!sealed.windows(6).any(|w| w == b"s3cr3t"));
///
/// let other = LocalStore::new(dir.path().join("creds"), dir.path().join("other.key"))
///     .with_key_env("NO_SUCH_VARIABLE");
/// let err = other.load("slack", "secops").await.unwrap_err();
/// assert!(err.to_string().starts_with("the credential key is missing"), "{err}");
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct LocalStore {
    dir: PathBuf,
    key_file: PathBuf,
    key_env: String,
}

impl LocalStore {
    /// A store of the files in `dir`, keyed by `key_file` (or by `$STREAMALERT_CREDENTIALS_KEY`
    /// when set). Nothing is touched on disk until the first load or save.
    pub fn new(dir: impl Into<PathBuf>, key_file: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            key_file: key_file.into(),
            key_env: LocalSettings::DEFAULT_KEY_ENV.to_owned(),
        }
    }

    /// The store `settings` describe (the `local` section of the credential settings).
    ///
    /// ```
    /// use streamalert::{config::LocalSettings, creds::LocalStore};
    /// let store = LocalStore::from_settings(&LocalSettings::default());
    /// assert_eq!(store.key_file(), std::path::Path::new("streamalert-credentials/key"));
    /// ```
    pub fn from_settings(settings: &LocalSettings) -> Self {
        Self::new(settings.dir.clone(), settings.key_file()).with_key_env(settings.key_env.clone())
    }

    /// The same store, reading the key from environment variable `name` when it is set.
    pub fn with_key_env(self, name: impl Into<String>) -> Self {
        Self {
            key_env: name.into(),
            ..self
        }
    }

    /// The directory of the sealed files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key file.
    pub fn key_file(&self) -> &Path {
        &self.key_file
    }

    /// The file that holds (or would hold) the credentials of `service:descriptor`.
    ///
    /// Names are kept readable: characters other than ASCII letters, digits, `-` and `_` are
    /// written as `%XX` (so `..` or `/` in a descriptor can never leave the directory).
    ///
    /// ```
    /// use streamalert::creds::LocalStore;
    /// let store = LocalStore::new("creds", "creds/key");
    /// assert_eq!(store.path_of("slack", "sec-ops"), std::path::Path::new("creds/slack/sec-ops.sealed"));
    /// assert_eq!(store.path_of("slack", "../x"), std::path::Path::new("creds/slack/%2E%2E%2Fx.sealed"));
    /// ```
    pub fn path_of(&self, service: &str, descriptor: &str) -> PathBuf {
        self.dir
            .join(encode_name(service))
            .join(format!("{}{SUFFIX}", encode_name(descriptor)))
    }

    /// A warning when the key file is in use (the environment variable is not set), exists and
    /// sits inside a git work tree that does not ignore it: one `git add .` would commit the
    /// key. `None` otherwise, also when git is not installed.
    pub(crate) fn unignored_key_warning(&self) -> Option<String> {
        let from_env = std::env::var_os(&self.key_env).is_some_and(|v| !v.is_empty());
        (!from_env && self.key_file.is_file() && unignored_by_git(&self.key_file)).then(|| {
            format!(
                "warning: the credential key file {} is inside a git work tree that does not \
                 ignore it; add it (or its directory) to .gitignore so that it is never committed",
                self.key_file.display()
            )
        })
    }

    /// The key: from the environment variable if set, else from the key file. With `create`,
    /// a missing key file is created when no sealed file exists yet.
    fn key(&self, create: bool) -> Result<Zeroizing<[u8; 32]>, StoreError> {
        if let Some(value) = std::env::var_os(&self.key_env).filter(|v| !v.is_empty()) {
            let value = Zeroizing::new(value.into_string().unwrap_or_default());
            return parse_key(&value).ok_or_else(|| StoreError::KeyInvalid {
                source_name: format!("the environment variable {}", self.key_env),
            });
        }
        match self.read_key_file()? {
            Some(key) => Ok(key),
            None if create && !self.has_sealed_files()? => self.create_key_file(),
            None => Err(StoreError::KeyMissing {
                path: self.key_file.clone(),
                env: self.key_env.clone(),
                dir: self.dir.clone(),
            }),
        }
    }

    fn read_key_file(&self) -> Result<Option<Zeroizing<[u8; 32]>>, StoreError> {
        let path = &self.key_file;
        let mut file = match fs::File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::io("cannot open the key file", path, e)),
        };
        let metadata = file
            .metadata()
            .map_err(|e| StoreError::io("cannot inspect the key file", path, e))?;
        check_private(path, &metadata)?;
        let mut text = Zeroizing::new(String::new());
        // The key file is 65 bytes; read a little more to detect a foreign file.
        Read::take(&mut file, 256)
            .read_to_string(&mut text)
            .map_err(|e| StoreError::io("cannot read the key file", path, e))?;
        parse_key(&text)
            .map(Some)
            .ok_or_else(|| StoreError::KeyInvalid {
                source_name: format!("the key file {}", path.display()),
            })
    }

    fn create_key_file(&self) -> Result<Zeroizing<[u8; 32]>, StoreError> {
        let path = &self.key_file;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            create_private_dir(parent)?;
        }
        let mut key = chacha20poly1305::Key::try_generate().map_err(|e| StoreError::Io {
            action: "cannot generate a key for",
            path: path.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
        let mut text = Zeroizing::new(String::with_capacity(65));
        for byte in key.iter() {
            text.push(hex_digit(byte >> 4));
            text.push(hex_digit(byte & 0xf));
        }
        text.push('\n');
        let mut bytes = Zeroizing::new([0u8; 32]);
        bytes.copy_from_slice(&key);
        key.as_mut_slice().zeroize();
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(path) {
            Ok(mut file) => {
                if let Err(e) = file
                    .write_all(text.as_bytes())
                    .and_then(|()| file.sync_all())
                {
                    // A partial key file would be refused as invalid later: remove it.
                    let _ = fs::remove_file(path);
                    return Err(StoreError::io("cannot write the key file", path, e));
                }
                tracing::info!(key_file = %path.display(), "created the credential key file (mode 0600)");
                Ok(bytes)
            }
            // Another process created it meanwhile: use that one.
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                self.read_key_file()?.ok_or_else(|| StoreError::KeyMissing {
                    path: path.clone(),
                    env: self.key_env.clone(),
                    dir: self.dir.clone(),
                })
            }
            Err(e) => Err(StoreError::io("cannot create the key file", path, e)),
        }
    }

    /// True when the directory holds at least one sealed file.
    fn has_sealed_files(&self) -> Result<bool, StoreError> {
        let services = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(StoreError::io("cannot list", &self.dir, e)),
        };
        for service in services.flatten() {
            if !service.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let Ok(files) = fs::read_dir(service.path()) else {
                continue;
            };
            if files
                .flatten()
                .any(|f| f.file_name().to_string_lossy().ends_with(SUFFIX))
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn aad(service: &str, descriptor: &str) -> Vec<u8> {
        let mut aad = Vec::with_capacity(MAGIC.len() + service.len() + descriptor.len() + 1);
        aad.extend_from_slice(MAGIC);
        aad.extend_from_slice(service.as_bytes());
        aad.push(0);
        aad.extend_from_slice(descriptor.as_bytes());
        aad
    }

    fn load_blocking(
        &self,
        service: &str,
        descriptor: &str,
    ) -> Result<Option<SecretString>, StoreError> {
        let path = self.path_of(service, descriptor);
        let sealed = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::io("cannot read", &path, e)),
        };
        let output = format!("{service}:{descriptor}");
        let corrupt = |why: &str| StoreError::Corrupt {
            output: output.clone(),
            location: path.display().to_string(),
            why: why.to_owned(),
        };
        if sealed.len() < MAGIC.len() || &sealed[..MAGIC.len()] != MAGIC {
            return Err(corrupt("not a sealed streamalert credentials file"));
        }
        if sealed.len() < MAGIC.len() + NONCE_LEN + TAG_LEN {
            return Err(corrupt("the file is truncated"));
        }
        let key = self.key(false)?;
        let cipher = cipher(&key)?;
        let (nonce, ciphertext) = sealed[MAGIC.len()..].split_at(NONCE_LEN);
        let nonce = XNonce::try_from(nonce).map_err(|_| corrupt("the file is truncated"))?;
        let plaintext = Zeroizing::new(
            cipher
                .decrypt(
                    &nonce,
                    Payload {
                        msg: ciphertext,
                        aad: &Self::aad(service, descriptor),
                    },
                )
                .map_err(|_| StoreError::Decrypt {
                    output: output.clone(),
                    location: path.display().to_string(),
                })?,
        );
        let text = std::str::from_utf8(&plaintext).map_err(|_| corrupt("not UTF-8 text"))?;
        Ok(Some(SecretString::from(text)))
    }

    fn save_blocking(
        &self,
        service: &str,
        descriptor: &str,
        plaintext: &SecretString,
    ) -> Result<(), StoreError> {
        let key = self.key(true)?;
        let cipher = cipher(&key)?;
        let path = self.path_of(service, descriptor);
        let nonce = XNonce::try_generate().map_err(|e| StoreError::Io {
            action: "cannot generate a nonce for",
            path: path.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
        let ciphertext = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.expose_secret().as_bytes(),
                    aad: &Self::aad(service, descriptor),
                },
            )
            .map_err(|_| StoreError::Corrupt {
                output: format!("{service}:{descriptor}"),
                location: path.display().to_string(),
                why: "the credentials are too large to encrypt".into(),
            })?;
        let mut sealed = Vec::with_capacity(MAGIC.len() + NONCE_LEN + ciphertext.len());
        sealed.extend_from_slice(MAGIC);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);

        create_private_dir(&self.dir)?;
        let parent = path.parent().unwrap_or(&self.dir);
        create_private_dir(parent)?;
        crate::atomic_write::write_atomically(&path, &sealed, 0o600)
            .map_err(|e| StoreError::io("cannot write", &path, e))
    }

    fn delete_blocking(&self, service: &str, descriptor: &str) -> Result<(), StoreError> {
        let path = self.path_of(service, descriptor);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io("cannot delete", &path, e)),
        }
    }
}

#[async_trait::async_trait]
impl CredentialStore for LocalStore {
    fn describe(&self) -> String {
        format!("local store {}", self.dir.display())
    }

    async fn load(
        &self,
        service: &str,
        descriptor: &str,
    ) -> Result<Option<SecretString>, StoreError> {
        let (store, service, descriptor) =
            (self.clone(), service.to_owned(), descriptor.to_owned());
        blocking(move || store.load_blocking(&service, &descriptor)).await
    }

    async fn save(
        &self,
        service: &str,
        descriptor: &str,
        plaintext: &SecretString,
    ) -> Result<(), StoreError> {
        let (store, service, descriptor) =
            (self.clone(), service.to_owned(), descriptor.to_owned());
        let plaintext = plaintext.clone();
        blocking(move || store.save_blocking(&service, &descriptor, &plaintext)).await
    }

    async fn delete(&self, service: &str, descriptor: &str) -> Result<(), StoreError> {
        let (store, service, descriptor) =
            (self.clone(), service.to_owned(), descriptor.to_owned());
        blocking(move || store.delete_blocking(&service, &descriptor)).await
    }
}

/// Runs file work on tokio's blocking threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| {
        Err(StoreError::Io {
            action: "the credential file task failed for",
            path: PathBuf::new(),
            source: std::io::Error::other(e.to_string()),
        })
    })
}

/// The AEAD keyed with `key` (built from the slice: no copy of the key is left behind). A
/// 32-byte key is always accepted; the error exists only because the API takes any slice.
fn cipher(key: &[u8; 32]) -> Result<XChaCha20Poly1305, StoreError> {
    XChaCha20Poly1305::new_from_slice(key).map_err(|_| StoreError::KeyInvalid {
        source_name: "memory".into(),
    })
}

/// Creates `dir` (and its parents) with mode 0700 when missing.
fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| StoreError::io("cannot create the directory", dir, e))
}

/// Whether `git check-ignore` (run in the directory of `path`) says that `path` is in a work tree
/// and not ignored; false when git is missing or fails, or `path` is outside a work tree.
fn unignored_by_git(path: &Path) -> bool {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return false;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    std::process::Command::new("git")
        .args(["check-ignore", "-q", "--"])
        .arg(name)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        // 0: ignored, 1: not ignored, 128: not a work tree (or another fatal error).
        .is_ok_and(|status| status.code() == Some(1))
}

/// Refuses a key file that group or others may read or write.
#[cfg(unix)]
fn check_private(path: &Path, metadata: &fs::Metadata) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = metadata.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(StoreError::KeyPermissions {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_: &Path, _: &fs::Metadata) -> Result<(), StoreError> {
    Ok(())
}

/// 64 hexadecimal digits (surrounding whitespace ignored) into a key.
fn parse_key(text: &str) -> Option<Zeroizing<[u8; 32]>> {
    let digits = text.trim().as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let mut key = Zeroizing::new([0u8; 32]);
    for (i, pair) in digits.chunks_exact(2).enumerate() {
        key[i] = (hex_value(pair[0])? << 4) | hex_value(pair[1])?;
    }
    Some(key)
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

fn hex_digit(value: u8) -> char {
    char::from(b"0123456789abcdef"[usize::from(value & 0xf)])
}

/// A file-name-safe form of a service or descriptor: `%XX` for every byte other than ASCII
/// letters, digits, `-` and `_`.
fn encode_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_' {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(hex_digit(byte >> 4).to_ascii_uppercase());
            out.push(hex_digit(byte & 0xf).to_ascii_uppercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_only_as_64_hex_digits() {
        let key = parse_key(&format!("{}\n", "0f".repeat(32))).unwrap();
        assert!(key.iter().all(|b| *b == 0x0f));
        assert!(parse_key(&"0f".repeat(31)).is_none());
        assert!(parse_key(&"zz".repeat(32)).is_none());
        let mixed = parse_key(&"aF".repeat(32)).unwrap();
        assert!(mixed.iter().all(|b| *b == 0xaf), "either case");
    }

    fn git_repo() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("git")
            .args(["init", "-q"])
            .current_dir(dir.path())
            .status()
            .unwrap();
        assert!(status.success());
        dir
    }

    #[tokio::test]
    async fn warns_about_a_key_file_that_git_would_commit() {
        let repo = git_repo();
        let creds = repo.path().join("streamalert-credentials");
        let store =
            LocalStore::new(&creds, creds.join("key")).with_key_env("STREAMALERT_TEST_NO_SUCH_KEY");
        assert_eq!(store.unignored_key_warning(), None, "no key file yet");
        store
            .save("slack", "secops", &SecretString::from("{}"))
            .await
            .unwrap();
        let warning = store.unignored_key_warning().expect("a warning");
        assert!(
            warning.contains(&creds.join("key").display().to_string()),
            "{warning}"
        );
        assert!(warning.contains(".gitignore"), "{warning}");

        // A key from the environment (any variable that is set: here PATH) is not the file's.
        let from_env = LocalStore::new(&creds, creds.join("key")).with_key_env("PATH");
        assert_eq!(
            from_env.unignored_key_warning(),
            None,
            "the key comes from PATH"
        );

        fs::write(repo.path().join(".gitignore"), "streamalert-credentials/\n").unwrap();
        assert_eq!(store.unignored_key_warning(), None);
    }

    #[tokio::test]
    async fn a_key_file_that_cannot_be_opened_is_an_error_not_a_missing_key() {
        let dir = tempfile::tempdir().unwrap();
        LocalStore::new(dir.path().join("c"), dir.path().join("key"))
            .with_key_env("STREAMALERT_TEST_NO_SUCH_KEY")
            .save("slack", "secops", &SecretString::from("{}"))
            .await
            .unwrap();
        // `blocker` is a file: opening `blocker/key` fails with "not a directory".
        fs::write(dir.path().join("blocker"), "a file").unwrap();
        let store = LocalStore::new(dir.path().join("c"), dir.path().join("blocker/key"))
            .with_key_env("STREAMALERT_TEST_NO_SUCH_KEY");
        let error = store.load("slack", "secops").await.unwrap_err();
        assert!(
            error.to_string().starts_with("cannot open the key file"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn says_nothing_outside_a_git_work_tree() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path().join("c"), dir.path().join("c/key"))
            .with_key_env("STREAMALERT_TEST_NO_SUCH_KEY");
        store
            .save("slack", "secops", &SecretString::from("{}"))
            .await
            .unwrap();
        assert_eq!(store.unignored_key_warning(), None);
    }

    #[test]
    fn the_repository_ignores_what_the_readme_walk_through_writes() {
        let rules = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../.gitignore"))
            .expect("the workspace's .gitignore");
        let repo = git_repo();
        fs::write(repo.path().join(".gitignore"), rules).unwrap();
        for path in [
            "streamalert-credentials/key",
            "streamalert-credentials/slack/secops.sealed",
            "streamalert-ledger.sqlite3",
            "streamalert-ledger.sqlite3-wal",
            "streamalert-ledger.sqlite3-shm",
        ] {
            let status = std::process::Command::new("git")
                .args(["check-ignore", "-q", path])
                .current_dir(repo.path())
                .status()
                .unwrap();
            assert!(status.success(), "{path} is not ignored");
        }
    }

    fn store_in(dir: &Path) -> LocalStore {
        LocalStore::new(dir.join("c"), dir.join("key")).with_key_env("STREAMALERT_TEST_NO_SUCH_KEY")
    }

    #[tokio::test]
    async fn a_key_file_created_meanwhile_by_another_process_is_used() {
        let dir = tempfile::tempdir().unwrap();
        let first = store_in(dir.path());
        first
            .save("slack", "secops", &SecretString::from("{}"))
            .await
            .unwrap();
        // A second processor that saw no key file goes on to create one: it finds the first's.
        let second = store_in(dir.path());
        let key = second.create_key_file().expect("the key created meanwhile");
        assert_eq!(*key, *first.key(false).unwrap());
        assert_eq!(
            second
                .load("slack", "secops")
                .await
                .unwrap()
                .unwrap()
                .expose_secret(),
            "{}"
        );
    }

    #[test]
    fn a_key_file_that_cannot_be_created_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("k".repeat(300)); // longer than a file name may be
        let store = LocalStore::new(dir.path().join("c"), &key_file);
        let error = store.create_key_file().unwrap_err().to_string();
        assert!(error.starts_with("cannot create the key file"), "{error}");
        assert!(error.contains(&key_file.display().to_string()), "{error}");
    }

    #[test]
    fn a_store_path_that_is_not_a_directory_is_an_error_not_an_empty_store() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("c"), "a file").unwrap();
        let error = store_in(dir.path()).has_sealed_files().unwrap_err();
        assert!(error.to_string().starts_with("cannot list"), "{error}");
    }

    #[tokio::test]
    async fn a_sealed_path_that_cannot_be_read_or_deleted_is_an_error_not_a_missing_output() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path());
        fs::create_dir_all(store.path_of("slack", "secops")).unwrap(); // a directory
        let error = store.load("slack", "secops").await.unwrap_err();
        assert!(error.to_string().starts_with("cannot read"), "{error}");
        let error = store.delete("slack", "secops").await.unwrap_err();
        assert!(error.to_string().starts_with("cannot delete"), "{error}");
        store
            .delete("slack", "absent")
            .await
            .expect("nothing to delete is fine");
    }

    #[tokio::test]
    async fn sealed_files_of_the_boundary_lengths() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path());
        // An empty secret seals to exactly the header: magic, nonce and tag.
        store
            .save("slack", "empty", &SecretString::from(""))
            .await
            .unwrap();
        let path = store.path_of("slack", "empty");
        assert_eq!(
            fs::read(&path).unwrap().len(),
            MAGIC.len() + NONCE_LEN + TAG_LEN
        );
        let loaded = store.load("slack", "empty").await.unwrap().unwrap();
        assert_eq!(loaded.expose_secret(), "");

        for (bytes, why) in [
            (&MAGIC[..], "the file is truncated"),
            (&MAGIC[..3], "not a sealed streamalert credentials file"),
        ] {
            fs::write(&path, bytes).unwrap();
            let error = store.load("slack", "empty").await.unwrap_err().to_string();
            assert!(error.ends_with(why), "{} bytes: {error}", bytes.len());
        }
    }

    #[tokio::test]
    async fn unusable_credentials_name_the_store_they_are_in() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path());
        store
            .save("slack", "secops", &SecretString::from("not json"))
            .await
            .unwrap();
        let error = crate::creds::load_credentials(&store, "slack", "secops")
            .await
            .unwrap_err()
            .to_string();
        let location = format!("in local store {} ", dir.path().join("c").display());
        assert!(error.contains(&location), "{error}");
    }

    #[test]
    fn names_never_escape_the_directory() {
        assert_eq!(encode_name("a.b/c d"), "a%2Eb%2Fc%20d");
        assert_eq!(encode_name(""), "");
        assert_eq!(encode_name("é"), "%C3%A9");
        assert_eq!(encode_name("sec-ops_2"), "sec-ops_2", "kept as they are");
    }
}
