//! The `local` credential store, the credential cache, the `output` command (driven by a
//! scripted prompter) and the `credentials` and `output-cli` vectors, every file of both
//! directories read when the test runs. Logs of the whole binary are captured at TRACE and
//! checked for secrets.

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use streamalert::OutputProperty;
use streamalert::cli::output::{
    OutputAction, OutputCommand, OutputContext, OutputError, ScriptedPrompter, format_output_config,
};
use streamalert::creds::{
    CredentialCache, CredentialStore, LocalStore, StoreError, encode_secret_json, formatted_name,
    load_credentials, ssm_parameter_name,
};
use streamalert_tests::vectors::{Harness, Shape};

/// A variable no test sets: the stores below read their key from the key file only.
const NO_KEY_ENV: &str = "STREAMALERT_TEST_KEY_VARIABLE_NEVER_SET";

/// The secret part of the webhook URLs below: it must never show up in a file, a log or an
/// error.
const SECRET: &str = "xoxb-7e57-c0ffee-5ecre7";

fn webhook() -> String {
    format!("https://hooks.slack.com/services/T000/B000/{SECRET}")
}

fn store_in(dir: &Path) -> LocalStore {
    LocalStore::new(dir.join("creds"), dir.join("creds/key")).with_key_env(NO_KEY_ENV)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every file below `dir`, with its bytes.
fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    files
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

// ---------------------------------------------------------------------------------------------
// The local store

#[tokio::test]
async fn local_round_trip_keeps_only_ciphertext_on_disk() {
    streamalert_tests::record_global_logs();
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let secret = encode_secret_json([("url", webhook().as_str())]);
    store.save("slack", "secops", &secret).await.unwrap();

    let loaded = store.load("slack", "secops").await.unwrap().unwrap();
    assert_eq!(loaded.expose_secret(), secret.expose_secret());

    let files = files_under(dir.path());
    let names: Vec<String> = files
        .iter()
        .map(|(p, _)| p.strip_prefix(dir.path()).unwrap().display().to_string())
        .collect();
    assert_eq!(
        files.len(),
        2,
        "the key and one sealed file, no temporary file: {names:?}"
    );
    for (path, bytes) in &files {
        assert!(
            !contains(bytes, SECRET.as_bytes()),
            "{} holds the secret",
            path.display()
        );
        assert!(
            !contains(bytes, b"hooks.slack.com"),
            "{} holds the URL",
            path.display()
        );
    }
    let sealed = std::fs::read(store.path_of("slack", "secops")).unwrap();
    assert!(sealed.starts_with(b"SACRED\x00\x01"));

    // The key file: 64 hex digits, private; the directories: private.
    let key = std::fs::read_to_string(dir.path().join("creds/key")).unwrap();
    assert_eq!(key.trim().len(), 64);
    assert!(key.trim().chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(mode(&dir.path().join("creds/key")), 0o600);
    assert_eq!(mode(&dir.path().join("creds")), 0o700);
    assert_eq!(mode(&dir.path().join("creds/slack")), 0o700);
    assert_eq!(mode(&store.path_of("slack", "secops")), 0o600);
}

#[tokio::test]
async fn the_key_is_created_once_and_each_write_uses_a_fresh_nonce() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let secret = encode_secret_json([("url", "https://x/1")]);
    store.save("slack", "a", &secret).await.unwrap();
    let key = std::fs::read(dir.path().join("creds/key")).unwrap();
    let first = std::fs::read(store.path_of("slack", "a")).unwrap();
    store.save("slack", "a", &secret).await.unwrap();
    store.save("slack", "b", &secret).await.unwrap();
    assert_eq!(std::fs::read(dir.path().join("creds/key")).unwrap(), key);
    let second = std::fs::read(store.path_of("slack", "a")).unwrap();
    assert_ne!(first, second, "same plaintext, new nonce, new ciphertext");

    // Another store with the same key file reads it.
    let again = store_in(dir.path());
    let loaded = again.load("slack", "b").await.unwrap().unwrap();
    assert_eq!(loaded.expose_secret(), secret.expose_secret());
}

#[tokio::test]
async fn a_wrong_key_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    store
        .save(
            "slack",
            "secops",
            &encode_secret_json([("url", webhook().as_str())]),
        )
        .await
        .unwrap();
    let other_key = dir.path().join("other.key");
    std::fs::write(&other_key, format!("{}\n", "ab".repeat(32))).unwrap();
    std::fs::set_permissions(&other_key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let wrong = LocalStore::new(dir.path().join("creds"), &other_key).with_key_env(NO_KEY_ENV);

    let err = wrong.load("slack", "secops").await.unwrap_err();
    assert!(matches!(err, StoreError::Decrypt { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with("cannot decrypt the credentials of slack:secops in ")
            && message.ends_with(
                "the key does not match the one they were encrypted with, or the file was modified"
            ),
        "{message}"
    );
    assert!(
        message.contains(&store.path_of("slack", "secops").display().to_string()),
        "names the file: {message}"
    );
    assert!(!message.contains(SECRET));
}

#[tokio::test]
async fn tampered_truncated_or_foreign_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    store
        .save(
            "slack",
            "secops",
            &encode_secret_json([("url", webhook().as_str())]),
        )
        .await
        .unwrap();
    let path = store.path_of("slack", "secops");
    let original = std::fs::read(&path).unwrap();

    // One flipped bit in the ciphertext.
    let mut tampered = original.clone();
    let last = tampered.len() - 20;
    tampered[last] ^= 0x01;
    std::fs::write(&path, &tampered).unwrap();
    let err = store.load("slack", "secops").await.unwrap_err();
    assert!(matches!(err, StoreError::Decrypt { .. }), "{err:?}");

    // Cut short.
    std::fs::write(&path, &original[..30]).unwrap();
    let err = store.load("slack", "secops").await.unwrap_err().to_string();
    assert!(
        err.ends_with("are unusable: the file is truncated")
            && err.contains(&path.display().to_string()),
        "{err}"
    );

    // Not ours at all.
    std::fs::write(&path, br#"{"url": "plain"}"#).unwrap();
    let err = store.load("slack", "secops").await.unwrap_err().to_string();
    assert!(
        err.ends_with("not a sealed streamalert credentials file"),
        "{err}"
    );

    // A sealed file moved to another descriptor's place does not open there.
    std::fs::write(store.path_of("slack", "other"), &original).unwrap();
    let err = store.load("slack", "other").await.unwrap_err();
    assert!(matches!(err, StoreError::Decrypt { .. }), "{err:?}");
}

#[tokio::test]
async fn a_missing_key_file_is_a_clear_error_and_is_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    store
        .save(
            "slack",
            "secops",
            &encode_secret_json([("url", "https://x")]),
        )
        .await
        .unwrap();
    std::fs::remove_file(dir.path().join("creds/key")).unwrap();

    let err = store.load("slack", "secops").await.unwrap_err();
    assert!(matches!(err, StoreError::KeyMissing { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with(&format!(
            "the credential key is missing: {} does not exist and ${NO_KEY_ENV} is not set",
            dir.path().join("creds/key").display()
        )),
        "{err}"
    );
    // A save does not make a new key that could not open the existing files.
    let err = store
        .save("slack", "new", &encode_secret_json([("url", "https://y")]))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::KeyMissing { .. }), "{err:?}");
    assert!(!dir.path().join("creds/key").exists());
    // Nothing stored under a name is not an error, key or no key.
    assert!(store.load("slack", "absent").await.unwrap().is_none());
}

#[tokio::test]
async fn a_key_file_other_users_can_read_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    store
        .save(
            "slack",
            "secops",
            &encode_secret_json([("url", "https://x")]),
        )
        .await
        .unwrap();
    let key = dir.path().join("creds/key");
    for mode in [0o644, 0o640, 0o602] {
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode)).unwrap();
        let err = store.load("slack", "secops").await.unwrap_err();
        assert!(matches!(err, StoreError::KeyPermissions { .. }), "{err:?}");
        assert!(
            err.to_string()
                .contains(&format!("(mode {mode:04o}); run `chmod 600 ")),
            "{err}"
        );
    }
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o400)).unwrap();
    assert!(store.load("slack", "secops").await.unwrap().is_some());
}

