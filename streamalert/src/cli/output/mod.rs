//! The `output` command: configure output descriptors, writing `conf/outputs.json` and the
//! credential store together.

mod prompt;

pub use prompt::{Prompter, ScriptedPrompter, TerminalPrompter};

use crate::config::{OutputsConfig, StoreKind, StoreSettings};
use crate::creds::{
    CredentialStore, LocalStore, StoreError, decode_secret_json, encode_secret_json,
};
use crate::json::PythonJson;
use crate::output::{Output, OutputProperty, OutputRef};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The file `generate-skeleton` writes and `set-from-file` reads by default.
const DEFAULT_BATCH_FILE: &str = "outputs_to_configure.json";
const OUTPUTS_FILE: &str = "outputs.json";
const MASK: &str = "********";

/// `output`: manage the configured outputs (`service:descriptor`) and their stored secrets.
///
/// Add it to a command line as a sub-command:
///
/// ```
/// use clap::{Parser, Subcommand};
/// use streamalert::cli::output::{OutputAction, OutputCommand};
///
/// #[derive(Parser)]
/// struct Cli {
///     #[command(subcommand)]
///     command: Command,
/// }
/// #[derive(Subcommand)]
/// enum Command {
///     /// Configure outputs and their credentials.
///     Output(OutputCommand),
/// }
///
/// let cli = Cli::parse_from(["processor", "output", "set", "slack", "--update"]);
/// let Command::Output(output) = cli.command;
/// assert!(matches!(output.action, OutputAction::Set { ref service, update: true } if service == "slack"));
/// // output.run(std::path::Path::new("conf")) runs it.
/// ```
#[derive(Debug, Clone, clap::Args)]
#[command(
    about = "Configure outputs and their credentials (conf/outputs.json and the credential store)",
    long_about = OUTPUT_HELP
)]
pub struct OutputCommand {
    /// What to do.
    #[command(subcommand)]
    pub action: OutputAction,
}

const OUTPUT_HELP: &str = "\
Configures outputs: each `service:descriptor` is listed in conf/outputs.json and its secrets are kept,
encrypted, in the credential store chosen by the `credentials` section of conf/processor.json
(default: the `local` store, files in ./streamalert-credentials sealed with the key file
./streamalert-credentials/key, created with mode 0600 on first use, or with the key in
$STREAMALERT_CREDENTIALS_KEY). Secrets are read without echo and never printed.

To rotate a secret, run `output set SERVICE --update` and type the descriptor and the new values;
a running processor uses the new secret within its cache lifetime (credentials.cache_ttl_secs,
default 600).";

/// The sub-commands of [`OutputCommand`].
#[derive(Debug, Clone, clap::Subcommand)]
pub enum OutputAction {
    /// Configure one output of SERVICE interactively: its descriptor, then each property.
    Set {
        /// The output service, e.g. `slack` (see `list outputs`).
        service: String,
        /// Replace the descriptor's values if it is configured already, without asking.
        #[arg(short, long)]
        update: bool,
    },
    /// Configure outputs from a JSON file: {"SERVICE": [{"PROPERTY": "VALUE", ...}, ...]}.
    SetFromFile {
        /// The file (as written by `generate-skeleton`, then filled in).
        #[arg(default_value = DEFAULT_BATCH_FILE)]
        file: PathBuf,
        /// Replace descriptors that are configured already.
        #[arg(short, long)]
        update: bool,
    },
    /// List the configured outputs, all or those of SERVICE.
    List {
        /// Only this service.
        service: Option<String>,
    },
    /// Show one output's properties; secret values are shown as ********.
    Get {
        /// The output, `service:descriptor`.
        #[arg(value_name = "SERVICE:DESCRIPTOR")]
        output: String,
    },
    /// Remove one output from outputs.json and its secrets from the credential store.
    Delete {
        /// The output, `service:descriptor`.
        #[arg(value_name = "SERVICE:DESCRIPTOR")]
        output: String,
    },
    /// Write a file to fill in for `set-from-file`: each service's properties with their
    /// descriptions and forbidden characters (created with mode 0600: it will hold secrets).
    GenerateSkeleton {
        /// The services (default: every service of this binary).
        #[arg(long, num_args = 1.., value_name = "SERVICE")]
        services: Vec<String>,
        /// Where to write it.
        #[arg(long, value_name = "PATH", default_value = DEFAULT_BATCH_FILE)]
        file: PathBuf,
    },
}

