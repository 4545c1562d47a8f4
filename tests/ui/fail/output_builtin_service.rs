use streamalert::prelude::*;

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

fn main() {}