#[tokio::test]
async fn an_invalid_key_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    std::fs::write(&key, "not a key\n").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let store = LocalStore::new(dir.path().join("creds"), &key).with_key_env(NO_KEY_ENV);
    let err = store
        .save(
            "slack",
            "secops",
            &encode_secret_json([("url", "https://x")]),
        )
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "the credential key in the key file {} is invalid: expected 64 hexadecimal digits (32 bytes)",
            key.display()
        )
    );
}

#[tokio::test]
async fn a_missing_object_is_nothing_stored() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    assert!(store.load("slack", "secops").await.unwrap().is_none());
    assert!(
        load_credentials(&store, "slack", "secops")
            .await
            .unwrap()
            .is_none()
    );
    store.delete("slack", "secops").await.unwrap();
    assert!(
        !dir.path().join("creds/key").exists(),
        "reading never creates a key"
    );
}

#[tokio::test]
async fn stored_json_that_is_not_an_object_of_text_is_reported_without_its_content() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    store
        .save(
            "slack",
            "secops",
            &SecretString::from(format!(r#"{{"url": ["{SECRET}"]}}"#)),
        )
        .await
        .unwrap();
    let err = load_credentials(&store, "slack", "secops")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with("are unusable: the value of `url` is not text"),
        "{err}"
    );
    assert!(!err.contains(SECRET));
}

