//! The `ssm` store: SecureString parameters, as StreamAlert keeps output credentials today
//! (spec §3.2).

use super::{
    CredentialStore, StoreError, cloud_error, kms_key_alias, resolve_prefix, ssm_parameter_name,
};
use crate::aws::Aws;
use crate::config::{SsmSettings, StoreKind};
use aws_sdk_ssm::types::{ParameterTier, ParameterType};
use secrecy::{ExposeSecret, SecretString};

/// The `ssm` credential store: one SecureString parameter per descriptor, named
/// `/<prefix>/streamalert/outputs/<service>/<descriptor>` and encrypted under
/// `alias/<prefix>_streamalert_secrets`, exactly as StreamAlert's CLI writes them
/// (`Description="StreamAlert Secret"`, standard tier, overwrite), so an existing StreamAlert
/// deployment's secrets are read as they are.
///
/// Loading calls `GetParameter` with decryption (SSM decrypts with KMS on the server side);
/// a missing parameter is "nothing stored".
///
/// ```no_run
/// use streamalert::aws::Aws;
/// use streamalert::creds::{CredentialStore, SsmStore};
/// # async fn demo() {
/// let store = SsmStore::new(Aws::shared().await, "acme", "alias/acme_streamalert_secrets");
/// assert_eq!(store.parameter_name("slack", "secops"), "/acme/streamalert/outputs/slack/secops");
/// let secret = store.load("slack", "secops").await.unwrap();
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct SsmStore {
    ssm: aws_sdk_ssm::Client,
    prefix: String,
    key_alias: String,
}

impl SsmStore {
    /// A store of the parameters under `/<prefix>/streamalert/outputs/`, encrypted with the KMS
    /// key `key_alias` (`alias/…`), with the clients of `aws`.
    pub fn new(aws: &Aws, prefix: impl Into<String>, key_alias: impl Into<String>) -> Self {
        Self {
            ssm: aws_sdk_ssm::Client::new(aws.sdk_config()),
            prefix: prefix.into(),
            key_alias: key_alias.into(),
        }
    }

    /// The store the `ssm` settings describe, with the process's shared [`Aws`].
    pub async fn from_settings(settings: &SsmSettings) -> Result<Self, StoreError> {
        let prefix = resolve_prefix(settings.prefix.as_deref(), StoreKind::Ssm)?;
        let alias = kms_key_alias(settings.kms_key_alias.as_deref(), &prefix);
        Ok(Self::new(Aws::shared().await, prefix, alias))
    }

    /// The parameter of `service:descriptor`.
    pub fn parameter_name(&self, service: &str, descriptor: &str) -> String {
        ssm_parameter_name(&self.prefix, service, descriptor)
    }

    /// The KMS key alias, `alias/…`.
    pub fn key_alias(&self) -> &str {
        &self.key_alias
    }
}

#[async_trait::async_trait]
impl CredentialStore for SsmStore {
    fn describe(&self) -> String {
        format!(
            "ssm store /{}/streamalert/outputs ({})",
            self.prefix, self.key_alias
        )
    }

    async fn load(
        &self,
        service: &str,
        descriptor: &str,
    ) -> Result<Option<SecretString>, StoreError> {
        let output = format!("{service}:{descriptor}");
        let reply = self
            .ssm
            .get_parameter()
            .name(self.parameter_name(service, descriptor))
            .with_decryption(true)
            .send()
            .await;
        match reply {
            Ok(reply) => Ok(reply
                .parameter
                .and_then(|p| p.value)
                .map(|value| SecretString::from(zeroize::Zeroizing::new(value).as_str()))),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_parameter_not_found()) =>
            {
                Ok(None)
            }
            Err(e) => Err(cloud_error("SSM", "GetParameter", &output, &e, true)),
        }
    }

    async fn save(
        &self,
        service: &str,
        descriptor: &str,
        plaintext: &SecretString,
    ) -> Result<(), StoreError> {
        // Validation messages of PutParameter may quote the value: only the code is reported.
        self.ssm
            .put_parameter()
            .name(self.parameter_name(service, descriptor))
            .description("StreamAlert Secret")
            .value(plaintext.expose_secret())
            .r#type(ParameterType::SecureString)
            .key_id(&self.key_alias)
            .overwrite(true)
            .tier(ParameterTier::Standard)
            .send()
            .await
            .map_err(|e| {
                cloud_error(
                    "SSM",
                    "PutParameter",
                    &format!("{service}:{descriptor}"),
                    &e,
                    false,
                )
            })?;
        Ok(())
    }

    async fn delete(&self, service: &str, descriptor: &str) -> Result<(), StoreError> {
        match self
            .ssm
            .delete_parameter()
            .name(self.parameter_name(service, descriptor))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_parameter_not_found()) =>
            {
                Ok(())
            }
            Err(e) => Err(cloud_error(
                "SSM",
                "DeleteParameter",
                &format!("{service}:{descriptor}"),
                &e,
                true,
            )),
        }
    }
}
