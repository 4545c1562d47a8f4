//! Delivery of alerts to their outputs: compose each output's publication, dispatch it, and
//! report per output. A publisher or output that fails or panics fails only its own delivery.

use crate::alert::Alert;
use crate::config::OutputsConfig;
use crate::output::{Credentials, Delivery, DispatchError, ErrorKind, Output};
use crate::publisher::Chain;
use futures_util::FutureExt as _;
use std::collections::{BTreeMap, HashMap};
use std::panic::AssertUnwindSafe;
use std::sync::OnceLock;

/// The result of delivering one alert: each attempted output with its outcome.
pub type DeliveryReport = BTreeMap<String, Result<(), DispatchError>>;

/// Delivers alerts to the outputs configured in `outputs.json`.
///
/// ```
/// use streamalert::{Alert, config::OutputsConfig, processor::Processor};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let processor = Processor::new(OutputsConfig::from_json(r#"{"stdout": ["console"]}"#).unwrap());
/// let alert = Alert::new("demo", serde_json::json!({"user": "root"}), ["stdout:console", "slack:missing"]);
/// let report = processor.deliver(&alert).await;
/// assert!(report["stdout:console"].is_ok());
/// assert!(report["slack:missing"].is_err());
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct Processor {
    config: OutputsConfig,
}

impl Processor {
    /// A processor for the outputs of `config`.
    pub fn new(config: OutputsConfig) -> Self {
        Self { config }
    }

    /// Delivers every remaining output of `alert`, concurrently.
    pub async fn deliver(&self, alert: &Alert) -> DeliveryReport {
        let outputs = alert.remaining_outputs();
        let deliveries = outputs.iter().map(|output| async move {
            let outcome = self.deliver_output(alert, output).await;
            match &outcome {
                Ok(()) => tracing::info!(alert = %alert.alert_id, rule = %alert.rule_name, output, "delivered"),
                Err(error) => tracing::error!(alert = %alert.alert_id, rule = %alert.rule_name, output, %error, "delivery failed"),
            }
            (output.clone(), outcome)
        });
        futures_util::future::join_all(deliveries)
            .await
            .into_iter()
            .collect()
    }

    /// Delivers `alert` to one `service:descriptor`.
    pub async fn deliver_output(&self, alert: &Alert, output: &str) -> Result<(), DispatchError> {
        let config_error = |message: String| DispatchError::new(ErrorKind::Config, message);
        let Some((service, descriptor)) = output.split_once(':').filter(|(_, d)| !d.contains(':'))
        else {
            return Err(config_error(format!(
                "improperly formatted output `{output}`; expected `service:descriptor`"
            )));
        };
        let setting = self
            .config
            .setting(service, descriptor)
            .map_err(|e| config_error(e.to_string()))?;
        let instance = output_instance(service).ok_or_else(|| {
            config_error(format!(
                "no output is registered for service `{service}` (is its cargo feature enabled?)"
            ))
        })?;
        let publication = Chain::for_output(&alert.publishers, service, descriptor)
            .publish(alert)
            .map_err(|e| DispatchError::new(ErrorKind::Publish, e.to_string()))?;
        let credentials = Credentials::default();
        let delivery = Delivery::new(alert, descriptor, &publication)
            .with_credentials(&credentials)
            .with_setting(setting);
        AssertUnwindSafe(instance.dispatch(&delivery))
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| {
                Err(DispatchError::new(
                    ErrorKind::Panicked,
                    crate::rule::panic_message(&*panic),
                ))
            })
    }
}

/// The process's instance of the output registered for `service`.
pub fn output_instance(service: &str) -> Option<&'static dyn Output> {
    static INSTANCES: OnceLock<HashMap<&'static str, Box<dyn Output>>> = OnceLock::new();
    INSTANCES
        .get_or_init(|| {
            crate::registry()
                .outputs()
                .iter()
                .map(|entry| (entry.service, (entry.make)()))
                .collect()
        })
        .get(service)
        .map(|output| &**output)
}
