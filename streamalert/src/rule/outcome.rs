//! What rule, matcher and dynamic-output functions may return.

/// The return type of a rule or matcher function: `bool`, or `Result<bool, E>` where an error
/// counts as "not triggered" and is logged.
///
/// ```
/// use streamalert::rule::RuleOutcome;
/// assert_eq!(true.into_outcome(), Ok(true));
/// assert_eq!(Err::<bool, _>("no user field").into_outcome(), Err("no user field".to_string()));
/// ```
pub trait RuleOutcome {
    /// `Ok(triggered)` or the error's text.
    fn into_outcome(self) -> Result<bool, String>;
}

impl RuleOutcome for bool {
    fn into_outcome(self) -> Result<bool, String> {
        Ok(self)
    }
}

impl<E: std::fmt::Display> RuleOutcome for Result<bool, E> {
    fn into_outcome(self) -> Result<bool, String> {
        self.map_err(|e| e.to_string())
    }
}

/// The return type of a dynamic-output function: one output, several, or none.
///
/// ```
/// use streamalert::rule::DynamicOutputs;
/// assert_eq!("slack:a".into_outputs(), Ok(vec!["slack:a".to_string()]));
/// assert_eq!(None::<String>.into_outputs(), Ok(vec![]));
/// assert_eq!(vec!["slack:a", "slack:b"].into_outputs().unwrap().len(), 2);
/// ```
pub trait DynamicOutputs {
    /// The outputs, or the error's text.
    fn into_outputs(self) -> Result<Vec<String>, String>;
}

impl DynamicOutputs for String {
    fn into_outputs(self) -> Result<Vec<String>, String> {
        Ok(vec![self])
    }
}

impl DynamicOutputs for &str {
    fn into_outputs(self) -> Result<Vec<String>, String> {
        Ok(vec![self.to_owned()])
    }
}

impl<T: DynamicOutputs> DynamicOutputs for Vec<T> {
    fn into_outputs(self) -> Result<Vec<String>, String> {
        let mut all = Vec::new();
        for item in self {
            all.extend(item.into_outputs()?);
        }
        Ok(all)
    }
}

impl<T: DynamicOutputs> DynamicOutputs for Option<T> {
    fn into_outputs(self) -> Result<Vec<String>, String> {
        self.map_or_else(|| Ok(Vec::new()), DynamicOutputs::into_outputs)
    }
}

impl<T: DynamicOutputs, E: std::fmt::Display> DynamicOutputs for Result<T, E> {
    fn into_outputs(self) -> Result<Vec<String>, String> {
        self.map_err(|e| e.to_string())?.into_outputs()
    }
}