impl OutputAction {
    /// `set` and `set-from-file`: the actions that save secrets (and may create the key file).
    fn writes_secrets(&self) -> bool {
        matches!(self, Self::Set { .. } | Self::SetFromFile { .. })
    }

    fn needs_store(&self) -> bool {
        matches!(
            self,
            Self::Set { .. } | Self::SetFromFile { .. } | Self::Get { .. } | Self::Delete { .. }
        )
    }
}

/// What an [`OutputCommand`] works with: the configuration directory, the credential store,
/// where it asks questions and where it writes its results.
pub struct OutputContext<'a> {
    /// The directory of `outputs.json` (and `processor.json`).
    pub config_dir: &'a Path,
    /// The credential store (`None` for `list` and `generate-skeleton`, which need none).
    pub store: Option<&'a dyn CredentialStore>,
    /// Where `set` asks for values.
    pub prompter: &'a mut dyn Prompter,
    /// Where results and messages go (standard output).
    pub out: &'a mut dyn Write,
}

/// The `output` command failed. Messages never contain a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutputError {
    /// The credential store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The request cannot be carried out as given.
    #[error("{0}")]
    Invalid(String),
    /// `outputs.json` (or another file) could not be read, parsed or written.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Reading an answer or writing a message failed.
    #[error("terminal: {0}")]
    Terminal(#[from] io::Error),
    /// A step failed after the credential store was changed, and undoing that change failed too.
    #[error(
        "{error}; restoring the credential store failed as well ({rollback}): outputs.json and the \
         store now disagree, run the command again"
    )]
    RollbackFailed {
        /// The first failure.
        error: Box<OutputError>,
        /// Why the store could not be restored.
        rollback: StoreError,
    },
}

impl OutputCommand {
    /// Runs the command on `config_dir` with the credential store of `config_dir/processor.json`,
    /// the terminal and standard output; errors are printed on standard error. Exit status 0 on
    /// success, 1 on failure.
    pub fn run(&self, config_dir: &Path) -> ExitCode {
        let work = || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
            };
            runtime.block_on(self.run_async(config_dir))
        };
        if tokio::runtime::Handle::try_current().is_ok() {
            // Called from async code: a runtime cannot be started on this thread.
            std::thread::scope(|scope| scope.spawn(work).join().unwrap_or(ExitCode::FAILURE))
        } else {
            work()
        }
    }

    async fn run_async(&self, config_dir: &Path) -> ExitCode {
        let mut local_key_check = None;
        let store = if self.action.needs_store() {
            let opened = match StoreSettings::load_from_dir(config_dir) {
                Ok(settings) => {
                    if settings.store == StoreKind::Local && self.action.writes_secrets() {
                        local_key_check = Some(LocalStore::from_settings(&settings.local));
                    }
                    crate::creds::open(&settings).await
                }
                Err(e) => Err(StoreError::Settings(e.to_string())),
            };
            match opened {
                Ok(store) => Some(store),
                Err(e) => return fail(&e.to_string()),
            }
        } else {
            None
        };
        let mut prompter = TerminalPrompter;
        let mut out = io::stdout();
        let cx = OutputContext {
            config_dir,
            store: store.as_deref(),
            prompter: &mut prompter,
            out: &mut out,
        };
        let result = self.execute(cx).await;
        // The key file may have been created just now: warn before it is committed.
        if let Some(warning) = local_key_check.and_then(|store| store.unignored_key_warning()) {
            let _ = writeln!(io::stderr(), "{warning}");
        }
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&e.to_string()),
        }
    }

    /// Runs the command in `cx`.
    ///
    /// ```
    /// use streamalert::cli::output::{OutputAction, OutputCommand, OutputContext, ScriptedPrompter};
    /// use streamalert::creds::LocalStore;
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = LocalStore::new(dir.path().join("creds"), dir.path().join("creds/key"));
    /// let mut prompter = ScriptedPrompter::new(["secops", "https://hooks.example/T/B/s3cr3t"]);
    /// let mut out = Vec::new();
    /// let set = OutputCommand { action: OutputAction::Set { service: "slack".into(), update: false } };
    /// set.execute(OutputContext { config_dir: dir.path(), store: Some(&store), prompter: &mut prompter, out: &mut out })
    ///     .await
    ///     .unwrap();
    /// let outputs = std::fs::read_to_string(dir.path().join("outputs.json")).unwrap();
    /// assert_eq!(outputs, "{\n  \"slack\": [\n    \"secops\"\n  ]\n}");
    /// assert!(!prompter.transcript().contains("s3cr3t"));
    /// # });
    /// ```
    pub async fn execute(&self, cx: OutputContext<'_>) -> Result<(), OutputError> {
        match &self.action {
            OutputAction::Set { service, update } => set(cx, service, *update).await,
            OutputAction::SetFromFile { file, update } => set_from_file(cx, file, *update).await,
            OutputAction::List { service } => list(cx, service.as_deref()),
            OutputAction::Get { output } => get(cx, output).await,
            OutputAction::Delete { output } => delete(cx, output).await,
            OutputAction::GenerateSkeleton { services, file } => {
                generate_skeleton(cx, services, file)
            }
        }
    }
}

