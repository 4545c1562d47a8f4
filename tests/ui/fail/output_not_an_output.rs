use streamalert::prelude::*;

/// Forgot `impl Output`.
#[derive(Default)]
#[output(service = "ticketing-v2")]
pub struct Ticketing;

fn main() {}
