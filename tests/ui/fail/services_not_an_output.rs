streamalert::services!(crate::NotAnOutput);

pub struct NotAnOutput;

fn main() {}
