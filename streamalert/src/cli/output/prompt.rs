//! Asking the user for property values: on the terminal, or from a script in tests.

use secrecy::SecretString;
use std::collections::VecDeque;
use std::io::{self, BufRead as _, IsTerminal as _, Write as _};
use zeroize::Zeroizing;

/// Where `output set` asks its questions and reads the answers.
///
/// ```
/// use secrecy::ExposeSecret;
/// use streamalert::cli::output::{Prompter, ScriptedPrompter};
/// let mut prompter = ScriptedPrompter::new(["secops", "https://hooks.example/x"]);
/// assert_eq!(prompter.read_line("descriptor: ").unwrap(), "secops");
/// assert_eq!(prompter.read_masked("url: ").unwrap().expose_secret(), "https://hooks.example/x");
/// assert_eq!(prompter.transcript(), "descriptor: secops\nurl: \n");
/// ```
pub trait Prompter {
    /// Shows `prompt` and reads one line, echoed (without its line ending).
    fn read_line(&mut self, prompt: &str) -> io::Result<String>;
    /// Shows `prompt` and reads one line without echo.
    fn read_masked(&mut self, prompt: &str) -> io::Result<SecretString>;
    /// Tells the user something: a rejected value, what was saved.
    fn tell(&mut self, message: &str) -> io::Result<()>;
}

fn ended() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the input ended before every question was answered",
    )
}

/// The terminal: prompts on standard output, answers from standard input. Masked answers are
/// read from the controlling terminal with echo off when standard input is a terminal, and as
/// a plain line otherwise (piped input is not shown anywhere).
///
/// ```no_run
/// use streamalert::cli::output::{Prompter, TerminalPrompter};
/// let token = TerminalPrompter.read_masked("\nPlease supply the token: ").unwrap();
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct TerminalPrompter;

impl TerminalPrompter {
    fn show(prompt: &str) -> io::Result<()> {
        let mut out = io::stdout().lock();
        out.write_all(prompt.as_bytes())?;
        out.flush()
    }

    fn line() -> io::Result<Zeroizing<String>> {
        let mut line = Zeroizing::new(String::new());
        if io::stdin().lock().read_line(&mut line)? == 0 {
            return Err(ended());
        }
        let trimmed = line.trim_end_matches(['\r', '\n']).len();
        line.truncate(trimmed);
        Ok(line)
    }
}

impl Prompter for TerminalPrompter {
    fn read_line(&mut self, prompt: &str) -> io::Result<String> {
        Self::show(prompt)?;
        Ok(Self::line()?.to_string())
    }

    fn read_masked(&mut self, prompt: &str) -> io::Result<SecretString> {
        if io::stdin().is_terminal() {
            Self::show(prompt)?;
            let answer = Zeroizing::new(rpassword::read_password()?);
            return Ok(SecretString::from(answer.as_str()));
        }
        Self::show(prompt)?;
        let answer = Self::line()?;
        // Piped input: end the prompt's line, as a terminal would after Enter.
        Self::show("\n")?;
        Ok(SecretString::from(answer.as_str()))
    }

    fn tell(&mut self, message: &str) -> io::Result<()> {
        let mut err = io::stderr().lock();
        writeln!(err, "{message}")?;
        err.flush()
    }
}

/// Answers given in advance, for tests and scripts. The transcript records prompts, echoed
/// answers and messages; a masked answer is never recorded (its line stays empty, as on a
/// terminal).
///
/// ```
/// use streamalert::cli::output::{Prompter, ScriptedPrompter};
/// let mut prompter = ScriptedPrompter::new(["only one"]);
/// prompter.read_line("a? ").unwrap();
/// assert!(prompter.read_line("b? ").is_err());
/// ```
#[derive(Debug, Default)]
pub struct ScriptedPrompter {
    answers: VecDeque<Zeroizing<String>>,
    transcript: String,
}

impl ScriptedPrompter {
    /// A prompter answering with `answers`, in order.
    pub fn new<S: Into<String>>(answers: impl IntoIterator<Item = S>) -> Self {
        Self {
            answers: answers
                .into_iter()
                .map(|a| Zeroizing::new(a.into()))
                .collect(),
            transcript: String::new(),
        }
    }

    /// Everything shown so far: prompts, echoed answers, messages.
    pub fn transcript(&self) -> &str {
        &self.transcript
    }

    /// How many answers were not asked for.
    pub fn remaining(&self) -> usize {
        self.answers.len()
    }

    fn next(&mut self) -> io::Result<Zeroizing<String>> {
        self.answers.pop_front().ok_or_else(ended)
    }
}

impl Prompter for ScriptedPrompter {
    fn read_line(&mut self, prompt: &str) -> io::Result<String> {
        self.transcript.push_str(prompt);
        let answer = self.next()?;
        self.transcript.push_str(&answer);
        self.transcript.push('\n');
        Ok(answer.to_string())
    }

    fn read_masked(&mut self, prompt: &str) -> io::Result<SecretString> {
        self.transcript.push_str(prompt);
        let answer = self.next()?;
        self.transcript.push('\n');
        Ok(SecretString::from(answer.as_str()))
    }

    fn tell(&mut self, message: &str) -> io::Result<()> {
        self.transcript.push_str(message);
        self.transcript.push('\n');
        Ok(())
    }
}
