//! The generated code uses absolute paths only: a user scope that shadows `core`, `std`
//! prelude names, `inventory` and `serde_json` still compiles and registers everything.
//! (`Box` is left alone: `async_trait` itself refers to it unqualified.)
#![allow(dead_code, non_camel_case_types)]

mod core {}
mod inventory {}
mod serde_json {}
type Result = ();
struct Option;
struct Some;
struct None;

use streamalert::prelude::*;

streamalert::services!(crate::Custom);

#[derive(Default)]
#[output(service = "custom", fields = ["x"])]
pub struct Custom;

#[streamalert::async_trait]
impl Output for Custom {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![]
    }
    async fn dispatch(&self, _: &Delivery<'_>) -> std::result::Result<(), DispatchError> {
        Ok(())
    }
}

#[publisher]
fn set_x(_: &Alert, mut p: Publication) -> Publication {
    p.insert("@custom.x", 1);
    p
}

#[rule(logs = ["l"], outputs = ["custom:a"], publishers = [set_x], context = {"k": [1, null]})]
fn r(_: &Record, _: &mut Context) -> bool {
    true
}

fn main() {
    let registry = streamalert::registry();
    assert!(registry.rule("r").is_some());
    assert!(registry.output("custom").is_some());
}
