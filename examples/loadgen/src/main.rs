//! Load and cold-start benchmark of streamalert-rs (issue #9); see `scripts/bench.sh`.

fn main() {}
