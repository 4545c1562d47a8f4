//! Python's string operations that StreamAlert's publishers and outputs use, byte for byte:
//! `elide_string_middle`, `cgi.escape`, `html.escape`, `urllib.parse.quote_plus` and
//! `str.capitalize` (Python's value semantics, `==`, truthiness and `repr`, are in
//! [`crate::json`]); and the text of a caught panic (rules, publishers and deliveries each
//! isolate theirs).
//!
//! Lengths count Unicode code points, as Python's `len()` of a `str` does.

/// Shortens `text` to about `max_length` code points by replacing its middle with ` ... `
/// (StreamAlert's `elide_string_middle`).
///
/// Text of at most `max_length` code points is returned unchanged. Otherwise, with
/// `h = floor((max_length - 5) / 2)`, the result is the first `h` code points, ` ... `, and the
/// last `h` code points, so it is `max_length` or `max_length - 1` long.
///
/// Limits below 7 keep Python's slicing quirks (spec decision P11): with `h == 0` (limits 5
/// and 6) the result is ` ... ` followed by the whole text; with negative `h` the slices
/// count from the other end (limit 4 gives all but the last code point, ` ... `, then all but
/// the first).
///
/// ```
/// use streamalert::text::elide_string_middle;
///
/// let alphabet = "abcdefghijklmnopqrstuvwxyz";
/// assert_eq!(elide_string_middle(alphabet, 11), "abc ... xyz");
/// assert_eq!(elide_string_middle(alphabet, 26), alphabet);
/// assert_eq!(elide_string_middle(alphabet, 6), " ... abcdefghijklmnopqrstuvwxyz");
/// assert_eq!(elide_string_middle(alphabet, 4), "abcdefghijklmnopqrstuvwxy ... bcdefghijklmnopqrstuvwxyz");
/// // Code points, not bytes:
/// assert_eq!(elide_string_middle("ééééééééé", 8), "é ... é");
/// ```
pub fn elide_string_middle(text: &str, max_length: usize) -> String {
    let length = text.chars().count();
    if length <= max_length {
        return text.to_owned();
    }
    let max_length = i64::try_from(max_length).unwrap_or(i64::MAX);
    let half = (max_length - 5).div_euclid(2);
    let head = python_slice(text, length, None, Some(half));
    let tail = python_slice(text, length, Some(-half), None);
    format!("{head} ... {tail}")
}

/// Python's `text[start:end]` over code points (no step); negative bounds count from the end.
fn python_slice(text: &str, length: usize, start: Option<i64>, end: Option<i64>) -> &str {
    let length_i = i64::try_from(length).unwrap_or(i64::MAX);
    let clamp = |bound: i64| -> usize {
        let absolute = if bound < 0 { bound + length_i } else { bound };
        usize::try_from(absolute.clamp(0, length_i)).unwrap_or(length)
    };
    let start = start.map_or(0, clamp);
    let end = end.map_or(length, clamp);
    if start >= end {
        return "";
    }
    &text[byte_offset(text, start)..byte_offset(text, end)]
}

/// The byte offset of code point `index` (the text's length when `index` is past the end).
fn byte_offset(text: &str, index: usize) -> usize {
    text.char_indices()
        .nth(index)
        .map_or(text.len(), |(offset, _)| offset)
}

/// Escapes `&`, `<` and `>` for HTML and Slack markup, as Python's `cgi.escape(text)` does
/// with its default `quote=False`: `&` first, quotes untouched (spec decision P8).
///
/// StreamAlert's Slack publishers use this escaping; the Slack *output*'s default attachments
/// use [`html_escape_quoted`].
///
/// ```
/// use streamalert::text::html_escape;
///
/// assert_eq!(html_escape("<b>&'\""), "&lt;b&gt;&amp;'\"");
/// assert_eq!(html_escape("&lt;"), "&amp;lt;");
/// assert_eq!(html_escape("plain"), "plain");
/// ```
pub fn html_escape(text: &str) -> String {
    escape(text, false)
}

