use streamalert::prelude::*;
streamalert::services!(crate::MySlack);

/// A mistake in an output listed in `services!` is reported once, at the output: the table
/// still builds (without it) and the type is still known as an output.
#[derive(Default)]
#[output(service = "slack")]
pub struct MySlack;

#[streamalert::async_trait]
impl Output for MySlack {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![]
    }
    async fn dispatch(&self, _: &Delivery<'_>) -> Result<(), DispatchError> {
        Ok(())
    }
}

/// A mistake in a publisher is reported once, at the publisher: the rule naming it still
/// finds a publisher there.
#[publisher]
fn tidy(p: Publication) -> Publication {
    p
}

#[rule(logs = ["osquery:differential"], outputs = ["slack:secops"], publishers = [tidy])]
fn root_login(rec: &Record) -> bool {
    rec["user"] == "root"
}

fn main() {}
