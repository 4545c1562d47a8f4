//! A test-only processor binary without rules: the library's command line
//! (`streamalert::cli::run`), whose `output` command the pseudo-terminal tests of `creds_cli`
//! drive as a user of a processor binary would (`creds-output output set slack --config conf`).

fn main() -> std::process::ExitCode {
    streamalert::cli::run()
}
