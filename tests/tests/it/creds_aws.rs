//! The cloud credential stores against a local moto server (endpoint in
//! `STREAMALERT_TEST_AWS_ENDPOINT`, see `scripts/moto-server.sh`): `s3-kms` keeps KMS ciphertext
//! in S3 and decrypts it with KMS on load; `ssm` keeps SecureString parameters under
//! StreamAlert's names. Without the endpoint each test says it was skipped (under `CI=true` it
//! fails instead).

use crate::aws_support;
use secrecy::ExposeSecret;
use serde_json::json;
use streamalert::aws::{Aws, AwsSettings, StaticCredentials};
use streamalert::cli::output::{OutputAction, OutputCommand, OutputContext, ScriptedPrompter};
use streamalert::config::{StoreKind, StoreSettings};
use streamalert::creds::sdk::{kms, ssm};
use streamalert::creds::{
    CredentialStore, S3KmsStore, SsmStore, StoreError, encode_secret_json, load_credentials,
};

/// The secret part of the stored webhook URL.
const SECRET: &str = "xoxb-aws-5ecre7-c0ffee";

/// An AWS configuration for moto, or `None` (and a notice) when no endpoint is given; under
/// `CI=true` a missing endpoint fails the test ([`aws_support::moto_endpoint`]).
async fn moto(test: &str) -> Option<Aws> {
    let endpoint = aws_support::moto_endpoint(test)?;
    let settings = AwsSettings::from_env()
        .with_region("us-east-1")
        .with_endpoint(endpoint)
        .with_credentials(StaticCredentials::new("testing", "testing"))
        .with_max_attempts(1);
    Some(Aws::load(settings).await)
}

fn unique(prefix: &str) -> String {
    format!("{prefix}{}", uuid_fragment())
}

fn uuid_fragment() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{:x}{:x}{:x}",
        std::process::id(),
        nanos,
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

fn kms_client(aws: &Aws) -> kms::Client {
    kms::Client::new(aws.sdk_config())
}

/// A new KMS key with a new alias; returns the alias (`alias/…`).
async fn key_with_alias(aws: &Aws) -> String {
    let kms = kms_client(aws);
    let key = kms.create_key().send().await.unwrap();
    let key_id = key.key_metadata.unwrap().key_id;
    let alias = format!("alias/{}_streamalert_secrets", unique("p"));
    kms.create_alias()
        .alias_name(&alias)
        .target_key_id(key_id)
        .send()
        .await
        .unwrap();
    alias
}

async fn bucket(aws: &Aws) -> String {
    let name = format!("{}.streamalert.secrets", unique("p"));
    aws.s3().create_bucket().bucket(&name).send().await.unwrap();
    name
}

fn webhook() -> String {
    format!("https://hooks.slack.com/services/T0/B0/{SECRET}")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn s3_kms_round_trip_stores_kms_ciphertext_and_decrypts_with_kms() {
    let Some(aws) = moto("s3_kms_round_trip").await else {
        return;
    };
    let alias = key_with_alias(&aws).await;
    let bucket = bucket(&aws).await;
    let store = S3KmsStore::new(&aws, &bucket, &alias);
    let secret = encode_secret_json([("url", webhook().as_str())]);

    assert!(
        store.load("slack", "secops").await.unwrap().is_none(),
        "missing object: nothing stored"
    );
    store.save("slack", "secops", &secret).await.unwrap();
    let loaded = store.load("slack", "secops").await.unwrap().unwrap();
    assert_eq!(loaded.expose_secret(), secret.expose_secret());

    // The object, as S3 holds it: ciphertext, which KMS turns back into the JSON.
    let object = aws
        .s3()
        .get_object()
        .bucket(&bucket)
        .key("slack/secops")
        .send()
        .await
        .unwrap();
    let body = object.body.collect().await.unwrap().into_bytes().to_vec();
    assert!(
        !contains(&body, SECRET.as_bytes()),
        "the object holds the secret"
    );
    assert!(
        !contains(&body, b"hooks.slack.com"),
        "the object holds the URL"
    );
    let decrypted = kms_client(&aws)
        .decrypt()
        .ciphertext_blob(kms::primitives::Blob::new(body))
        .send()
        .await
        .unwrap();
    assert_eq!(
        decrypted.plaintext.unwrap().into_inner(),
        secret.expose_secret().as_bytes()
    );

    // Loading goes through KMS Decrypt with the store's key: without the alias it fails.
    kms_client(&aws)
        .delete_alias()
        .alias_name(&alias)
        .send()
        .await
        .unwrap();
    let err = store.load("slack", "secops").await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Cloud {
                service: "KMS",
                operation: "Decrypt",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("KMS Decrypt for slack:secops failed: NotFoundException"),
        "{err}"
    );

    store.delete("slack", "secops").await.unwrap();
    assert!(store.load("slack", "secops").await.unwrap().is_none());
}

#[tokio::test]
async fn s3_kms_access_denied_tampering_and_a_missing_bucket_are_clear_errors() {
    let Some(aws) = moto("s3_kms_errors").await else {
        return;
    };
    let ours = key_with_alias(&aws).await;
    let theirs = key_with_alias(&aws).await;
    let bucket = bucket(&aws).await;
    let writer = S3KmsStore::new(&aws, &bucket, &theirs);
    writer
        .save(
            "slack",
            "secops",
            &encode_secret_json([("url", webhook().as_str())]),
        )
        .await
        .unwrap();

    // A ciphertext of a key this store may not use: KMS refuses.
    let reader = S3KmsStore::new(&aws, &bucket, &ours);
    let err = reader.load("slack", "secops").await.unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with("KMS Decrypt for slack:secops failed: AccessDeniedException"),
        "{message}"
    );
    assert!(!message.contains(SECRET));

    // A modified object: not a ciphertext KMS accepts.
    aws.s3()
        .put_object()
        .bucket(&bucket)
        .key("slack/tampered")
        .body(
            b"not a kms ciphertext at all, long enough to parse"
                .to_vec()
                .into(),
        )
        .send()
        .await
        .unwrap();
    let err = reader.load("slack", "tampered").await.unwrap_err();
    assert!(matches!(err, StoreError::Decrypt { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "cannot decrypt the credentials of slack:tampered in s3://{bucket}/slack/tampered: the key does not \
             match the one they were encrypted with, or the file was modified"
        )
    );

    // No bucket at all.
    let nowhere = S3KmsStore::new(&aws, unique("missing"), &ours);
    let err = nowhere
        .load("slack", "secops")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("S3 GetObject for slack:secops failed: NoSuchBucket"),
        "{err}"
    );
}