fn fail(message: &str) -> ExitCode {
    let _ = writeln!(io::stderr(), "error: {message}");
    ExitCode::FAILURE
}

impl<'a> OutputContext<'a> {
    fn store(&self) -> Result<&'a dyn CredentialStore, OutputError> {
        self.store
            .ok_or_else(|| OutputError::Invalid("this command needs a credential store".into()))
    }
}

// ---------------------------------------------------------------------------------------------
// Services and properties

/// The output registered for `service`, or an error with the closest names.
fn output_of(service: &str) -> Result<Box<dyn Output>, OutputError> {
    if let Some(entry) = crate::registry().output(service) {
        return Ok((entry.make)());
    }
    let known: Vec<&str> = crate::registry()
        .outputs()
        .iter()
        .map(|e| e.service)
        .collect();
    let hint = known
        .iter()
        .filter(|k| strsim::levenshtein(k, service) <= 2)
        .min_by_key(|k| strsim::levenshtein(k, service))
        .map_or(String::new(), |k| format!("; did you mean `{k}`?"));
    Err(OutputError::Invalid(format!(
        "unknown output service `{service}`{hint} (this binary has: {})",
        known.join(", ")
    )))
}

/// The property holding a map-style service's `outputs.json` value (bucket, path, …).
const SETTING_PROPERTY: &str = "aws_value";
const DESCRIPTOR_PROPERTY: &str = "descriptor";

/// True for a property whose value goes to the credential store.
fn is_stored(property: &OutputProperty) -> bool {
    property.name != DESCRIPTOR_PROPERTY && property.name != SETTING_PROPERTY
}

/// True for a property whose value `get` may show.
fn is_shown(property: &OutputProperty) -> bool {
    !property.secret && !property.mask
}

/// The characters a value may not contain. URL-valued properties (`url`, `…_url`) forbid at
/// most the space, whatever else they declare (decision Q6), so URLs work interactively and
/// from a file.
fn restrictions(property: &OutputProperty) -> Vec<char> {
    let url_valued = property.name == "url" || property.name.ends_with("_url");
    property
        .restrictions
        .iter()
        .copied()
        .filter(|c| !url_valued || *c == ' ')
        .collect()
}

/// Python's `repr` of a one-character string.
fn py_char(c: char) -> String {
    match c {
        '\'' => "\"'\"".to_owned(),
        '\\' => "'\\\\'".to_owned(),
        '\n' => "'\\n'".to_owned(),
        '\t' => "'\\t'".to_owned(),
        '\r' => "'\\r'".to_owned(),
        c => format!("'{c}'"),
    }
}

/// StreamAlert's message for a value with forbidden characters (the value itself is never
/// repeated).
fn restriction_message(forbidden: &[char]) -> String {
    let list: Vec<String> = forbidden.iter().map(|c| py_char(*c)).collect();
    format!(
        "The supplied input should not contain any of the following: {}",
        list.join(", ")
    )
}

/// Checks `value` against the property's restrictions (decision Q6: masked values too).
fn check(property: &OutputProperty, value: &str) -> Result<(), String> {
    let forbidden = restrictions(property);
    if forbidden.iter().any(|c| value.contains(*c)) {
        Err(restriction_message(&forbidden))
    } else {
        Ok(())
    }
}

/// True when the property's description invites a blank answer ("leave blank for none").
fn allows_blank(property: &OutputProperty) -> bool {
    property
        .description
        .to_ascii_lowercase()
        .contains("leave blank")
}

/// An answer: echoed text, or a secret read without echo.
enum Answer {
    Plain(String),
    Masked(SecretString),
}

