//! The grammar of an output reference, `service:descriptor`: the rules and messages of the
//! compile-time check of `#[rule(outputs = [...])]` (`streamalert-macros`, `keys.rs`), tied to it
//! by the case table `streamalert-macros/tests/output_refs.tsv` that both test suites read.
//!
//! Public as [`output::OutputRef`](crate::output::OutputRef); it sits below `output` so that
//! the configuration and the publishers, which `output` reads, can parse output names too.

/// A reference to one configured output instance: `service:descriptor` (`slack:secops`).
///
/// The service is the text before the first `:` and may not be empty; the descriptor is the
/// rest, not empty, without a space or a second `:`.
///
/// ```
/// use streamalert::output::OutputRef;
/// let output = OutputRef::parse("slack:secops").unwrap();
/// assert_eq!((output.service, output.descriptor), ("slack", "secops"));
/// assert_eq!(output.to_string(), "slack:secops");
/// assert_eq!(
///     OutputRef::parse("slack").unwrap_err().to_string(),
///     "output `slack` has no descriptor; write it as `slack:<descriptor>`, e.g. `slack:secops`"
/// );
/// assert!(OutputRef::parse("slack:a b").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OutputRef<'a> {
    /// The output service, e.g. `slack`.
    pub service: &'a str,
    /// The configured instance of the service, e.g. `secops`.
    pub descriptor: &'a str,
}

/// Why a text is not an output reference `service:descriptor`; each message names the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OutputRefError {
    /// There is no `:` (StreamAlert's "missing ':'").
    #[error("output `{0}` has no descriptor; write it as `{0}:<descriptor>`, e.g. `{0}:secops`")]
    NoDescriptor(String),
    /// Nothing comes before the `:`.
    #[error("output `{0}` has no service before the `:`")]
    NoService(String),
    /// Nothing comes after the `:`.
    #[error("output `{0}` has an empty descriptor; name the instance after the `:`")]
    EmptyDescriptor(String),
    /// The descriptor contains a space or a second `:`.
    #[error("the descriptor `{descriptor}` of output `{output}` may not contain {character:?}")]
    ForbiddenCharacter {
        /// The whole text.
        output: String,
        /// The text after the first `:`.
        descriptor: String,
        /// The first forbidden character in it.
        character: char,
    },
}

impl<'a> OutputRef<'a> {
    /// Splits `text` into service and descriptor, or says what is wrong with it.
    pub fn parse(text: &'a str) -> Result<Self, OutputRefError> {
        let Some((service, descriptor)) = text.split_once(':') else {
            return Err(OutputRefError::NoDescriptor(text.to_owned()));
        };
        if service.is_empty() {
            return Err(OutputRefError::NoService(text.to_owned()));
        }
        if descriptor.is_empty() {
            return Err(OutputRefError::EmptyDescriptor(text.to_owned()));
        }
        if let Some(character) = descriptor.chars().find(|c| *c == ' ' || *c == ':') {
            return Err(OutputRefError::ForbiddenCharacter {
                output: text.to_owned(),
                descriptor: descriptor.to_owned(),
                character,
            });
        }
        Ok(Self {
            service,
            descriptor,
        })
    }
}

impl std::fmt::Display for OutputRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.service, self.descriptor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cases of the macro crate's grammar (its `keys.rs` test reads the same file).
    const CASES: &str = include_str!("../../streamalert-macros/tests/output_refs.tsv");

    #[test]
    fn the_grammar_is_the_macro_crates() {
        let mut cases = 0;
        for line in CASES
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let fields: Vec<&str> = line.split('\t').collect();
            match fields.as_slice() {
                [input, "ok", service, descriptor] => {
                    let parsed = OutputRef::parse(input).unwrap();
                    assert_eq!((parsed.service, parsed.descriptor), (*service, *descriptor));
                    assert_eq!(parsed.to_string(), *input, "Display gives the text back");
                }
                [input, "error", message] => {
                    let error = OutputRef::parse(input).unwrap_err();
                    assert_eq!(error.to_string(), *message, "{input:?}");
                }
                _ => panic!("malformed case line {line:?}"),
            }
            cases += 1;
        }
        assert!(cases >= 10, "only {cases} cases read");
    }
}