#[tokio::test]
async fn ssm_round_trip_uses_streamalert_names_and_securestring() {
    let Some(aws) = moto("ssm_round_trip").await else {
        return;
    };
    let alias = key_with_alias(&aws).await;
    let prefix = unique("p");
    let store = SsmStore::new(&aws, &prefix, &alias);
    let name = format!("/{prefix}/streamalert/outputs/slack/secops");
    assert_eq!(store.parameter_name("slack", "secops"), name);

    assert!(store.load("slack", "secops").await.unwrap().is_none());
    let secret = encode_secret_json([("url", webhook().as_str())]);
    store.save("slack", "secops", &secret).await.unwrap();
    let loaded = store.load("slack", "secops").await.unwrap().unwrap();
    assert_eq!(loaded.expose_secret(), secret.expose_secret());

    let client = ssm::Client::new(aws.sdk_config());
    let raw = client
        .get_parameter()
        .name(&name)
        .with_decryption(false)
        .send()
        .await
        .unwrap()
        .parameter
        .unwrap();
    assert_eq!(raw.r#type, Some(ssm::types::ParameterType::SecureString));
    assert_ne!(
        raw.value.as_deref(),
        Some(secret.expose_secret()),
        "stored encrypted"
    );
    let described = client
        .describe_parameters()
        .parameter_filters(
            ssm::types::ParameterStringFilter::builder()
                .key("Name")
                .values(&name)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let metadata = &described.parameters.unwrap()[0];
    assert_eq!(metadata.description.as_deref(), Some("StreamAlert Secret"));
    assert_eq!(metadata.key_id.as_deref(), Some(alias.as_str()));

    // CRED-07: a url and a token load as two credentials.
    store
        .save(
            "carbonblack",
            "unit_test",
            &encode_secret_json([
                ("url", "http://www.foo.bar/test"),
                ("token", "token_to_encrypt"),
            ]),
        )
        .await
        .unwrap();
    let creds = load_credentials(&store, "carbonblack", "unit_test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(creds.names().count(), 2);

    store.delete("slack", "secops").await.unwrap();
    store.delete("slack", "secops").await.unwrap();
    assert!(store.load("slack", "secops").await.unwrap().is_none());
}

#[tokio::test]
async fn output_set_writes_outputs_json_and_the_ssm_parameter() {
    let Some(aws) = moto("output_set_ssm").await else {
        return;
    };
    let alias = key_with_alias(&aws).await;
    let prefix = unique("p");
    let store = SsmStore::new(&aws, &prefix, &alias);
    let dir = tempfile::tempdir().unwrap();
    let url = webhook();
    let mut prompter = ScriptedPrompter::new(["secops", url.as_str()]);
    let mut out = Vec::new();
    OutputCommand {
        action: OutputAction::Set {
            service: "slack".into(),
            update: false,
        },
    }
    .execute(OutputContext {
        config_dir: dir.path(),
        store: Some(&store),
        prompter: &mut prompter,
        out: &mut out,
    })
    .await
    .unwrap();
    let outputs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("outputs.json")).unwrap())
            .unwrap();
    assert_eq!(outputs, json!({"slack": ["secops"]}));
    let stored = store.load("slack", "secops").await.unwrap().unwrap();
    assert_eq!(stored.expose_secret(), format!(r#"{{"url": "{url}"}}"#));
    assert!(!prompter.transcript().contains(SECRET));
}

/// Without a configured prefix the store takes `STREAMALERT_PREFIX`; when that is set in this
/// test's environment, the test runs again in a child process without it (a test cannot unset
/// a variable of its own, multi-threaded, process).
#[tokio::test]
async fn cloud_store_settings_need_a_prefix() {
    const TEST: &str = "cloud_store_settings_need_a_prefix";
    if std::env::var_os("STREAMALERT_PREFIX").is_some() {
        let child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([TEST, "--exact", "--nocapture", "--test-threads=1"])
            .env_remove("STREAMALERT_PREFIX")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&child.stdout);
        assert!(
            child.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&child.stderr)
        );
        assert!(
            stdout.contains("1 passed"),
            "the child ran the test: {stdout}"
        );
        return;
    }
    let settings = StoreSettings::from_json(r#"{"store": "ssm"}"#).unwrap();
    assert_eq!(settings.store, StoreKind::Ssm);
    let err = streamalert::creds::open(&settings)
        .await
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        err,
        "credential store settings: the `ssm` store needs a prefix: set credentials.ssm.prefix in \
         processor.json or the environment variable STREAMALERT_PREFIX"
    );
}