/// Python's `html.escape(text)` (`quote=True`): `&`, `<`, `>`, `"` and `'`, as the Slack
/// output's default attachments escape a record.
///
/// ```
/// use streamalert::text::html_escape_quoted;
///
/// assert_eq!(html_escape_quoted("<b>&'\""), "&lt;b&gt;&amp;&#x27;&quot;");
/// ```
pub fn html_escape_quoted(text: &str) -> String {
    escape(text, true)
}

/// `&`, `<` and `>` as entities, and with `quotes` `"` and `'` too.
fn escape(text: &str, quotes: bool) -> String {
    let mut escaped = String::with_capacity(text.len());
    push_html_escaped(&mut escaped, text, quotes);
    escaped
}

/// Appends `text` to `out` with `&`, `<` and `>` as entities, and with `quotes` `"` and `'`
/// too; the runs between them are copied at once.
fn push_html_escaped(out: &mut String, text: &str, quotes: bool) {
    let bytes = text.as_bytes();
    let mut plain_from = 0;
    loop {
        let i = next_html_special(bytes, plain_from, quotes);
        // Every byte found is ASCII, so `i` is a character boundary.
        out.push_str(&text[plain_from..i]);
        let entity = match bytes.get(i) {
            Some(b'&') => "&amp;",
            Some(b'<') => "&lt;",
            Some(b'>') => "&gt;",
            Some(b'"') => "&quot;",
            Some(b'\'') => "&#x27;",
            _ => return,
        };
        out.push_str(entity);
        plain_from = i + 1;
    }
}

/// The index of the first `&`, `<`, `>` (with `quotes`, `"` or `'`) at or after `from`, else
/// `bytes.len()`. Eight bytes are tested at a time: the high bit of a byte of `word ^ b * ONES`
/// minus `ONES` (and not set before) flags a byte equal to `b`; a borrow only flags bytes
/// above a match, so the lowest flag is the first match.
fn next_html_special(bytes: &[u8], from: usize, quotes: bool) -> usize {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    let equal = |word: u64, byte: u8| {
        let x = word ^ (ONES * u64::from(byte));
        x.wrapping_sub(ONES) & !x & HIGH
    };
    let mut i = from;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        let mut found = equal(word, b'&') | equal(word, b'<') | equal(word, b'>');
        if quotes {
            found |= equal(word, b'"') | equal(word, b'\'');
        }
        if found != 0 {
            // Little-endian: the lowest byte of the word is the first.
            return i + (found.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    let special = |byte: &u8| match byte {
        b'&' | b'<' | b'>' => true,
        b'"' | b'\'' => quotes,
        _ => false,
    };
    i + bytes[i..].iter().take_while(|byte| !special(byte)).count()
}

/// Python's `urllib.parse.quote_plus(text, safe="")`: UTF-8 bytes percent-encoded with
/// upper-case hex, except letters, digits and `_.-~`; a space becomes `+`. Also what the
/// HTTP outputs send as a form body (`application/x-www-form-urlencoded`).
///
/// ```
/// use streamalert::text::quote_plus;
///
/// assert_eq!(quote_plus("a b:/é~_.-"), "a+b%3A%2F%C3%A9~_.-");
/// assert_eq!(quote_plus("email@domain.com"), "email%40domain.com");
/// assert_eq!(quote_plus("\"a b\"=~"), "%22a+b%22%3D~");
/// ```
pub fn quote_plus(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(char::from(byte));
            }
            b' ' => out.push('+'),
            other => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(char::from(HEX[usize::from(other >> 4)]));
                out.push(char::from(HEX[usize::from(other & 0xF)]));
            }
        }
    }
    out
}