impl Answer {
    fn text(&self) -> &str {
        match self {
            Self::Plain(text) => text,
            Self::Masked(secret) => secret.expose_secret(),
        }
    }
}

/// Asks for one property until the answer is acceptable.
fn ask(prompter: &mut dyn Prompter, property: &OutputProperty) -> Result<Answer, OutputError> {
    let prompt = format!("\nPlease supply {}: ", property.description);
    loop {
        let answer = if property.mask {
            Answer::Masked(prompter.read_masked(&prompt)?)
        } else {
            Answer::Plain(prompter.read_line(&prompt)?)
        };
        if answer.text().is_empty() {
            if allows_blank(property) {
                return Ok(answer);
            }
            prompter.tell("A value is required.")?;
            continue;
        }
        match check(property, answer.text()) {
            Ok(()) => return Ok(answer),
            Err(message) => prompter.tell(&message)?,
        }
    }
}

fn split_output(output: &str) -> Result<(&str, &str), OutputError> {
    OutputRef::parse(output)
        .map(|output| (output.service, output.descriptor))
        .map_err(|error| OutputError::Invalid(error.to_string()))
}

// ---------------------------------------------------------------------------------------------
// outputs.json

/// `outputs.json` as a JSON document, in its own key order.
struct OutputsFile {
    path: PathBuf,
    doc: Map<String, Value>,
}

impl OutputsFile {
    /// Reads and checks `dir/outputs.json`; an empty configuration when it does not exist.
    fn load(dir: &Path) -> Result<Self, OutputError> {
        let path = dir.join(OUTPUTS_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Self {
                    path,
                    doc: Map::new(),
                });
            }
            Err(e) => {
                return Err(OutputError::File {
                    path,
                    message: format!("cannot read: {e}"),
                });
            }
        };
        OutputsConfig::load(&path).map_err(|e| OutputError::Invalid(e.to_string()))?;
        let doc = match serde_json::from_str(&text) {
            Ok(Value::Object(doc)) => doc,
            _ => {
                return Err(OutputError::File {
                    path,
                    message: "expected a JSON object".into(),
                });
            }
        };
        Ok(Self { path, doc })
    }

    fn descriptors(&self, service: &str) -> Vec<String> {
        match self.doc.get(service) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|d| d.as_str().map(str::to_owned))
                .collect(),
            Some(Value::Object(map)) => map.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }

    fn contains(&self, service: &str, descriptor: &str) -> bool {
        self.descriptors(service).iter().any(|d| d == descriptor)
    }

    fn setting(&self, service: &str, descriptor: &str) -> Option<&str> {
        self.doc.get(service)?.get(descriptor)?.as_str()
    }

    /// StreamAlert's layout: `json.dumps(indent=2)`, keys in file order, no final newline.
    fn render(&self) -> String {
        PythonJson::pretty(2).dump(&Value::Object(self.doc.clone()))
    }

    /// Replaces the file with `text` at once ([`write_atomically`](crate::atomic_write::write_atomically)).
    fn write(&self, text: &str) -> Result<(), OutputError> {
        let error = |e: io::Error| OutputError::File {
            path: self.path.clone(),
            message: format!("cannot write: {e}"),
        };
        let dir = self
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(error)?;
        crate::atomic_write::write_atomically(&self.path, text.as_bytes(), 0o644).map_err(error)
    }
}

