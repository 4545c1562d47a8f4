//! Shared by the ledger tests: `hook`, an output that posts the alert id to the URL of its
//! `outputs.json` setting, one HTTP attempt per delivery (the shared layer's classification of
//! the reply, without its in-request retries).
#![allow(unreachable_pub)] // registered with the processor, not exported

use serde_json::json;
use streamalert::output::http::{Http, HttpOverrides, RetryPolicy};
use streamalert::output::{Delivery, DispatchError};
use streamalert::{Output, OutputProperty};

/// Posts the alert id to the URL in its `outputs.json` setting.
#[derive(Default)]
#[streamalert::output(service = "hook")]
pub struct Hook;

#[streamalert::async_trait]
impl Output for Hook {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![OutputProperty::descriptor("a name")]
    }

    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError> {
        HttpOverrides::new()
            .retry(RetryPolicy::SINGLE_ATTEMPT)
            .own_connections()
            .run(async {
                let http = Http::new("hook", delivery);
                let url = http.endpoint("url", delivery.setting.unwrap_or_default())?;
                http.post(url)
                    .json(&json!({"id": delivery.alert.alert_id}))
                    .send()
                    .await
                    .map(|_| ())
            })
            .await
    }
}