/// Python 3.7's `str.capitalize()`: the first character upper-cased, the rest lower-cased.
///
/// ```
/// use streamalert::text::capitalize;
///
/// assert_eq!(capitalize("att&ck VECTOR"), "Att&ck vector");
/// assert_eq!(capitalize("ßa"), "SSa");
/// assert_eq!(capitalize(""), "");
/// ```
pub fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        None => String::new(),
        Some(first) => first
            .to_uppercase()
            .chain(chars.as_str().to_lowercase().chars())
            .collect(),
    }
}

/// The text of a caught panic's payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a non-text payload".to_owned())
}

/// Texts for the scanners that test eight bytes at a time (this module's HTML escaper, `json`'s
/// string writer): each of `specials` at every offset of 20 plain bytes (so of the words), then
/// again followed by `crowd` and itself (more stops in the same word). Each text comes with a
/// label for assertion messages.
#[cfg(test)]
pub(crate) fn texts_with_special_at_every_word_offset(
    specials: impl IntoIterator<Item = char>,
    crowd: &str,
) -> Vec<(String, String)> {
    let mut texts = Vec::new();
    for special in specials {
        for at in 0..20 {
            let (before, after) = ("a".repeat(at), "b".repeat(19 - at));
            let label = format!("{special:?} at {at}");
            texts.push((label.clone(), format!("{before}{special}{after}")));
            texts.push((label, format!("{before}{special}{crowd}{special}{after}")));
        }
    }
    texts
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `html.escape` one character at a time: what [`push_html_escaped`] must write.
    fn escaped_by_char(text: &str, quotes: bool) -> String {
        text.chars()
            .map(|c| match c {
                '&' => "&amp;".to_owned(),
                '<' => "&lt;".to_owned(),
                '>' => "&gt;".to_owned(),
                '"' if quotes => "&quot;".to_owned(),
                '\'' if quotes => "&#x27;".to_owned(),
                c => c.to_string(),
            })
            .collect()
    }

    #[test]
    fn html_escapes_as_char_by_char_wherever_the_special_character_falls() {
        // Every ASCII character and some wider ones, crowded by the other special characters.
        let specials = (0u8..0x80).map(char::from).chain(['é', '\u{2028}', '😀']);
        for (label, text) in texts_with_special_at_every_word_offset(specials, "&'\"") {
            for quotes in [true, false] {
                let mut written = String::from("x");
                push_html_escaped(&mut written, &text, quotes);
                assert_eq!(
                    written,
                    format!("x{}", escaped_by_char(&text, quotes)),
                    "{label}, quotes {quotes}"
                );
            }
        }
    }

    const ALPHABET: &str = "abcdefghijklmnopqrstuvwxyz";

    #[test]
    fn elide_matches_python_for_every_limit() {
        // Expected values computed with Python's `'{} ... {}'.format(t[:h], t[-h:])`.
        let cases = [
            (0, "abcdefghijklmnopqrstuvw ... defghijklmnopqrstuvwxyz"),
            (1, "abcdefghijklmnopqrstuvwx ... cdefghijklmnopqrstuvwxyz"),
            (3, "abcdefghijklmnopqrstuvwxy ... bcdefghijklmnopqrstuvwxyz"),
            (5, " ... abcdefghijklmnopqrstuvwxyz"),
            (7, "a ... z"),
            (9, "ab ... yz"),
            (20, "abcdefg ... tuvwxyz"),
            (25, "abcdefghij ... qrstuvwxyz"),
        ];
        for (limit, expected) in cases {
            assert_eq!(
                elide_string_middle(ALPHABET, limit),
                expected,
                "limit {limit}"
            );
        }
    }

    #[test]
    fn elide_short_text_with_tiny_limit() {
        // h = -3 on a 2-character text: both slices are empty.
        assert_eq!(elide_string_middle("ab", 0), " ... ");
        assert_eq!(elide_string_middle("", 0), "");
    }

    #[test]
    fn elide_result_length_at_output_limits() {
        let long = "x".repeat(5000);
        assert_eq!(elide_string_middle(&long, 4000).chars().count(), 3999);
        assert_eq!(elide_string_middle(&long, 99).chars().count(), 99);
    }
}
