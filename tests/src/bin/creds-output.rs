//! A test-only binary that runs `streamalert::creds::OutputCommand` as a processor binary's
//! `output` command would: `creds-output [--config DIR] <set|set-from-file|list|get|delete|
//! generate-skeleton> ...`. The pseudo-terminal tests drive it.

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use streamalert::creds::OutputCommand;

/// The `output` command with the configuration directory option of the processor CLI.
#[derive(Debug, Parser)]
struct Cli {
    /// The configuration directory (outputs.json, processor.json).
    #[arg(long, value_name = "DIR", default_value = "conf")]
    config: PathBuf,
    #[command(flatten)]
    output: OutputCommand,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli.output.run(&cli.config)
}
