use streamalert::prelude::*;

#[derive(Default)]
#[output(service = "ticketing-v2")]
pub struct First;

#[derive(Default)]
#[output(service = "ticketing-v2")]
pub struct Second;

#[streamalert::async_trait]
impl Output for First {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![]
    }
    async fn dispatch(&self, _: &Delivery<'_>) -> Result<(), DispatchError> {
        Ok(())
    }
}

#[streamalert::async_trait]
impl Output for Second {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![]
    }
    async fn dispatch(&self, _: &Delivery<'_>) -> Result<(), DispatchError> {
        Ok(())
    }
}

fn main() {}
