//! The `aws-s3` output (feature `aws`).
use crate::alert::{Alert, Timestamp};
use crate::aws::{Aws, resolve, sdk_error};
use crate::json::PythonJson;
use crate::output::{Delivery, DispatchError, Output, OutputProperty};
use aws_sdk_s3::primitives::ByteStream;
use std::fmt;
use std::sync::Arc;

/// The hour stamp of S3 keys: the process's local clock (`datetime.now()`; UTC on Lambda).
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;
/// The unique part of S3 keys: a random UUID4.
pub type IdSource = Arc<dyn Fn() -> String + Send + Sync>;

/// `aws-s3`: each publication as one JSON object in a bucket (StreamAlert's `S3Output`).
///
/// `outputs.json` maps each descriptor to the bucket: `{"aws-s3": {"archive":
/// "my.alert.bucket"}}`. The key is
/// `alerts/dt=<YYYY-MM-DD-HH>/<source_service>_<source_entity>_<rule_name>_<uuid4>.json` (hour
/// of the local clock; missing fields read `None`, as in StreamAlert), the body
/// `json.dumps(publication)`. One `PutObject` per delivery.
///
/// ```no_run
/// use streamalert::{Alert, Output, Publication, output::Delivery, outputs::AwsS3};
/// # async fn demo() -> Result<(), streamalert::DispatchError> {
/// let alert = Alert::new("r", serde_json::json!({}), ["aws-s3:archive"]);
/// let publication = Publication::from(alert.output_dict());
/// let delivery = Delivery::new(&alert, "archive", &publication).with_setting(Some("my.alert.bucket"));
/// AwsS3::default().dispatch(&delivery).await
/// # }
/// ```
#[derive(Clone, Default)]
#[crate::output(service = "aws-s3", builtin)]
pub struct AwsS3 {
    aws: Option<Aws>,
    clock: Option<Clock>,
    ids: Option<IdSource>,
}

impl fmt::Debug for AwsS3 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsS3")
            .field("aws", &self.aws)
            .field("fixed_clock", &self.clock.is_some())
            .field("fixed_ids", &self.ids.is_some())
            .finish()
    }
}

impl AwsS3 {
    /// The output with its own AWS configuration instead of the process-wide one.
    pub fn with_aws(aws: Aws) -> Self {
        Self {
            aws: Some(aws),
            ..Self::default()
        }
    }

    /// The same output with another clock and id source (tests pin the key).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use streamalert::{Alert, alert::Timestamp, outputs::AwsS3};
    /// let hour: Timestamp = "2019-01-01T13:05:00.000000Z".parse().unwrap();
    /// let s3 = AwsS3::default().with_clock(Arc::new(move || hour), Arc::new(|| "0000".into()));
    /// let mut alert = Alert::new("rule", serde_json::json!({}), ["aws-s3:b"]);
    /// alert.source_service = Some("s3".into());
    /// assert_eq!(s3.object_key(&alert), "alerts/dt=2019-01-01-13/s3_None_rule_0000.json");
    /// ```
    pub fn with_clock(self, clock: Clock, ids: IdSource) -> Self {
        Self {
            clock: Some(clock),
            ids: Some(ids),
            ..self
        }
    }

    /// The object key of `alert`, from this output's clock and id source.
    pub fn object_key(&self, alert: &Alert) -> String {
        let now = self.clock.as_ref().map_or_else(
            || Timestamp::from(chrono::Local::now().naive_local()),
            |clock| clock(),
        );
        // `%Y-%m-%dT%H…` → `%Y-%m-%d-%H`
        let hour = now
            .to_string()
            .get(..13)
            .unwrap_or_default()
            .replace('T', "-");
        let id = self
            .ids
            .as_ref()
            .map_or_else(|| uuid::Uuid::new_v4().to_string(), |ids| ids());
        let text = |value: &Option<String>| value.clone().unwrap_or_else(|| "None".to_owned());
        format!(
            "alerts/dt={}/{}_{}_{}_{}.json",
            hour,
            text(&alert.source_service),
            text(&alert.source_entity),
            alert.rule_name,
            id
        )
    }
}

#[async_trait::async_trait]
impl Output for AwsS3 {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![
            OutputProperty::descriptor(
                "a short and unique descriptor for this S3 bucket (ie: bucket name)",
            ),
            OutputProperty::new(
                "aws_value",
                "the AWS S3 bucket name to use for this S3 configuration",
            ),
        ]
    }

    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError> {
        let bucket = crate::aws::required_setting(delivery, "aws-s3")?;
        let key = self.object_key(delivery.alert);
        let body = PythonJson::DEFAULT.dump_object(delivery.publication.entries());
        resolve(self.aws.as_ref())
            .await
            .s3()
            .put_object()
            .body(ByteStream::from(body.into_bytes()))
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| sdk_error("s3 PutObject", e))
    }
}
