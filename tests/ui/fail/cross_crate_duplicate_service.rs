use streamalert::prelude::*;
streamalert::services!(crate::LocalTicketing, ::ext_outputs::Ticketing);

/// Declares the same service as the fixture crate's output.
#[derive(Default)]
#[output(service = "ticketing")]
pub struct LocalTicketing;

#[streamalert::async_trait]
impl Output for LocalTicketing {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![]
    }
    async fn dispatch(&self, _: &Delivery<'_>) -> Result<(), DispatchError> {
        Ok(())
    }
}

fn main() {}
