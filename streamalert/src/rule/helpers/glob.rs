//! Shell-style wildcards as Python's `fnmatch` and `pathlib.PurePath.match` apply them.

/// One element of a compiled wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A character that must be equal.
    Literal(char),
    /// `?`: any one character.
    Any,
    /// `*`: any run of characters, `/` and newlines included.
    Star,
    /// `[…]` / `[!…]`: one character in (or not in) the ranges.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Token {
    fn matches(&self, c: char) -> bool {
        match self {
            Self::Literal(expected) => *expected == c,
            Self::Any => true,
            Self::Star => false,
            Self::Class { negated, ranges } => {
                ranges.iter().any(|(low, high)| (*low..=*high).contains(&c)) != *negated
            }
        }
    }
}

/// Compiles a pattern as `fnmatch.translate` does: `*`, `?`, `[seq]`, `[!seq]`; a `[` without a
/// closing `]` is a literal `[`; a `]` right after `[` or `[!` belongs to the set.
fn compile(pattern: &str) -> Vec<Token> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' => tokens.push(Token::Star),
            '?' => tokens.push(Token::Any),
            '[' => {
                let mut j = i;
                if chars.get(j) == Some(&'!') {
                    j += 1;
                }
                if chars.get(j) == Some(&']') {
                    j += 1;
                }
                while j < chars.len() && chars[j] != ']' {
                    j += 1;
                }
                if j >= chars.len() {
                    tokens.push(Token::Literal('['));
                    continue;
                }
                let mut set = &chars[i..j];
                i = j + 1;
                let negated = set.first() == Some(&'!');
                if negated {
                    set = &set[1..];
                }
                tokens.push(Token::Class {
                    negated,
                    ranges: ranges(set),
                });
            }
            other => tokens.push(Token::Literal(other)),
        }
    }
    tokens
}

/// The members of a set: `a-z` is a range, a `-` at either end is itself. A reversed range
/// (`z-a`, an error for Python's `re`) matches nothing.
fn ranges(set: &[char]) -> Vec<(char, char)> {
    let mut ranges = Vec::new();
    let mut k = 0;
    while k < set.len() {
        if k + 2 < set.len() && set[k + 1] == '-' {
            ranges.push((set[k], set[k + 2]));
            k += 3;
        } else {
            ranges.push((set[k], set[k]));
            k += 1;
        }
    }
    ranges
}

/// Greedy matching with backtracking to the last `*` (linear in practice).
fn matches(tokens: &[Token], text: &[char]) -> bool {
    let (mut t, mut s) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while s < text.len() {
        match tokens.get(t) {
            Some(Token::Star) => {
                star = Some((t, s));
                t += 1;
                continue;
            }
            Some(token) if token.matches(text[s]) => {
                t += 1;
                s += 1;
                continue;
            }
            _ => {}
        }
        match star {
            Some((star_t, star_s)) => {
                t = star_t + 1;
                s = star_s + 1;
                star = Some((star_t, star_s + 1));
            }
            None => return false,
        }
    }
    tokens[t..].iter().all(|token| *token == Token::Star)
}

/// True when the whole `text` matches the shell-style `pattern` (Python's `fnmatch.fnmatch` on
/// POSIX: case-sensitive, `*` also matches `/`).
///
/// ```
/// use streamalert::rule::helpers::fnmatch;
/// assert!(fnmatch("abc", "a*c"));
/// assert!(fnmatch("/etc/passwd", "/etc/*"));
/// assert!(fnmatch("file7.txt", "file[0-9].txt"));
/// assert!(!fnmatch("fileX.txt", "file[0-9].txt"));
/// assert!(fnmatch("x", "[!ab]"));
/// assert!(!fnmatch("ABC", "abc"));
/// ```
pub fn fnmatch(text: &str, pattern: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    matches(&compile(pattern), &text)
}

/// A path split as `pathlib.PurePosixPath` splits it: the root (`/`, or `//` for exactly two
/// leading slashes) as the first part, then the components without empty and `.` ones.
fn path_parts(path: &str) -> (Option<&str>, Vec<&str>) {
    let (root, rest) = if path.starts_with("//") && !path.starts_with("///") {
        (Some("//"), &path[2..])
    } else if path.starts_with('/') {
        (Some("/"), path.trim_start_matches('/'))
    } else {
        (None, path)
    };
    let mut parts: Vec<&str> = root.into_iter().collect();
    parts.extend(
        rest.split('/')
            .filter(|part| !part.is_empty() && *part != "."),
    );
    (root, parts)
}

/// True when `path` matches `pattern` as `pathlib.PurePath(path).match(pattern)` decides: a
/// relative pattern matches the path's last components, one per pattern component; an absolute
/// pattern must match the whole path. Each component is compared with [`fnmatch`], so `*`
/// never crosses a `/`. An empty pattern matches nothing (Python raises `ValueError`).
///
/// ```
/// use streamalert::rule::helpers::path_match;
/// assert!(path_match("/Users/foobar/path/to/file", "/Users/*/path/*/file"));
/// assert!(path_match("/Users/foobar/path/to/file", "to/file"));
/// assert!(!path_match("/Users/foobar/path/to/file", "/Users/*/file"));
/// assert!(!path_match("relative/file", "/relative/file"));
/// ```
pub fn path_match(path: &str, pattern: &str) -> bool {
    let (pattern_root, mut pattern_parts) = path_parts(pattern);
    if pattern_parts.is_empty() {
        return false;
    }
    let (root, parts) = path_parts(path);
    if let Some(pattern_root) = pattern_root {
        if Some(pattern_root) != root || pattern_parts.len() != parts.len() {
            return false;
        }
        pattern_parts.remove(0);
    } else if pattern_parts.len() > parts.len() {
        return false;
    }
    parts
        .iter()
        .rev()
        .zip(pattern_parts.iter().rev())
        .all(|(part, pattern)| fnmatch(part, pattern))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnmatch_follows_python() {
        assert!(fnmatch("", ""));
        assert!(fnmatch("", "*"));
        assert!(!fnmatch("", "?"));
        assert!(fnmatch("a\nb", "a*b"));
        assert!(fnmatch("a/b/c", "a*c"));
        assert!(fnmatch("abcabc", "*abc"));
        assert!(fnmatch("aXbXc", "a*b*c"));
        assert!(!fnmatch("aXbXd", "a*b*c"));
        // A `[` without a closing `]` is literal; `]` first in a set is a member.
        assert!(fnmatch("[abc", "[abc"));
        assert!(fnmatch("]", "[]]"));
        assert!(fnmatch("a", "[]a]"));
        assert!(!fnmatch("]", "[!]]"));
        assert!(fnmatch("-", "[a-]"));
        assert!(fnmatch("-", "[-a]"));
        assert!(!fnmatch("b", "[-a]"));
        assert!(fnmatch("\\", "[\\]"));
        assert!(!fnmatch("m", "[z-a]"));
        assert!(fnmatch("é", "?"));
    }

    #[test]
    fn path_match_follows_pathlib() {
        assert!(path_match("/a/b", "*"));
        assert!(path_match("/a/b", "b"));
        assert!(!path_match("/a/b", "a"));
        // The root counts as a part: `*` matches it, as in Python.
        assert!(path_match("/a/b", "*/*/b"));
        assert!(!path_match("/a/b", "*/*/*/b"));
        assert!(path_match("a//./b", "a/b"));
        assert!(path_match("//x", "//x"));
        assert!(!path_match("/x", "//x"));
        assert!(!path_match("/x", ""));
        assert!(path_match("/", "/"));
    }
}
