/// One property of an output that `output set` prompts for (StreamAlert's `OutputProperty`).
///
/// ```
/// use streamalert::OutputProperty;
/// let url = OutputProperty::new("url", "the full Slack webhook url, including the secret")
///     .masked()
///     .secret()
///     .forbidding(&[' ']);
/// assert!(url.mask && url.secret);
/// assert!(url.validate("https://hooks.slack.com/x").is_ok());
/// assert_eq!(url.validate("has space").unwrap_err(), "the value may not contain ' '");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputProperty {
    /// The key under which the value is stored.
    pub name: &'static str,
    /// Shown in the prompt: `Please supply {description}: `.
    pub description: &'static str,
    /// Characters the value may not contain (default: space and colon).
    pub restrictions: &'static [char],
    /// Read without echo.
    pub mask: bool,
    /// Stored encrypted in the credential store rather than in `outputs.json`.
    pub secret: bool,
}

impl OutputProperty {
    /// The default forbidden characters: space and colon.
    pub const DEFAULT_RESTRICTIONS: &'static [char] = &[' ', ':'];

    /// A plain property: not masked, not secret, default restrictions.
    pub const fn new(name: &'static str, description: &'static str) -> Self {
        Self {
            name,
            description,
            restrictions: Self::DEFAULT_RESTRICTIONS,
            mask: false,
            secret: false,
        }
    }

    /// The `descriptor` property every output starts with.
    pub const fn descriptor(description: &'static str) -> Self {
        Self::new("descriptor", description)
    }

    /// The same property, read without echo.
    pub const fn masked(self) -> Self {
        Self { mask: true, ..self }
    }

    /// The same property, stored in the credential store.
    pub const fn secret(self) -> Self {
        Self {
            secret: true,
            ..self
        }
    }

    /// The same property with other forbidden characters (`&[]`: anything goes).
    pub const fn forbidding(self, restrictions: &'static [char]) -> Self {
        Self {
            restrictions,
            ..self
        }
    }

    /// Checks a value against the restrictions.
    pub fn validate(&self, value: &str) -> Result<(), String> {
        match self.restrictions.iter().find(|c| value.contains(**c)) {
            Some(c) => Err(format!("the value may not contain {c:?}")),
            None => Ok(()),
        }
    }
}
