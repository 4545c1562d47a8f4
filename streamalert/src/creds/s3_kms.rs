//! The `s3-kms` store: KMS-encrypted JSON objects in an S3 bucket (StreamAlert's documented
//! store: "encrypted and decrypted using AWS KMS, stored on Amazon S3, downloaded and decrypted
//! on an as-needed basis, never cached on disk in a decrypted state").

use super::{
    CredentialStore, StoreError, cloud_error, formatted_name, kms_key_alias, resolve_prefix,
};
use crate::aws::Aws;
use crate::config::{S3KmsSettings, StoreKind};
use aws_sdk_kms::primitives::Blob;
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

/// The `s3-kms` credential store: one object per descriptor, key `<service>/<descriptor>`, in
/// the bucket `<prefix>.streamalert.secrets`; its body is the KMS ciphertext of the
/// descriptor's JSON, encrypted under `alias/<prefix>_streamalert_secrets`.
///
/// Loading downloads the object and calls KMS `Decrypt` (naming the store's key, so a
/// ciphertext of another key is refused); the plaintext is kept in memory only. Saving calls
/// KMS `Encrypt` and uploads the ciphertext. The SDK configuration is the process's shared
/// [`Aws`] (region, credentials, endpoint override).
///
/// ```no_run
/// use streamalert::aws::Aws;
/// use streamalert::creds::{CredentialStore, S3KmsStore};
/// # async fn demo() {
/// let store = S3KmsStore::new(Aws::shared().await, "acme.streamalert.secrets", "alias/acme_streamalert_secrets");
/// let secret = store.load("slack", "secops").await.unwrap();
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct S3KmsStore {
    s3: aws_sdk_s3::Client,
    kms: aws_sdk_kms::Client,
    bucket: String,
    key_alias: String,
}

impl S3KmsStore {
    /// A store of `bucket`, encrypting with the KMS key `key_alias` (`alias/…`), with the
    /// clients of `aws`.
    pub fn new(aws: &Aws, bucket: impl Into<String>, key_alias: impl Into<String>) -> Self {
        Self {
            s3: aws.s3(),
            kms: aws_sdk_kms::Client::new(aws.sdk_config()),
            bucket: bucket.into(),
            key_alias: key_alias.into(),
        }
    }

    /// The store the `s3-kms` settings describe, with the process's shared [`Aws`].
    pub async fn from_settings(settings: &S3KmsSettings) -> Result<Self, StoreError> {
        let prefix = resolve_prefix(settings.prefix.as_deref(), StoreKind::S3Kms)?;
        let bucket = settings
            .bucket
            .clone()
            .unwrap_or_else(|| format!("{prefix}.streamalert.secrets"));
        let alias = kms_key_alias(settings.kms_key_alias.as_deref(), &prefix);
        Ok(Self::new(Aws::shared().await, bucket, alias))
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The KMS key alias, `alias/…`.
    pub fn key_alias(&self) -> &str {
        &self.key_alias
    }

    /// The object key of `service:descriptor`: `service/descriptor` (StreamAlert's name).
    ///
    /// ```
    /// assert_eq!(streamalert::creds::S3KmsStore::object_key("slack", "secops"), "slack/secops");
    /// ```
    pub fn object_key(service: &str, descriptor: &str) -> String {
        formatted_name(service, descriptor)
    }

    fn location(&self, service: &str, descriptor: &str) -> String {
        format!(
            "s3://{}/{}",
            self.bucket,
            Self::object_key(service, descriptor)
        )
    }
}

#[async_trait::async_trait]
impl CredentialStore for S3KmsStore {
    fn describe(&self) -> String {
        format!("s3-kms store s3://{} ({})", self.bucket, self.key_alias)
    }

    async fn load(
        &self,
        service: &str,
        descriptor: &str,
    ) -> Result<Option<SecretString>, StoreError> {
        let output = format!("{service}:{descriptor}");
        let key = Self::object_key(service, descriptor);
        let object = match self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
        {
            Ok(object) => object,
            Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(cloud_error("S3", "GetObject", &output, &e, true)),
        };
        let ciphertext = object
            .body
            .collect()
            .await
            .map_err(|e| StoreError::Cloud {
                service: "S3",
                operation: "GetObject",
                output: output.clone(),
                message: format!("reading the object failed: {e}"),
            })?
            .into_bytes();
        let decrypted = self
            .kms
            .decrypt()
            .key_id(&self.key_alias)
            .ciphertext_blob(Blob::new(ciphertext.to_vec()))
            .send()
            .await;
        let plaintext = match decrypted {
            Ok(reply) => Zeroizing::new(reply.plaintext.map(Blob::into_inner).unwrap_or_default()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_invalid_ciphertext_exception()) =>
            {
                return Err(StoreError::Decrypt {
                    output,
                    location: self.location(service, descriptor),
                });
            }
            Err(e) => return Err(cloud_error("KMS", "Decrypt", &output, &e, true)),
        };
        let text = std::str::from_utf8(&plaintext).map_err(|_| StoreError::Corrupt {
            output: output.clone(),
            location: self.location(service, descriptor),
            why: "the decrypted object is not UTF-8 text".into(),
        })?;
        Ok(Some(SecretString::from(text)))
    }

    async fn save(
        &self,
        service: &str,
        descriptor: &str,
        plaintext: &SecretString,
    ) -> Result<(), StoreError> {
        let output = format!("{service}:{descriptor}");
        // The SDK takes the plaintext by value; the copy lives only for the request.
        let encrypted = self
            .kms
            .encrypt()
            .key_id(&self.key_alias)
            .plaintext(Blob::new(plaintext.expose_secret().as_bytes().to_vec()))
            .send()
            .await
            .map_err(|e| cloud_error("KMS", "Encrypt", &output, &e, false))?;
        let ciphertext = encrypted
            .ciphertext_blob
            .map(Blob::into_inner)
            .ok_or_else(|| StoreError::Cloud {
                service: "KMS",
                operation: "Encrypt",
                output: output.clone(),
                message: "the reply holds no ciphertext".into(),
            })?;
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(Self::object_key(service, descriptor))
            .body(ciphertext.into())
            .send()
            .await
            .map_err(|e| cloud_error("S3", "PutObject", &output, &e, true))?;
        Ok(())
    }

    async fn delete(&self, service: &str, descriptor: &str) -> Result<(), StoreError> {
        self.s3
            .delete_object()
            .bucket(&self.bucket)
            .key(Self::object_key(service, descriptor))
            .send()
            .await
            .map_err(|e| {
                cloud_error(
                    "S3",
                    "DeleteObject",
                    &format!("{service}:{descriptor}"),
                    &e,
                    true,
                )
            })?;
        Ok(())
    }
}
