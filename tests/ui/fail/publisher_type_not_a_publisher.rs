use streamalert::prelude::*;

/// `#[publisher]` on a type that never implements `Publisher`.
#[derive(Default)]
#[publisher]
struct Forgotten;

fn main() {}
