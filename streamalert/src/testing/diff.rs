//! Readable differences between an expected and an actual value.

use serde_json::Value;

/// Lines showing how `actual` differs from `expected`, each indented by `indent`.
///
/// Short values are shown as `expected:` / `actual:` lines; values that print on several lines
/// (objects, lists, multi-line text) as a line diff: `-` expected only, `+` actual only.
pub(crate) fn value_diff(expected: &Value, actual: &Value, indent: &str) -> Vec<String> {
    let expected_text = render(expected);
    let actual_text = render(actual);
    if !expected_text.contains('\n') && !actual_text.contains('\n') {
        return vec![
            format!("{indent}expected: {expected_text}"),
            format!("{indent}actual:   {actual_text}"),
        ];
    }
    let mut out = vec![format!("{indent}--- expected, +++ actual")];
    out.extend(
        line_diff(&expected_text, &actual_text)
            .into_iter()
            .map(|line| format!("{indent}{line}")),
    );
    out
}

/// Multi-line text as its lines, everything else as pretty JSON.
fn render(value: &Value) -> String {
    match value {
        Value::String(text) if text.contains('\n') => text.clone(),
        Value::Array(_) | Value::Object(_) => {
            serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
        }
        other => other.to_string(),
    }
}

/// A line diff from the longest common subsequence: `  ` both, `- ` expected, `+ ` actual.
pub(crate) fn line_diff(expected: &str, actual: &str) -> Vec<String> {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push(format!("  {}", a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push(format!("- {}", a[i]));
            i += 1;
        } else {
            out.push(format!("+ {}", b[j]));
            j += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_values_side_by_side() {
        assert_eq!(
            value_diff(&json!("a"), &json!(1), ""),
            ["expected: \"a\"", "actual:   1"]
        );
    }

    #[test]
    fn structures_as_line_diff() {
        let diff = value_diff(&json!({"a": 1, "b": 2}), &json!({"a": 1, "b": 3}), "> ");
        assert_eq!(
            diff,
            [
                "> --- expected, +++ actual",
                ">   {",
                ">     \"a\": 1,",
                "> -   \"b\": 2",
                "> +   \"b\": 3",
                ">   }",
            ]
        );
        assert_eq!(line_diff("x\ny", "y\nz"), ["- x", "  y", "+ z"]);
    }
}