// ---------------------------------------------------------------------------------------------
// Vectors

/// The credentials vectors; each checks one operation, named by its one `expected` key.
const CREDENTIALS: &[Shape] = &[Shape {
    kind: "credentials",
    functions: &[],
    fields: &["input", "expected"],
    input: &["prefix", "service", "descriptor", "ssm_value"],
    expected: &["ssm_name", "name", "loaded", "loaded_len"],
}];

#[tokio::test]
async fn credentials_vectors() {
    Harness::new("credentials", CREDENTIALS)
        .run_async(|vector| async move {
            credentials_vector(&vector.id, vector.input(), vector.expected()).await
        })
        .await;
}

async fn credentials_vector(id: &str, input: &Value, expected: &Value) -> Result<(), String> {
    let keys: Vec<&String> = expected
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
        .collect();
    let [operation] = keys[..] else {
        return Err(format!("expected {keys:?}: one key names the operation"));
    };
    match operation.as_str() {
        "ssm_name" => assert_eq!(
            ssm_parameter_name(
                input["prefix"].as_str().unwrap(),
                input["service"].as_str().unwrap(),
                input["descriptor"].as_str().unwrap()
            ),
            expected["ssm_name"].as_str().unwrap(),
            "{id}"
        ),
        "name" => assert_eq!(
            formatted_name(
                input["service"].as_str().unwrap(),
                input["descriptor"].as_str().unwrap()
            ),
            expected["name"].as_str().unwrap(),
            "{id}"
        ),
        "loaded" => {
            // Loaded once, then served from memory while the store is unavailable.
            let dir = tempfile::tempdir().unwrap();
            let store = Arc::new(store_in(dir.path()));
            let stored = expected["loaded"].as_object().unwrap();
            let pairs: Vec<(&str, &str)> = stored
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
                .collect();
            store
                .save("test_service", "desc_test", &encode_secret_json(pairs))
                .await
                .unwrap();
            let cache = CredentialCache::new(store.clone(), Duration::from_secs(600));
            cache.get("test_service", "desc_test").await.unwrap();
            std::fs::remove_file(dir.path().join("creds/key")).unwrap();
            assert!(
                store.load("test_service", "desc_test").await.is_err(),
                "{id}: store unavailable"
            );
            let loaded = cache
                .get("test_service", "desc_test")
                .await
                .unwrap()
                .unwrap();
            let names: Vec<&str> = loaded.names().collect();
            assert_eq!(
                names,
                stored.keys().map(String::as_str).collect::<Vec<_>>(),
                "{id}"
            );
            for (name, value) in stored {
                assert_eq!(
                    loaded.require(name).unwrap(),
                    value.as_str().unwrap(),
                    "{id}: {name}"
                );
            }
        }
        "loaded_len" => {
            let dir = tempfile::tempdir().unwrap();
            let store = store_in(dir.path());
            let value = input["ssm_value"].as_object().unwrap();
            let pairs: Vec<(&str, &str)> = value
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
                .collect();
            store
                .save("carbonblack", "unit_test", &encode_secret_json(pairs))
                .await
                .unwrap();
            let loaded = load_credentials(&store, "carbonblack", "unit_test")
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                loaded.names().count() as u64,
                expected["loaded_len"].as_u64().unwrap(),
                "{id}"
            );
            for (name, stored) in value {
                assert_eq!(
                    Some(loaded.require(name).unwrap()),
                    stored.as_str(),
                    "{id}: {name}"
                );
            }
        }
        other => return Err(format!("no credentials operation expects `{other}`")),
    }
    Ok(())
}

/// The `output` command's helpers.
const OUTPUT_CLI: &[Shape] = &[Shape {
    kind: "cli",
    functions: &["cli.format_output_config", "cli.output_property_defaults"],
    fields: &["input", "expected"],
    input: &["service", "existing", "descriptor", "aws_value"],
    expected: &["result"],
}];

