use std::fmt;

/// Why a delivery failed, and whether trying again may succeed.
///
/// ```
/// use streamalert::output::{DispatchError, ErrorKind};
/// let err = DispatchError::new(ErrorKind::Rejected, "HTTP 400: invalid payload").with_status(400);
/// assert!(!err.is_retryable());
/// assert_eq!(err.status(), Some(400));
/// assert!(DispatchError::new(ErrorKind::Unavailable, "HTTP 503").is_retryable());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct DispatchError {
    kind: ErrorKind,
    message: String,
    status: Option<u16>,
}

/// The kinds of delivery failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The output's configuration is missing or wrong (descriptor, setting, URL).
    Config,
    /// A credential the output needs is not stored.
    Credentials,
    /// The publisher chain failed or panicked.
    Publish,
    /// The service answered with a final refusal (4xx other than 429).
    Rejected,
    /// The service is unavailable, throttling (429, 5xx) or could not be reached.
    Unavailable,
    /// The request timed out.
    Timeout,
    /// The service answered, but not as the output requires (e.g. not JSON).
    InvalidResponse,
    /// Local I/O failed (the `file` output).
    Io,
    /// The output panicked.
    Panicked,
    /// The destination's rate limit had no token for the delivery before its deadline
    /// ([`pacing`](crate::output::pacing)); nothing was sent. Retryable, and never the reason a
    /// delivery is given up.
    Paced,
}

impl ErrorKind {
    /// True when a later attempt may succeed without anyone changing anything.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            Self::Unavailable | Self::Timeout | Self::Io | Self::Paced
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Config => "configuration error",
            Self::Credentials => "missing credentials",
            Self::Publish => "publisher failed",
            Self::Rejected => "rejected by the service",
            Self::Unavailable => "service unavailable",
            Self::Timeout => "timed out",
            Self::InvalidResponse => "invalid response",
            Self::Io => "I/O error",
            Self::Panicked => "output panicked",
            Self::Paced => "rate-limited here",
        })
    }
}

impl DispatchError {
    /// An error of `kind` with a message that must not contain secrets.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            status: None,
        }
    }

    /// The same error with the service's HTTP status.
    pub fn with_status(self, status: u16) -> Self {
        Self {
            status: Some(status),
            ..self
        }
    }

    /// A credential named `property` is missing.
    pub fn missing_credential(property: &str) -> Self {
        Self::new(
            ErrorKind::Credentials,
            format!("no `{property}` stored for this descriptor"),
        )
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The service's HTTP status, if it answered.
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// True when a later attempt may succeed.
    pub fn is_retryable(&self) -> bool {
        self.kind.is_retryable()
    }

    /// True when sending the same delivery again cannot succeed until someone changes
    /// something: the service refused it (HTTP 4xx other than 408 and 429), the output is not
    /// configured or its credentials are missing. The processor gives
    /// such a delivery up at its first attempt (`dead` in the ledger).
    ///
    /// ```
    /// use streamalert::output::{DispatchError, ErrorKind};
    /// assert!(DispatchError::new(ErrorKind::Rejected, "HTTP 400").with_status(400).is_permanent());
    /// assert!(!DispatchError::new(ErrorKind::Rejected, "HTTP 408").with_status(408).is_permanent());
    /// assert!(DispatchError::new(ErrorKind::Config, "no such descriptor").is_permanent());
    /// assert!(!DispatchError::new(ErrorKind::Unavailable, "HTTP 500").with_status(500).is_permanent());
    /// assert!(!DispatchError::new(ErrorKind::InvalidResponse, "empty 2xx").is_permanent());
    /// assert!(!DispatchError::new(ErrorKind::Publish, "publisher panicked").is_permanent());
    /// ```
    pub fn is_permanent(&self) -> bool {
        match self.kind {
            ErrorKind::Rejected => !matches!(self.status, Some(408 | 429)),
            ErrorKind::Config | ErrorKind::Credentials => true,
            _ => false,
        }
    }
}
