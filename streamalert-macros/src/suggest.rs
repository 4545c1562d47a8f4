//! "Did you mean" suggestions.

/// The candidate closest to `word` by edit distance, if it is close enough to be a typo.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .map(|candidate| (strsim::levenshtein(word, candidate), candidate))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_typos_only() {
        let services = ["slack", "pagerduty", "pagerduty-v2", "jira"];
        assert_eq!(closest("pagerdty", services), Some("pagerduty"));
        assert_eq!(closest("slak", services), Some("slack"));
        assert_eq!(closest("splunk", services), None);
    }
}