#[test]
fn output_cli_vectors() {
    Harness::new("output-cli", OUTPUT_CLI).run(|v| {
        let id = &v.id;
        let input = v.input();
        let expected = &v.expected()["result"];
        match v.function().unwrap_or_default() {
            "cli.format_output_config" => {
                let existing = input.get("existing");
                let result = format_output_config(
                    existing,
                    input["descriptor"].as_str().unwrap(),
                    input["aws_value"].as_str(),
                )
                .unwrap();
                assert_eq!(&result, expected, "{id}");
            }
            "cli.output_property_defaults" => {
                let property = OutputProperty::new("x", "");
                assert_eq!(property.description, expected["description"], "{id}");
                let restrictions: Vec<String> =
                    property.restrictions.iter().map(char::to_string).collect();
                let mut want: Vec<String> = expected["input_restrictions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_str().unwrap().to_owned())
                    .collect();
                want.sort();
                let mut got = restrictions;
                got.sort();
                assert_eq!(got, want, "{id}");
                assert_eq!(property.mask, expected["mask_input"], "{id}");
                assert_eq!(property.secret, expected["cred_requirement"], "{id}");
                assert_eq!(
                    expected["value"], "",
                    "{id}: no value until one is supplied"
                );
            }
            other => return Err(format!("output-cli function {other} is not handled")),
        }
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// The `output` command, with a scripted prompter

struct Run {
    result: Result<(), OutputError>,
    transcript: String,
    out: String,
    unanswered: usize,
}

async fn run(
    config: &Path,
    store: &dyn CredentialStore,
    action: OutputAction,
    answers: &[&str],
) -> Run {
    let mut prompter = ScriptedPrompter::new(answers.iter().copied());
    let mut out = Vec::new();
    let result = OutputCommand { action }
        .execute(OutputContext {
            config_dir: config,
            store: Some(store),
            prompter: &mut prompter,
            out: &mut out,
        })
        .await;
    Run {
        result,
        transcript: prompter.transcript().to_owned(),
        out: String::from_utf8(out).unwrap(),
        unanswered: prompter.remaining(),
    }
}

fn set(service: &str, update: bool) -> OutputAction {
    OutputAction::Set {
        service: service.into(),
        update,
    }
}

fn outputs_json(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("outputs.json")).unwrap()).unwrap()
}

const SLACK_DESCRIPTOR_PROMPT: &str = "\nPlease supply a short and unique descriptor for this Slack integration (ie: channel, group, etc): ";
const SLACK_URL_PROMPT: &str = "\nPlease supply the full Slack webhook url, including the secret: ";
const DEFAULT_RESTRICTED: &str =
    "The supplied input should not contain any of the following: ' ', ':'";
const URL_RESTRICTED: &str = "The supplied input should not contain any of the following: ' '";

#[tokio::test]
async fn set_slack_asks_in_order_stores_the_secret_and_lists_the_descriptor() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    std::fs::write(
        dir.path().join("outputs.json"),
        r#"{"stdout": ["console"]}"#,
    )
    .unwrap();
    let url = webhook();
    let run = run(dir.path(), &store, set("slack", false), &["secops", &url]).await;
    run.result.unwrap();
    assert_eq!(
        run.transcript,
        format!("{SLACK_DESCRIPTOR_PROMPT}secops\n{SLACK_URL_PROMPT}\n")
    );
    assert_eq!(
        run.out,
        "Successfully saved 'secops' output configuration for service 'slack'\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("outputs.json")).unwrap(),
        "{\n  \"stdout\": [\n    \"console\"\n  ],\n  \"slack\": [\n    \"secops\"\n  ]\n}"
    );
    let stored = store.load("slack", "secops").await.unwrap().unwrap();
    assert_eq!(stored.expose_secret(), format!(r#"{{"url": "{url}"}}"#));
    for (path, bytes) in files_under(dir.path()) {
        assert!(
            !contains(&bytes, SECRET.as_bytes()),
            "{} holds the secret",
            path.display()
        );
    }
}

#[tokio::test]
async fn restricted_characters_are_rejected_with_the_reason_masked_values_too() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let url = webhook();
    let spaced = format!("{url} x");
    let answers = ["sec ops", "sec:ops", "", "secops", &spaced, "", &url];
    let run = run(dir.path(), &store, set("slack", false), &answers).await;
    run.result.unwrap();
    assert_eq!(run.unanswered, 0);
    assert_eq!(
        run.transcript,
        format!(
            "{SLACK_DESCRIPTOR_PROMPT}sec ops\n{DEFAULT_RESTRICTED}\n\
             {SLACK_DESCRIPTOR_PROMPT}sec:ops\n{DEFAULT_RESTRICTED}\n\
             {SLACK_DESCRIPTOR_PROMPT}\nA value is required.\n\
             {SLACK_DESCRIPTOR_PROMPT}secops\n\
             {SLACK_URL_PROMPT}\n{URL_RESTRICTED}\n\
             {SLACK_URL_PROMPT}\nA value is required.\n\
             {SLACK_URL_PROMPT}\n"
        )
    );
    assert_eq!(outputs_json(dir.path()), json!({"slack": ["secops"]}));
}

#[tokio::test]
async fn an_existing_descriptor_is_overwritten_only_when_confirmed() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    run(
        dir.path(),
        &store,
        set("slack", false),
        &["secops", "https://hooks.example/1"],
    )
    .await
    .result
    .unwrap();

    // "n": another descriptor is asked for.
    let declined = run(
        dir.path(),
        &store,
        set("slack", false),
        &["secops", "n", "other", "https://hooks.example/2"],
    )
    .await;
    declined.result.unwrap();
    assert!(declined.transcript.contains(
        "This descriptor secops is already configured for slack. Overwrite it? [y/N]: n\n\
         Please select a new and unique descriptor\n"
    ));
    assert_eq!(
        outputs_json(dir.path()),
        json!({"slack": ["secops", "other"]})
    );
    let kept = store.load("slack", "secops").await.unwrap().unwrap();
    assert_eq!(
        kept.expose_secret(),
        r#"{"url": "https://hooks.example/1"}"#
    );

    // "y": replaced, still listed once.
    run(
        dir.path(),
        &store,
        set("slack", false),
        &["secops", "y", "https://hooks.example/3"],
    )
    .await
    .result
    .unwrap();
    let replaced = store.load("slack", "secops").await.unwrap().unwrap();
    assert_eq!(
        replaced.expose_secret(),
        r#"{"url": "https://hooks.example/3"}"#
    );
    assert_eq!(
        outputs_json(dir.path()),
        json!({"slack": ["secops", "other"]})
    );

    // --update: no question.
    let update = run(
        dir.path(),
        &store,
        set("slack", true),
        &["other", "https://hooks.example/4"],
    )
    .await;
    update.result.unwrap();
    assert!(!update.transcript.contains("Overwrite"));
    let updated = store.load("slack", "other").await.unwrap().unwrap();
    assert_eq!(
        updated.expose_secret(),
        r#"{"url": "https://hooks.example/4"}"#
    );
}

#[tokio::test]
async fn map_style_outputs_keep_their_value_in_outputs_json_and_update_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    run(
        dir.path(),
        &store,
        set("file", false),
        &["alerts", "out/a.jsonl"],
    )
    .await
    .result
    .unwrap();
    assert_eq!(
        outputs_json(dir.path()),
        json!({"file": {"alerts": "out/a.jsonl"}})
    );
    // Nothing secret: nothing stored, no key made.
    assert!(!dir.path().join("creds").exists());
    run(
        dir.path(),
        &store,
        set("file", true),
        &["alerts", "out/b.jsonl"],
    )
    .await
    .result
    .unwrap();
    assert_eq!(
        outputs_json(dir.path()),
        json!({"file": {"alerts": "out/b.jsonl"}})
    );
}

