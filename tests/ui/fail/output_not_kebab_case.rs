use streamalert::prelude::*;

#[derive(Default)]
#[output(service = "MyTicketing")]
pub struct MyTicketing;

#[streamalert::async_trait]
impl Output for MyTicketing {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![]
    }
    async fn dispatch(&self, _: &Delivery<'_>) -> Result<(), DispatchError> {
        Ok(())
    }
}

fn main() {}