/// StreamAlert's `format_output_config`: the service's new `outputs.json` value with
/// `descriptor` added. Map-style services (those with an `aws_value`, `setting`) map each
/// descriptor to its value, which is replaced for an existing descriptor (decision Q12);
/// list-style services list each descriptor once.
///
/// ```
/// use serde_json::json;
/// use streamalert::cli::output::format_output_config;
/// assert_eq!(format_output_config(Some(&json!(["a"])), "b", None).unwrap(), json!(["a", "b"]));
/// assert_eq!(format_output_config(Some(&json!(["a"])), "a", None).unwrap(), json!(["a"]));
/// assert_eq!(format_output_config(Some(&json!({"a": "b"})), "a", Some("bucket2")).unwrap(), json!({"a": "bucket2"}));
/// assert_eq!(format_output_config(None, "a", Some("x")).unwrap(), json!({"a": "x"}));
/// assert!(format_output_config(Some(&json!(["a"])), "b", Some("x")).is_err());
/// ```
pub fn format_output_config(
    existing: Option<&Value>,
    descriptor: &str,
    setting: Option<&str>,
) -> Result<Value, String> {
    match (existing, setting) {
        (None | Some(Value::Null), Some(setting)) => {
            let mut map = Map::new();
            map.insert(descriptor.to_owned(), Value::String(setting.to_owned()));
            Ok(Value::Object(map))
        }
        (Some(Value::Object(map)), Some(setting)) => {
            let mut map = map.clone();
            map.insert(descriptor.to_owned(), Value::String(setting.to_owned()));
            Ok(Value::Object(map))
        }
        (None | Some(Value::Null), None) => {
            Ok(Value::Array(vec![Value::String(descriptor.to_owned())]))
        }
        (Some(Value::Array(items)), None) => {
            let mut items = items.clone();
            if !items.iter().any(|d| d.as_str() == Some(descriptor)) {
                items.push(Value::String(descriptor.to_owned()));
            }
            Ok(Value::Array(items))
        }
        (Some(Value::Object(map)), None) if map.contains_key(descriptor) => {
            Ok(Value::Object(map.clone()))
        }
        (Some(Value::Array(_)), Some(_)) => Err(
            "it is a list of descriptors, but this service takes a value per descriptor \
             (an object {\"descriptor\": \"value\"})"
                .into(),
        ),
        (Some(Value::Object(_)), None) => Err(
            "it is an object of descriptor values, but this service takes a list of descriptors"
                .into(),
        ),
        (Some(_), _) => Err("it is neither a list nor an object".into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Writing: the store first, then outputs.json; the store is restored if outputs.json fails

/// One descriptor to configure.
struct Change {
    service: String,
    descriptor: String,
    /// The `outputs.json` value of a map-style service.
    setting: Option<String>,
    /// The stored properties' JSON; `None` when the output stores nothing.
    secret: Option<SecretString>,
}

/// Applies `changes`: checks the new `outputs.json`, saves every secret (remembering what was
/// stored before), then replaces `outputs.json`. If anything fails after the first save, the
/// store is put back as it was, so the two never disagree.
async fn apply(
    store: &dyn CredentialStore,
    outputs: &mut OutputsFile,
    changes: &[Change],
) -> Result<(), OutputError> {
    for change in changes {
        let value = format_output_config(
            outputs.doc.get(&change.service),
            &change.descriptor,
            change.setting.as_deref(),
        )
        .map_err(|why| OutputError::File {
            path: outputs.path.clone(),
            message: format!(
                "cannot add `{}` to `{}`: {why}",
                change.descriptor, change.service
            ),
        })?;
        outputs.doc.insert(change.service.clone(), value);
    }
    let text = outputs.render();
    OutputsConfig::from_json(&text).map_err(|e| OutputError::Invalid(e.to_string()))?;

    let mut saved: Vec<(&Change, Option<SecretString>)> = Vec::new();
    for change in changes {
        let Some(secret) = &change.secret else {
            continue;
        };
        let step = async {
            let previous = store.load(&change.service, &change.descriptor).await?;
            store
                .save(&change.service, &change.descriptor, secret)
                .await?;
            Ok::<_, StoreError>(previous)
        };
        match step.await {
            Ok(previous) => saved.push((change, previous)),
            Err(e) => return Err(restore(store, saved, OutputError::Store(e)).await),
        }
    }
    if let Err(e) = outputs.write(&text) {
        return Err(restore(store, saved, e).await);
    }
    Ok(())
}

/// Puts back what was stored before `saved` were written; returns `error`, extended when the
/// restore fails.
async fn restore(
    store: &dyn CredentialStore,
    saved: Vec<(&Change, Option<SecretString>)>,
    error: OutputError,
) -> OutputError {
    for (change, previous) in saved.into_iter().rev() {
        let undone = match &previous {
            Some(previous) => {
                store
                    .save(&change.service, &change.descriptor, previous)
                    .await
            }
            None => store.delete(&change.service, &change.descriptor).await,
        };
        if let Err(rollback) = undone {
            return OutputError::RollbackFailed {
                error: Box::new(error),
                rollback,
            };
        }
    }
    error
}

/// The stored JSON of a descriptor's answers, in property order; `None` when the output
/// stores nothing.
fn secret_of(properties: &[OutputProperty], values: &[(&str, &str)]) -> Option<SecretString> {
    let stored: Vec<(&str, &str)> = properties
        .iter()
        .filter(|p| is_stored(p))
        .filter_map(|p| values.iter().find(|(name, _)| *name == p.name).copied())
        .collect();
    (properties.iter().any(is_stored)).then(|| encode_secret_json(stored))
}

// ---------------------------------------------------------------------------------------------
// The sub-commands

async fn set(cx: OutputContext<'_>, service: &str, update: bool) -> Result<(), OutputError> {
    let output = output_of(service)?;
    let properties = output.properties();
    let mut outputs = OutputsFile::load(cx.config_dir)?;
    let store = cx.store()?;

    let mut answers: Vec<(OutputProperty, Answer)> = Vec::new();
    for property in &properties {
        let answer = loop {
            let answer = ask(cx.prompter, property)?;
            if property.name != DESCRIPTOR_PROPERTY
                || update
                || !outputs.contains(service, answer.text())
            {
                break answer;
            }
            let question = format!(
                "This descriptor {} is already configured for {service}. Overwrite it? [y/N]: ",
                answer.text()
            );
            let yes = cx.prompter.read_line(&question)?;
            if matches!(yes.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
                break answer;
            }
            cx.prompter
                .tell("Please select a new and unique descriptor")?;
        };
        answers.push((*property, answer));
    }

    let value_of = |name: &str| {
        answers
            .iter()
            .find(|(p, _)| p.name == name)
            .map(|(_, a)| a.text())
    };
    let descriptor = value_of(DESCRIPTOR_PROPERTY)
        .ok_or_else(|| {
            OutputError::Invalid(format!(
                "the `{service}` output declares no `descriptor` property"
            ))
        })?
        .to_owned();
    let values: Vec<(&str, &str)> = answers.iter().map(|(p, a)| (p.name, a.text())).collect();
    let change = Change {
        service: service.to_owned(),
        descriptor: descriptor.clone(),
        setting: value_of(SETTING_PROPERTY).map(str::to_owned),
        secret: secret_of(&properties, &values),
    };
    match apply(store, &mut outputs, std::slice::from_ref(&change)).await {
        Ok(()) => {
            writeln!(
                cx.out,
                "Successfully saved '{descriptor}' output configuration for service '{service}'"
            )?;
            Ok(())
        }
        Err(e) => Err(OutputError::Invalid(format!(
            "An error occurred while saving '{descriptor}' output configuration for service \
             '{service}': {e}"
        ))),
    }
}

async fn set_from_file(
    cx: OutputContext<'_>,
    file: &Path,
    update: bool,
) -> Result<(), OutputError> {
    let opening = |message: String| OutputError::File {
        path: file.to_owned(),
        message,
    };
    let text = std::fs::read_to_string(file)
        .map_err(|e| opening(format!("Error opening file {}: {e}", file.display())))?;
    let doc: Map<String, Value> = match serde_json::from_str(&text) {
        Ok(Value::Object(doc)) => doc,
        Ok(_) => {
            return Err(opening(
                "expected a JSON object {\"<service>\": [{...}]}".into(),
            ));
        }
        Err(e) => {
            return Err(opening(format!(
                "Error opening file {}: not valid JSON (line {}, column {})",
                file.display(),
                e.line(),
                e.column()
            )));
        }
    };
    if doc.is_empty() {
        return Err(opening(format!("File {} is empty", file.display())));
    }
    let mut outputs = OutputsFile::load(cx.config_dir)?;
    let store = cx.store()?;

    // Everything is checked before anything is written.
    let mut changes = Vec::new();
    let mut counts: Vec<(String, usize)> = Vec::new();
    let mut seen = BTreeSet::new();
    for (service, configs) in &doc {
        let properties = output_of(service)?.properties();
        let Value::Array(configs) = configs else {
            return Err(OutputError::Invalid(format!(
                "{}: `{service}` must be a list of objects, one per descriptor",
                file.display()
            )));
        };
        for (index, config) in configs.iter().enumerate() {
            let at = format!("{}: `{service}` entry {}", file.display(), index + 1);
            let Value::Object(config) = config else {
                return Err(OutputError::Invalid(format!("{at}: expected an object")));
            };
            let mut values: Vec<(&str, &str)> = Vec::new();
            for (key, value) in config {
                let Some(property) = properties.iter().find(|p| p.name == key) else {
                    return Err(OutputError::Invalid(format!(
                        "{at}: unknown key {key} passed for service: {service}"
                    )));
                };
                let Value::String(value) = value else {
                    return Err(OutputError::Invalid(format!(
                        "{at}: the value of `{key}` must be a string"
                    )));
                };
                if let Err(message) = check(property, value) {
                    return Err(OutputError::Invalid(format!("{at}: `{key}`: {message}")));
                }
                values.push((property.name, value));
            }
            let descriptor = values
                .iter()
                .find(|(name, _)| *name == DESCRIPTOR_PROPERTY)
                .map(|(_, v)| *v)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| OutputError::Invalid(format!("{at}: no `descriptor` given")))?;
            if !seen.insert((service.clone(), descriptor.to_owned())) {
                return Err(OutputError::Invalid(format!(
                    "{at}: `{service}:{descriptor}` appears more than once in the file"
                )));
            }
            if !update && outputs.contains(service, descriptor) {
                return Err(OutputError::Invalid(format!(
                    "{at}: This descriptor {descriptor} is already configured for {service}; \
                     run with --update to replace it"
                )));
            }
            // Properties not given are stored empty, as StreamAlert does.
            let all: Vec<(&str, &str)> = properties
                .iter()
                .map(|p| {
                    let value = values
                        .iter()
                        .find(|(n, _)| *n == p.name)
                        .map_or("", |v| v.1);
                    (p.name, value)
                })
                .collect();
            changes.push(Change {
                service: service.clone(),
                descriptor: descriptor.to_owned(),
                setting: properties
                    .iter()
                    .any(|p| p.name == SETTING_PROPERTY)
                    .then(|| {
                        all.iter()
                            .find(|(n, _)| *n == SETTING_PROPERTY)
                            .map_or(String::new(), |v| v.1.to_owned())
                    }),
                secret: secret_of(&properties, &all),
            });
        }
        counts.push((service.clone(), configs.len()));
    }
    drop(doc);
    apply(store, &mut outputs, &changes).await?;
    for (service, count) in counts {
        writeln!(
            cx.out,
            "Saved {count} configurations for service: {service}"
        )?;
    }
    writeln!(
        cx.out,
        "{} holds secrets in clear text: delete it now that they are stored.",
        file.display()
    )?;
    Ok(())
}

fn list(cx: OutputContext<'_>, service: Option<&str>) -> Result<(), OutputError> {
    if let Some(service) = service {
        output_of(service)?;
    }
    let outputs = OutputsFile::load(cx.config_dir)?;
    writeln!(cx.out, "\nConfigured outputs 'service:descriptor':")?;
    for name in outputs.doc.keys() {
        if service.is_some_and(|s| s != name) {
            continue;
        }
        for descriptor in outputs.descriptors(name) {
            writeln!(cx.out, "\t{name}:{descriptor}")?;
        }
        writeln!(cx.out)?;
    }
    Ok(())
}

async fn get(cx: OutputContext<'_>, output: &str) -> Result<(), OutputError> {
    let (service, descriptor) = split_output(output)?;
    let properties = output_of(service)?.properties();
    let outputs = OutputsFile::load(cx.config_dir)?;
    if !outputs.contains(service, descriptor) {
        return Err(OutputError::Invalid(format!(
            "`{output}` is not configured in {}",
            outputs.path.display()
        )));
    }
    let store = cx.store()?;
    let stored = match store.load(service, descriptor).await? {
        Some(text) => Some(
            decode_secret_json(&text).map_err(|why| StoreError::Corrupt {
                output: output.to_owned(),
                location: store.describe(),
                why,
            })?,
        ),
        None => None,
    };
    let out = cx.out;
    writeln!(out, "\nService Name: {service}")?;
    writeln!(out, "Descriptor: {descriptor}")?;
    for property in &properties {
        match property.name {
            DESCRIPTOR_PROPERTY => {}
            SETTING_PROPERTY => writeln!(
                out,
                "  {}: {}",
                property.name,
                outputs.setting(service, descriptor).unwrap_or("")
            )?,
            name => {
                let value = stored
                    .as_ref()
                    .and_then(|entries| entries.iter().find(|(n, _)| n == name));
                match value {
                    Some((_, value)) if is_shown(property) => {
                        writeln!(out, "  {name}: {}", value.expose_secret())?;
                    }
                    Some(_) => writeln!(out, "  {name}: {MASK}")?,
                    None => writeln!(out, "  {name}: (not stored)")?,
                }
            }
        }
    }
    // Stored keys the output does not declare (overrides such as `tls_verify`): names only.
    for (name, _) in stored.iter().flatten() {
        if !properties.iter().any(|p| p.name == name) {
            writeln!(out, "  {name}: {MASK}")?;
        }
    }
    if stored.is_none() && properties.iter().any(is_stored) {
        writeln!(
            out,
            "No credentials are stored for {output} in the {}; run `output set {service} --update` \
             to store them.",
            store.describe()
        )?;
    }
    Ok(())
}

async fn delete(cx: OutputContext<'_>, output: &str) -> Result<(), OutputError> {
    let (service, descriptor) = split_output(output)?;
    output_of(service)?;
    let mut outputs = OutputsFile::load(cx.config_dir)?;
    let store = cx.store()?;
    let previous = store.load(service, descriptor).await?;
    let configured = outputs.contains(service, descriptor);
    if !configured && previous.is_none() {
        return Err(OutputError::Invalid(format!(
            "`{output}` is neither configured in {} nor stored in the {}",
            outputs.path.display(),
            store.describe()
        )));
    }
    if configured {
        let emptied = match outputs.doc.get_mut(service) {
            Some(Value::Array(items)) => {
                items.retain(|d| d.as_str() != Some(descriptor));
                items.is_empty()
            }
            Some(Value::Object(map)) => {
                map.shift_remove(descriptor);
                map.is_empty()
            }
            _ => false,
        };
        if emptied {
            outputs.doc.shift_remove(service);
        }
    }
    store.delete(service, descriptor).await?;
    if configured && let Err(e) = outputs.write(&outputs.render()) {
        let undone = match &previous {
            Some(previous) => store.save(service, descriptor, previous).await,
            None => Ok(()),
        };
        return Err(match undone {
            Ok(()) => e,
            Err(rollback) => OutputError::RollbackFailed {
                error: Box::new(e),
                rollback,
            },
        });
    }
    writeln!(
        cx.out,
        "Deleted '{descriptor}' output configuration for service '{service}'"
    )?;
    Ok(())
}

fn generate_skeleton(
    cx: OutputContext<'_>,
    services: &[String],
    file: &Path,
) -> Result<(), OutputError> {
    let services: Vec<String> = if services.is_empty() {
        crate::registry()
            .outputs()
            .iter()
            .map(|e| e.service.to_owned())
            .collect()
    } else {
        services.to_vec()
    };
    let mut doc = Map::new();
    for service in &services {
        let mut entry = Map::new();
        for property in output_of(service)?.properties() {
            let forbidden = restrictions(&property);
            let set = if forbidden.is_empty() {
                "set()".to_owned()
            } else {
                let items: Vec<String> = forbidden.iter().map(|c| py_char(*c)).collect();
                format!("{{{}}}", items.join(", "))
            };
            entry.insert(
                property.name.to_owned(),
                Value::String(format!(
                    "desc: {}, restrictions: {set}",
                    property.description
                )),
            );
        }
        doc.insert(service.clone(), Value::Array(vec![Value::Object(entry)]));
    }
    let text = PythonJson::pretty(2).sort_keys().dump(&Value::Object(doc));
    // The user fills it with secrets: readable by the owner only (0600).
    crate::atomic_write::write_atomically(file, text.as_bytes(), 0o600).map_err(|e| {
        OutputError::File {
            path: file.to_owned(),
            message: format!("cannot write: {e}"),
        }
    })?;
    writeln!(
        cx.out,
        "Wrote the properties of {} services to {}: fill in the values, then run \
         `output set-from-file {}`",
        services.len(),
        file.display(),
        file.display()
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_properties_forbid_only_the_space() {
        let url = OutputProperty::new("url", "u").masked().secret();
        assert_eq!(restrictions(&url), [' ']);
        assert!(check(&url, "https://x").is_ok());
        let open = OutputProperty::new("url", "u").forbidding(&[]);
        assert!(restrictions(&open).is_empty());
        let token = OutputProperty::new("token", "t");
        assert_eq!(
            check(&token, "a:b").unwrap_err(),
            "The supplied input should not contain any of the following: ' ', ':'"
        );
    }

    #[test]
    #[cfg(feature = "saas")]
    fn suggestions_use_the_closest_service() {
        let err = output_of("slak").err().unwrap().to_string();
        assert!(err.contains("did you mean `slack`?"), "{err}");
    }

    #[test]
    fn python_reprs_of_characters() {
        assert_eq!(py_char(' '), "' '");
        assert_eq!(py_char('\''), "\"'\"");
    }
}