#[tokio::test]
async fn get_shows_names_and_plain_values_never_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let url = webhook();
    run(dir.path(), &store, set("slack", false), &["secops", &url])
        .await
        .result
        .unwrap();
    run(
        dir.path(),
        &store,
        set("file", false),
        &["alerts", "out/a.jsonl"],
    )
    .await
    .result
    .unwrap();
    // A stored override the output does not declare: shown by name only.
    let with_extra = encode_secret_json([("url", url.as_str()), ("tls_verify", "false")]);
    store.save("slack", "secops", &with_extra).await.unwrap();

    let get = |output: &str| OutputAction::Get {
        output: output.into(),
    };
    let shown = run(dir.path(), &store, get("slack:secops"), &[]).await;
    shown.result.unwrap();
    assert_eq!(
        shown.out,
        "\nService Name: slack\nDescriptor: secops\n  url: ********\n  tls_verify: ********\n"
    );
    let file = run(dir.path(), &store, get("file:alerts"), &[]).await;
    file.result.unwrap();
    assert_eq!(
        file.out,
        "\nService Name: file\nDescriptor: alerts\n  aws_value: out/a.jsonl\n"
    );

    let missing = run(dir.path(), &store, get("slack:nope"), &[]).await;
    let err = missing.result.unwrap_err().to_string();
    assert!(
        err.starts_with("`slack:nope` is not configured in "),
        "{err}"
    );
    // The runtime grammar (`OutputRef`), with its message.
    let malformed = run(dir.path(), &store, get("slack"), &[]).await;
    assert_eq!(
        malformed.result.unwrap_err().to_string(),
        "output `slack` has no descriptor; write it as `slack:<descriptor>`, e.g. `slack:secops`"
    );
    let spaced = run(dir.path(), &store, get("slack:a b"), &[]).await;
    assert_eq!(
        spaced.result.unwrap_err().to_string(),
        "the descriptor `a b` of output `slack:a b` may not contain ' '"
    );

    // Configured, nothing stored: said so.
    store.delete("slack", "secops").await.unwrap();
    let unstored = run(dir.path(), &store, get("slack:secops"), &[]).await;
    unstored.result.unwrap();
    assert!(
        unstored
            .out
            .contains("  url: (not stored)\nNo credentials are stored for slack:secops")
    );
}

