//! The processor binary's command line; `streamalert::main!()` calls [`run`].

use std::process::ExitCode;

/// Runs the command line of a processor binary built with `streamalert::main!()`.
pub fn run() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["list", what] => list(what),
        _ => {
            eprintln!("usage: list rules|publishers|outputs");
            ExitCode::from(2)
        }
    }
}

fn list(what: &str) -> ExitCode {
    let registry = crate::registry();
    match what {
        "rules" => registry.rules().iter().for_each(|r| println!("{}\t{}", r.name, r.location)),
        "publishers" => registry.publishers().iter().for_each(|p| println!("{}\t{}", p.name, p.location)),
        "outputs" => registry.outputs().iter().for_each(|o| println!("{}\t{}", o.service, o.location)),
        other => {
            eprintln!("error: cannot list `{other}`; expected rules, publishers or outputs");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