#[tokio::test]
async fn list_delete_and_unknown_services() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    std::fs::write(
        dir.path().join("outputs.json"),
        r#"{"stdout": ["console"], "file": {"alerts": "a.jsonl"}}"#,
    )
    .unwrap();
    run(
        dir.path(),
        &store,
        set("slack", false),
        &["secops", "https://hooks.example/1"],
    )
    .await
    .result
    .unwrap();

    let listed = run(
        dir.path(),
        &store,
        OutputAction::List { service: None },
        &[],
    )
    .await;
    listed.result.unwrap();
    assert_eq!(
        listed.out,
        "\nConfigured outputs 'service:descriptor':\n\tstdout:console\n\n\tfile:alerts\n\n\tslack:secops\n\n"
    );
    let only = run(
        dir.path(),
        &store,
        OutputAction::List {
            service: Some("slack".into()),
        },
        &[],
    )
    .await;
    assert_eq!(
        only.out,
        "\nConfigured outputs 'service:descriptor':\n\tslack:secops\n\n"
    );

    let deleted = run(
        dir.path(),
        &store,
        OutputAction::Delete {
            output: "slack:secops".into(),
        },
        &[],
    )
    .await;
    deleted.result.unwrap();
    assert_eq!(
        deleted.out,
        "Deleted 'secops' output configuration for service 'slack'\n"
    );
    assert!(store.load("slack", "secops").await.unwrap().is_none());
    assert_eq!(
        outputs_json(dir.path()),
        json!({"stdout": ["console"], "file": {"alerts": "a.jsonl"}})
    );
    let again = run(
        dir.path(),
        &store,
        OutputAction::Delete {
            output: "slack:secops".into(),
        },
        &[],
    )
    .await;
    assert!(
        again
            .result
            .unwrap_err()
            .to_string()
            .starts_with("`slack:secops` is neither configured")
    );

    let unknown = run(dir.path(), &store, set("slak", false), &[]).await;
    let err = unknown.result.unwrap_err().to_string();
    assert!(
        err.starts_with("unknown output service `slak`; did you mean `slack`?"),
        "{err}"
    );
}

/// A store that, right after its first save, turns `outputs.json` into a directory so that
/// replacing the file fails: a failure between the two writes.
struct BreaksOutputsJson {
    inner: LocalStore,
    outputs: PathBuf,
    done: AtomicBool,
}

#[streamalert::async_trait]
impl CredentialStore for BreaksOutputsJson {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    async fn load(&self, s: &str, d: &str) -> Result<Option<SecretString>, StoreError> {
        self.inner.load(s, d).await
    }
    async fn save(&self, s: &str, d: &str, p: &SecretString) -> Result<(), StoreError> {
        self.inner.save(s, d, p).await?;
        if !self.done.swap(true, Ordering::SeqCst) {
            std::fs::remove_file(&self.outputs).unwrap();
            std::fs::create_dir_all(self.outputs.join("blocker")).unwrap();
        }
        Ok(())
    }
    async fn delete(&self, s: &str, d: &str) -> Result<(), StoreError> {
        self.inner.delete(s, d).await
    }
}

#[tokio::test]
async fn a_failed_outputs_json_write_restores_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let outputs = dir.path().join("outputs.json");
    let plain = store_in(dir.path());
    run(
        dir.path(),
        &plain,
        set("slack", false),
        &["secops", "https://hooks.example/old"],
    )
    .await
    .result
    .unwrap();

    // Replacing an existing descriptor: the old secret comes back.
    let store = BreaksOutputsJson {
        inner: store_in(dir.path()),
        outputs: outputs.clone(),
        done: AtomicBool::new(false),
    };
    let failed = run(
        dir.path(),
        &store,
        set("slack", true),
        &["secops", "https://hooks.example/new"],
    )
    .await;
    let err = failed.result.unwrap_err().to_string();
    assert!(
        err.starts_with(
            "An error occurred while saving 'secops' output configuration for service 'slack': "
        ),
        "{err}"
    );
    assert!(err.contains("outputs.json: cannot write"), "{err}");
    let restored = plain.load("slack", "secops").await.unwrap().unwrap();
    assert_eq!(
        restored.expose_secret(),
        r#"{"url": "https://hooks.example/old"}"#
    );

    // A new descriptor: its secret is removed again.
    std::fs::remove_dir_all(&outputs).unwrap();
    std::fs::write(&outputs, r#"{"slack": ["secops"]}"#).unwrap();
    let store = BreaksOutputsJson {
        inner: store_in(dir.path()),
        outputs: outputs.clone(),
        done: AtomicBool::new(false),
    };
    let failed = run(
        dir.path(),
        &store,
        set("slack", false),
        &["fresh", "https://hooks.example/f"],
    )
    .await;
    assert!(failed.result.is_err());
    assert!(plain.load("slack", "fresh").await.unwrap().is_none());
}

#[tokio::test]
async fn a_failed_store_write_leaves_outputs_json_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    run(
        dir.path(),
        &store,
        set("slack", false),
        &["secops", "https://hooks.example/1"],
    )
    .await
    .result
    .unwrap();
    let before = std::fs::read(dir.path().join("outputs.json")).unwrap();
    // The key becomes unusable: the store refuses to write.
    std::fs::set_permissions(
        dir.path().join("creds/key"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let failed = run(
        dir.path(),
        &store,
        set("slack", false),
        &["other", "https://hooks.example/2"],
    )
    .await;
    let err = failed.result.unwrap_err().to_string();
    assert!(err.contains("is accessible to other users"), "{err}");
    assert_eq!(
        std::fs::read(dir.path().join("outputs.json")).unwrap(),
        before
    );
    assert!(!store.path_of("slack", "other").exists());
}

#[tokio::test]
async fn set_from_file_validates_everything_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let batch = dir.path().join("batch.json");
    let url = webhook();
    let write = |value: Value| std::fs::write(&batch, value.to_string()).unwrap();
    let from_file = |update| OutputAction::SetFromFile {
        file: batch.clone(),
        update,
    };

    // Q6: a URL with a colon is fine, from a file too; teams' URL as well.
    write(json!({
        "slack": [{"descriptor": "secops", "url": url}],
        "teams": [{"descriptor": "soc", "url": "https://outlook.office.com/webhook/abc"}],
        "file": [{"descriptor": "alerts", "aws_value": "out/a.jsonl"}]
    }));
    let ok = run(dir.path(), &store, from_file(false), &[]).await;
    ok.result.unwrap();
    assert_eq!(
        ok.out,
        format!(
            "Saved 1 configurations for service: slack\nSaved 1 configurations for service: teams\n\
             Saved 1 configurations for service: file\n{} holds secrets in clear text: delete it now that they are stored.\n",
            batch.display()
        )
    );
    assert_eq!(
        outputs_json(dir.path()),
        json!({"slack": ["secops"], "teams": ["soc"], "file": {"alerts": "out/a.jsonl"}})
    );
    let stored = store.load("slack", "secops").await.unwrap().unwrap();
    assert_eq!(stored.expose_secret(), format!(r#"{{"url": "{url}"}}"#));

    let before = std::fs::read(dir.path().join("outputs.json")).unwrap();
    let rejected = |value: Value, update: bool| {
        write(value);
        run(dir.path(), &store, from_file(update), &[])
    };
    // A restricted character in a masked value: named, not shown.
    let err = rejected(
        json!({"slack": [{"descriptor": "new", "url": format!("{url} x")}]}),
        false,
    )
    .await
    .result
    .unwrap_err()
    .to_string();
    assert!(err.ends_with("`slack` entry 1: `url`: The supplied input should not contain any of the following: ' '"), "{err}");
    assert!(!err.contains(SECRET));
    // An unknown property.
    let err = rejected(
        json!({"slack": [{"descriptor": "new", "token": "x"}]}),
        false,
    )
    .await
    .result
    .unwrap_err()
    .to_string();
    assert!(
        err.ends_with("unknown key token passed for service: slack"),
        "{err}"
    );
    // An existing descriptor without --update, after a valid entry: nothing is written.
    let err = rejected(
        json!({"slack": [{"descriptor": "new", "url": "https://x"}, {"descriptor": "secops", "url": "https://y"}]}),
        false,
    )
    .await
    .result
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("This descriptor secops is already configured for slack"),
        "{err}"
    );
    assert!(store.load("slack", "new").await.unwrap().is_none());
    assert_eq!(
        std::fs::read(dir.path().join("outputs.json")).unwrap(),
        before
    );
    // Empty and unreadable files.
    let err = rejected(json!({}), false)
        .await
        .result
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with(&format!("File {} is empty", batch.display())),
        "{err}"
    );
    std::fs::write(&batch, "{").unwrap();
    let err = run(dir.path(), &store, from_file(false), &[])
        .await
        .result
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("Error opening file {}", batch.display())),
        "{err}"
    );

    // --update replaces.
    let updated = rejected(
        json!({"slack": [{"descriptor": "secops", "url": "https://hooks.example/9"}]}),
        true,
    )
    .await;
    updated.result.unwrap();
    let stored = store.load("slack", "secops").await.unwrap().unwrap();
    assert_eq!(
        stored.expose_secret(),
        r#"{"url": "https://hooks.example/9"}"#
    );
}

#[tokio::test]
async fn generate_skeleton_writes_each_property_with_its_restrictions() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let file = dir.path().join("skeleton.json");
    let run = run(
        dir.path(),
        &store,
        OutputAction::GenerateSkeleton {
            services: vec!["slack".into(), "file".into()],
            file: file.clone(),
        },
        &[],
    )
    .await;
    run.result.unwrap();
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        r#"{
  "file": [
    {
      "aws_value": "desc: the path of the JSON lines file to append alerts to, restrictions: set()",
      "descriptor": "desc: a short and unique descriptor for this file, restrictions: {' ', ':'}"
    }
  ],
  "slack": [
    {
      "descriptor": "desc: a short and unique descriptor for this Slack integration (ie: channel, group, etc), restrictions: {' ', ':'}",
      "url": "desc: the full Slack webhook url, including the secret, restrictions: {' '}"
    }
  ]
}"#
    );
    assert!(
        run.out
            .starts_with("Wrote the properties of 2 services to ")
    );
}

#[tokio::test]
async fn generate_skeleton_creates_the_file_readable_by_the_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let fresh = dir.path().join("fresh.json");
    let existing = dir.path().join("existing.json");
    std::fs::write(&existing, "{}").unwrap();
    std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o644)).unwrap();
    for file in [fresh, existing] {
        let action = OutputAction::GenerateSkeleton {
            services: vec!["slack".into()],
            file: file.clone(),
        };
        run(dir.path(), &store, action, &[]).await.result.unwrap();
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}: {mode:o}", file.display());
    }
}

// ---------------------------------------------------------------------------------------------
// No secret in logs or errors

#[tokio::test]
async fn no_secret_in_logs_or_errors_during_a_load_and_a_failing_dispatch() {
    use streamalert::config::OutputsConfig;
    use streamalert::processor::Processor;
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    streamalert_tests::record_global_logs();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_string("invalid_token"))
        .mount(&server)
        .await;
    let url = format!("{}/services/T000/B000/{SECRET}", server.uri());

    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(store_in(dir.path()));
    store
        .save(
            "slack",
            "secops",
            &encode_secret_json([("url", url.as_str())]),
        )
        .await
        .unwrap();
    let cache = Arc::new(CredentialCache::new(
        store.clone(),
        Duration::from_secs(600),
    ));
    let processor = Processor::new(OutputsConfig::from_json(r#"{"slack": ["secops"]}"#).unwrap())
        .with_credentials(cache);
    let alert = streamalert::Alert::new("root_login", json!({"user": "root"}), ["slack:secops"]);
    let err = processor
        .deliver_output(&alert, "slack:secops")
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("400"),
        "the dispatch failed at the server: {message}"
    );
    assert!(!message.contains(SECRET), "{message}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);

    // The failing store paths too.
    std::fs::set_permissions(
        dir.path().join("creds/key"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let err = CredentialCache::new(store, Duration::ZERO)
        .get("slack", "secops")
        .await
        .unwrap_err()
        .to_string();
    assert!(!err.contains(SECRET));

    let logs = streamalert_tests::global_log_text();
    assert!(
        logs.contains("credentials loaded from the store"),
        "the load was logged: {logs}"
    );
    let host = server.address().to_string();
    assert!(
        logs.contains(&format!("connecting to {host}")),
        "the dispatch's HTTP traffic was logged at TRACE: {logs}"
    );
    assert!(!logs.contains(SECRET), "a secret in the logs:\n{logs}");
}

#[tokio::test]
async fn validate_reports_descriptors_without_credentials_through_the_cache() {
    use streamalert::config::OutputsConfig;
    use streamalert::registry::{ProblemKind, validate};

    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(store_in(dir.path()));
    let config = OutputsConfig::from_json(r#"{"slack": ["secops", "missing"]}"#).unwrap();
    store
        .save(
            "slack",
            "secops",
            &encode_secret_json([("url", webhook().as_str())]),
        )
        .await
        .unwrap();
    let cache = CredentialCache::new(store.clone(), Duration::from_secs(600));
    let missing: Vec<String> = validate(streamalert::registry(), &config, &cache, &[])
        .await
        .into_iter()
        .filter(|p| p.kind == ProblemKind::MissingCredentials)
        .map(|p| p.message)
        .collect();
    assert_eq!(
        missing,
        [
            "outputs.json: `slack:missing`: no credentials are stored for this descriptor (it needs url)"
        ]
    );

    // An unreadable store is reported per descriptor, without any secret.
    std::fs::set_permissions(
        dir.path().join("creds/key"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let broken = CredentialCache::new(store, Duration::ZERO);
    let problems = validate(streamalert::registry(), &config, &broken, &[]).await;
    let secops = problems
        .iter()
        .find(|p| {
            p.message
                .starts_with("outputs.json: `slack:secops`: cannot read its credentials")
        })
        .unwrap();
    assert!(
        secops.message.contains("run `chmod 600 "),
        "{}",
        secops.message
    );
    assert!(!secops.message.contains(SECRET));
}
