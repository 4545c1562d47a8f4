//! Python-compatible JSON encoding and scalar printing.

mod eq;
mod ser;

pub use eq::py_eq;

use serde_json::Value;
use std::fmt::Write as _;

/// Python's `repr()` of a string: single quotes, or double quotes when the text holds a single
/// quote and no double quote; backslashes, that quote and non-printable characters escaped.
///
/// ```
/// use streamalert::json::py_repr;
/// assert_eq!(py_repr("slack:secops"), "'slack:secops'");
/// assert_eq!(py_repr("it's"), r#""it's""#);
/// assert_eq!(py_repr("a'b\"c\n"), r#"'a\'b"c\n'"#);
/// ```
pub fn py_repr(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    write_str_repr(&mut out, text);
    out
}

/// Settings of one Python `json.dumps` call, applied by [`PythonJson::dump`].
///
/// The constants mirror the calls StreamAlert makes; `sort_keys` and `indent` refine them.
///
/// ```
/// use streamalert::json::PythonJson;
/// use serde_json::json;
///
/// let value = json!({"b": [1, 1.0, null], "a": "café"});
/// assert_eq!(PythonJson::DEFAULT.dump(&value), r#"{"b": [1, 1.0, null], "a": "caf\u00e9"}"#);
/// assert_eq!(PythonJson::COMPACT.dump(&value), r#"{"b":[1,1.0,null],"a":"caf\u00e9"}"#);
/// assert_eq!(PythonJson::pretty(2).sort_keys().dump(&json!({"b": {}, "a": [1]})), "{\n  \"a\": [\n    1\n  ],\n  \"b\": {}\n}");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PythonJson {
    indent: Option<usize>,
    item_separator: &'static str,
    key_separator: &'static str,
    sort_keys: bool,
    ensure_ascii: bool,
    exact_numbers: bool,
    /// The text is itself the content of a JSON string (see [`PythonJson::quoted`]).
    quoted: bool,
}

/// Where the text of [`PythonJson::dump_object`] starts: a publication is 1–2 KiB, so it
/// grows at most once instead of eight times.
const PUBLICATION_CAPACITY: usize = 2048;

impl PythonJson {
    /// `json.dumps(value)`: separators `", "` and `": "`, non-ASCII escaped, insertion order.
    pub const DEFAULT: Self = Self {
        indent: None,
        item_separator: ", ",
        key_separator: ": ",
        sort_keys: false,
        ensure_ascii: true,
        exact_numbers: false,
        quoted: false,
    };

    /// `json.dumps(value, separators=(",", ":"))`.
    pub const COMPACT: Self = Self {
        item_separator: ",",
        key_separator: ":",
        ..Self::DEFAULT
    };

    /// `json.dumps(value, indent=n)`: one item per line, separators `","` and `": "`.
    pub const fn pretty(indent: usize) -> Self {
        Self {
            indent: Some(indent),
            item_separator: ",",
            ..Self::DEFAULT
        }
    }

    /// The same settings with `sort_keys=True` (keys ordered by code point, at every depth).
    pub const fn sort_keys(self) -> Self {
        Self {
            sort_keys: true,
            ..self
        }
    }

    /// The same settings with `ensure_ascii=False` (non-ASCII characters written as they are).
    pub const fn keep_unicode(self) -> Self {
        Self {
            ensure_ascii: false,
            ..self
        }
    }

    /// The same settings with every number written as it was read (`1.50`, `1e+400`), not as
    /// Python re-prints the float it parsed (`1.5`, `Infinity`). Python reads both forms as the
    /// same value; this one also reads back unchanged ([`read`](super::read)).
    ///
    /// ```
    /// use streamalert::json::PythonJson;
    /// let value = streamalert::json::read(r#"{"pid": 1e400, "cpu": 1.50, "é": 1E5}"#).unwrap();
    /// assert_eq!(PythonJson::COMPACT.dump(&value), r#"{"pid":Infinity,"cpu":1.5,"\u00e9":100000.0}"#);
    /// assert_eq!(PythonJson::COMPACT.exact_numbers().dump(&value), r#"{"pid":1e+400,"cpu":1.50,"\u00e9":1e+5}"#);
    /// ```
    pub const fn exact_numbers(self) -> Self {
        Self {
            exact_numbers: true,
            ..self
        }
    }

    /// The same (compact) settings, the text written as the content of a JSON string, in one
    /// pass: what writing it, then writing that text as a string with `serde_json`, gives
    /// between the quotes (each `"` as `\"`, each `\` as `\\`). For the record inside a
    /// ledger item.
    pub(crate) const fn quoted(self) -> Self {
        debug_assert!(
            self.indent.is_none(),
            "an indented text has line breaks to escape"
        );
        Self {
            quoted: true,
            ..self
        }
    }

    /// Encodes `value` exactly as Python's `json.dumps` would with these settings.
    pub fn dump(&self, value: &Value) -> String {
        let mut out = String::new();
        self.dump_to(&mut out, value);
        out
    }

    /// [`dump`](Self::dump) of a JSON object given as its entries in order, without building a
    /// [`Value`] first (a publication's [`entries`](crate::Publication::entries), which read
    /// the alert's record in place).
    ///
    /// ```
    /// use streamalert::{json::PythonJson, Publication};
    /// let mut publication = Publication::new();
    /// publication.insert("b", 1);
    /// publication.insert("a", "é");
    /// let text = PythonJson::DEFAULT.dump_object(publication.entries());
    /// assert_eq!(text, r#"{"b": 1, "a": "\u00e9"}"#);
    /// assert_eq!(text, PythonJson::DEFAULT.dump(&publication.into()));
    /// ```
    pub fn dump_object<'a>(
        &self,
        entries: impl ExactSizeIterator<Item = (&'a String, &'a Value)>,
    ) -> String {
        let mut out = String::with_capacity(PUBLICATION_CAPACITY);
        self.dump_object_to(&mut out, entries);
        out
    }

    /// Appends [`dump_object`](Self::dump_object) of `entries` to `out`.
    pub(crate) fn dump_object_to<'a>(
        &self,
        out: &mut String,
        entries: impl ExactSizeIterator<Item = (&'a String, &'a Value)>,
    ) {
        self.write_object(out, entries, 0);
    }

    /// Appends [`dump`](Self::dump) of `value` to `out` (for bodies written piece by piece).
    pub(crate) fn dump_to(&self, out: &mut String, value: &Value) {
        self.write_value(out, value, 0);
    }

    fn write_value(&self, out: &mut String, value: &Value, depth: usize) {
        match value {
            Value::Null => out.push_str("null"),
            Value::Bool(true) => out.push_str("true"),
            Value::Bool(false) => out.push_str("false"),
            Value::Number(n) if self.exact_numbers => out.push_str(n.as_str()),
            Value::Number(n) => write_number(out, n.as_str(), NumberStyle::Json),
            Value::String(s) => self.write_str(out, s),
            Value::Array(items) => {
                if items.is_empty() {
                    out.push_str("[]");
                    return;
                }
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    self.write_separator(out, i, depth + 1);
                    self.write_value(out, item, depth + 1);
                }
                self.write_closing_newline(out, depth);
                out.push(']');
            }
            Value::Object(map) => self.write_object(out, map.iter(), depth),
        }
    }

    fn write_object<'a>(
        &self,
        out: &mut String,
        entries: impl ExactSizeIterator<Item = (&'a String, &'a Value)>,
        depth: usize,
    ) {
        if entries.len() == 0 {
            out.push_str("{}");
            return;
        }
        out.push('{');
        if self.sort_keys {
            let mut entries: Vec<_> = entries.collect();
            entries.sort_by(|a, b| by_code_point(a.0, b.0));
            self.write_entries(out, entries, depth);
        } else {
            self.write_entries(out, entries, depth);
        }
        self.write_closing_newline(out, depth);
        out.push('}');
    }

    fn write_entries<'a>(
        &self,
        out: &mut String,
        entries: impl IntoIterator<Item = (&'a String, &'a Value)>,
        depth: usize,
    ) {
        for (i, (key, item)) in entries.into_iter().enumerate() {
            self.write_separator(out, i, depth + 1);
            self.write_str(out, key);
            out.push_str(self.key_separator);
            self.write_value(out, item, depth + 1);
        }
    }

    /// A key or a string value, quoted again if the text is ([`quoted`](Self::quoted)).
    #[inline]
    fn write_str(&self, out: &mut String, s: &str) {
        if self.quoted {
            write_quoted_string(out, s, self.ensure_ascii);
        } else {
            write_string(out, s, self.ensure_ascii);
        }
    }

    fn write_separator(&self, out: &mut String, index: usize, depth: usize) {
        if index > 0 {
            out.push_str(self.item_separator);
        }
        if let Some(indent) = self.indent {
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', indent * depth));
        }
    }

    fn write_closing_newline(&self, out: &mut String, depth: usize) {
        if let Some(indent) = self.indent {
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', indent * depth));
        }
    }
}

#[derive(Clone, Copy)]
enum NumberStyle {
    /// `json.dumps`: non-finite floats as `NaN`, `Infinity`.
    Json,
    /// `str()`: non-finite floats as `nan`, `inf`.
    Str,
}

/// A number as serde_json keeps it (its text as read: `arbitrary_precision`), as Python writes
/// the `int` or `float` it would have parsed from that text.
fn write_number(out: &mut String, text: &str, style: NumberStyle) {
    // Python's `NaN`/`Infinity` (read by `json::read`) are not integers even without a `.`.
    let is_integer = text.bytes().all(|b| b.is_ascii_digit() || b == b'-');
    if is_integer {
        // Python ints are arbitrary precision; JSON integers print as parsed, minus a `-0` sign.
        out.push_str(if text == "-0" { "0" } else { text });
        return;
    }
    // From the text: serde_json's `as_f64` answers `None` for `1e400` (Python: inf) and for
    // the `NaN`/`Infinity` that `json::read` accepts.
    let float = text.parse::<f64>().unwrap_or(f64::NAN);
    match style {
        NumberStyle::Json if float.is_nan() => out.push_str("NaN"),
        NumberStyle::Json if float.is_infinite() => {
            out.push_str(if float > 0.0 { "Infinity" } else { "-Infinity" })
        }
        _ => out.push_str(&py_float_repr(float)),
    }
}

/// Appends `, "<name>": `, the separator and key of an object's next member as `json.dumps`
/// writes them with its default separators (`name` must need no escaping).
#[cfg(feature = "saas")]
pub(crate) fn write_key(out: &mut String, name: &str) {
    out.push_str(", \"");
    out.push_str(name);
    out.push_str("\": ");
}

/// Appends `s` as `json.dumps` writes a string: quoted, with `\"`, `\\` and control characters
/// escaped, and with `ensure_ascii` DEL and every non-ASCII character as `\uXXXX` (astral ones
/// as a surrogate pair).
pub(crate) fn write_string(out: &mut String, s: &str, ensure_ascii: bool) {
    out.reserve(s.len() + 2);
    out.push('"');
    // Most strings (keys, identifiers, timestamps) need no escape: they are tested a word at
    // a time and copied at once.
    if has_stop(s.as_bytes(), ensure_ascii) {
        write_escaped(out, s, ensure_ascii, false);
    } else {
        out.push_str(s);
    }
    out.push('"');
}

/// What writing [`write_string`]'s text as a JSON string again gives between the quotes
/// ([`PythonJson::quoted`]): every backslash doubled, every quote escaped.
fn write_quoted_string(out: &mut String, s: &str, ensure_ascii: bool) {
    out.reserve(s.len() + 4);
    out.push_str("\\\"");
    if has_stop(s.as_bytes(), ensure_ascii) {
        write_escaped(out, s, ensure_ascii, true);
    } else {
        out.push_str(s);
    }
    out.push_str("\\\"");
}

/// The body of [`write_string`] (or of [`write_quoted_string`]) for a string with something
/// to escape: runs of characters that need no escape are copied at once ([`plain_run_end`]).
/// Kept out of line, so that the common case does not pay for setting it up.
#[inline(never)]
fn write_escaped(out: &mut String, s: &str, ensure_ascii: bool, quoted: bool) {
    // The backslash that starts an escape: itself escaped when the text is quoted again.
    let backslash = if quoted { "\\\\" } else { "\\" };
    let bytes = s.as_bytes();
    let mut plain_from = 0;
    loop {
        let i = plain_run_end(bytes, plain_from, ensure_ascii);
        out.push_str(&s[plain_from..i]);
        let Some(&byte) = bytes.get(i) else {
            break;
        };
        // Every stop but a non-ASCII character is one byte, escaped without decoding it.
        plain_from = i + 1;
        let letter = match byte {
            b'"' | b'\\' => {
                out.push_str(backslash);
                if quoted {
                    out.push('\\');
                }
                char::from(byte)
            }
            b'\n' => 'n',
            b'\r' => 'r',
            b'\t' => 't',
            0x08 => 'b',
            0x0c => 'f',
            ..0x80 => {
                push_unicode_escape(out, backslash, u32::from(byte));
                continue;
            }
            _ => {
                let c = s[i..].chars().next().unwrap_or_default();
                plain_from = i + c.len_utf8();
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    push_unicode_escape(out, backslash, u32::from(*unit));
                }
                continue;
            }
        };
        if !matches!(letter, '"' | '\\') {
            out.push_str(backslash);
        }
        out.push(letter);
    }
}

/// True if some byte of `bytes` stops a plain run ([`plain_run_end`]). Words of eight bytes
/// are tested, the last one overlapping the one before it; a text shorter than eight bytes is
/// packed into one word (its bytes read as two overlapping halves, or first, middle and last,
/// the rest filled with spaces). The test of a word only says whether a byte of it stops.
#[inline(always)]
fn has_stop(bytes: &[u8], ensure_ascii: bool) -> bool {
    let word = |at: usize| {
        let mut word = [0; 8];
        word.copy_from_slice(&bytes[at..at + 8]);
        u64::from_le_bytes(word)
    };
    let half = |at: usize| {
        let mut half = [0; 4];
        half.copy_from_slice(&bytes[at..at + 4]);
        u64::from(u32::from_le_bytes(half))
    };
    let stops = |word: u64| word_stops(word, ensure_ascii) != 0;
    match bytes.len() {
        0 => false,
        len @ 1..4 => {
            let packed = u64::from_le_bytes([
                bytes[0],
                bytes[len / 2],
                bytes[len - 1],
                b' ',
                b' ',
                b' ',
                b' ',
                b' ',
            ]);
            stops(packed)
        }
        len @ 4..8 => stops(half(0) | half(len - 4) << 32),
        len => (0..len - 8).step_by(8).any(|at| stops(word(at))) || stops(word(len - 8)),
    }
}

/// The high bit of some byte of `word` is set if that byte, or one before it (little-endian),
/// stops a plain run: the lowest set bit marks the first byte that does.
fn word_stops(word: u64, ensure_ascii: bool) -> u64 {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    // The high bit of some byte is set when a byte of `word` is below `n` (`n` <= 0x80) or is 0.
    let below = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGH;
    let zero = |word: u64| below(word, 1);
    let mut stops = below(word, 0x20)
        | zero(word ^ (ONES * u64::from(b'"')))
        | zero(word ^ (ONES * u64::from(b'\\')));
    if ensure_ascii {
        stops |= (word & HIGH) | zero(word ^ (ONES * 0x7f));
    }
    stops
}

/// Where the run of bytes from `from` that [`write_string`] copies as they are ends: at the
/// first `"`, `\`, control character or, with `ensure_ascii`, DEL or non-ASCII byte (the first
/// byte of a multi-byte character is one), else at the end. Eight bytes are tested at a time,
/// and the first stop in a word is read from its test ([`word_stops`]).
fn plain_run_end(bytes: &[u8], from: usize, ensure_ascii: bool) -> usize {
    let mut i = from;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let stops = word_stops(u64::from_le_bytes(word), ensure_ascii);
        if stops != 0 {
            return i + (stops.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    let plain = |byte: &u8| match byte {
        b'"' | b'\\' => false,
        0x20..=0x7e => true,
        0x7f.. => !ensure_ascii,
        _ => false,
    };
    i + bytes[i..].iter().take_while(|byte| plain(byte)).count()
}

/// Orders keys as Python's `sorted` does, by code point (which UTF-8 bytes compare like).
///
/// Keys of one object mostly differ in their first byte: those are told apart without a call
/// to `memcmp`, which dominates sorting short keys.
pub(crate) fn by_code_point(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.as_bytes().first(), b.as_bytes().first()) {
        (Some(x), Some(y)) if x != y => x.cmp(y),
        _ => a.cmp(b),
    }
}

/// Appends `\\uXXXX` (lowercase hex) with `backslash` as its backslash.
fn push_unicode_escape(out: &mut String, backslash: &str, unit: u32) {
    out.push_str(backslash);
    let _ = write!(out, "u{unit:04x}");
}

/// Python's `repr()` of a float: the shortest text that reads back as the same float, in fixed
/// notation for exponents from -4 to 15 and scientific notation (`1e-05`, `1e+16`) otherwise.
///
/// ```
/// use streamalert::json::py_float_repr;
/// assert_eq!(py_float_repr(100.0), "100.0");
/// assert_eq!(py_float_repr(0.00001), "1e-05");
/// assert_eq!(py_float_repr(1e16), "1e+16");
/// assert_eq!(py_float_repr(1.5e300), "1.5e+300");
/// assert_eq!(py_float_repr(0.0001), "0.0001");
/// assert_eq!(py_float_repr(f64::INFINITY), "inf");
/// ```
pub fn py_float_repr(value: f64) -> String {
    if value.is_nan() {
        return "nan".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.into();
    }
    if value == 0.0 {
        return if value.is_sign_negative() {
            "-0.0"
        } else {
            "0.0"
        }
        .into();
    }
    // `{:e}` yields the shortest round-trip digits, e.g. "-1.2345e-7".
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("`{:e}` output always has an exponent");
    let exponent: i32 = exponent.parse().expect("`{:e}` exponent is an integer");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();

    if (-4..16).contains(&exponent) {
        let point = exponent + 1; // digits before the decimal point
        let body = if point <= 0 {
            format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
        } else {
            let point = point as usize;
            if digits.len() > point {
                format!("{}.{}", &digits[..point], &digits[point..])
            } else {
                format!("{digits}{}.0", "0".repeat(point - digits.len()))
            }
        };
        format!("{sign}{body}")
    } else {
        let fraction = if digits.len() > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits
        };
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        format!("{sign}{fraction}e{exponent_sign}{:02}", exponent.abs())
    }
}

/// Python's `str()` of a JSON value as StreamAlert's code prints it: `True`, `False`, `None`,
/// integers as parsed, floats through [`py_float_repr`], strings verbatim, and containers as
/// Python's `repr` of the equivalent `dict` or `list`.
///
/// ```
/// use streamalert::json::py_str;
/// use serde_json::json;
/// assert_eq!(py_str(&json!(true)), "True");
/// assert_eq!(py_str(&json!(null)), "None");
/// assert_eq!(py_str(&json!(1.0)), "1.0");
/// assert_eq!(py_str(&json!("plain")), "plain");
/// assert_eq!(py_str(&json!({"x": [1, {"y": "z"}], "e": "café"})), "{'x': [1, {'y': 'z'}], 'e': 'café'}");
/// ```
pub fn py_str(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => {
            let mut out = String::new();
            write_repr(&mut out, other);
            out
        }
    }
}

/// Appends Python's `repr()` of `value` to `out` ([`py_str`] of anything but a string).
pub(crate) fn write_repr(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Number(n) => write_number(out, n.as_str(), NumberStyle::Str),
        Value::String(s) => write_str_repr(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_str_repr(out, key);
                out.push_str(": ");
                write_repr(out, item);
            }
            out.push('}');
        }
    }
}

/// Python's `repr()` of a `str`: single quotes unless the text holds `'` and no `"`.
fn write_str_repr(out: &mut String, s: &str) {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if !is_printable(c) => {
                let code = c as u32;
                let _ = match code {
                    0..=0xff => write!(out, "\\x{code:02x}"),
                    0x100..=0xffff => write!(out, "\\u{code:04x}"),
                    _ => write!(out, "\\U{code:08x}"),
                };
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

/// Python's `str.isprintable()` for one character: false for control and format characters,
/// separators other than the space, surrogates, private-use and unassigned code points.
/// Covers the characters that occur in text: C0/C1 controls, the Unicode space and line
/// separators, and the common format characters (soft hyphen, zero-width and bidi marks, BOM).
fn is_printable(c: char) -> bool {
    !matches!(c as u32,
        0x00..=0x1f | 0x7f..=0xa0 | 0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x1680
        | 0x180e | 0x2000..=0x200f | 0x2028..=0x202f | 0x205f..=0x2064 | 0x2066..=0x206f
        | 0x3000 | 0xd800..=0xf8ff | 0xfeff | 0xfff9..=0xfffb | 0xe0001 | 0xe0020..=0xe007f
        | 0xf0000..=0x10ffff)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_order_by_code_point_whether_their_first_bytes_differ_or_not() {
        let mut keys = [
            "b",
            "",
            "ab",
            "a",
            "é",
            "Z",
            "aa",
            "a\u{0}",
            "\u{10000}",
            "\u{ffff}",
        ];
        let mut by_chars = keys;
        by_chars.sort_by(|a, b| a.chars().cmp(b.chars()));
        keys.sort_by(|a, b| by_code_point(a, b));
        assert_eq!(keys, by_chars);
        assert_eq!(keys[..4], ["", "Z", "a", "a\u{0}"]);
    }

    /// `json.dumps` of a string, one character at a time: what [`write_string`] must write.
    fn escaped_by_char(s: &str, ensure_ascii: bool) -> String {
        let mut out = String::from('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{08}' => out.push_str("\\b"),
                '\u{0c}' => out.push_str("\\f"),
                c if (c as u32) < 0x20 || (ensure_ascii && (c as u32) >= 0x7f) => {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        out.push_str(&format!("\\u{unit:04x}"));
                    }
                }
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    #[test]
    fn strings_are_escaped_as_char_by_char_wherever_the_special_character_falls() {
        // Every ASCII character and some wider ones, crowded by other stops (a tab, a non-ASCII
        // character).
        let specials = (0u8..0x80)
            .map(char::from)
            .chain(['\u{80}', 'é', '\u{2028}', '😀']);
        for (label, text) in crate::text::texts_with_special_at_every_word_offset(specials, "\t\té")
        {
            assert_escaped_as_by_char(&text, &label);
        }
    }

    /// [`write_string`] writes `text` as [`escaped_by_char`] does, with and without
    /// `ensure_ascii`.
    fn assert_escaped_as_by_char(text: &str, label: &str) {
        for ensure_ascii in [true, false] {
            let mut written = String::new();
            write_string(&mut written, text, ensure_ascii);
            assert_eq!(
                written,
                escaped_by_char(text, ensure_ascii),
                "{label}, ensure_ascii {ensure_ascii}"
            );
        }
    }

    /// Texts shorter than two words take other paths of [`has_stop`] (packed into one word,
    /// two overlapping words): each special character at every position of every length up
    /// to 17 bytes, and plain texts of each length.
    #[test]
    fn short_strings_are_escaped_wherever_the_special_character_falls() {
        let specials = ['"', '\\', '\n', '\u{1}', '\u{1f}', '\u{7f}', 'é', '😀'];
        let mut texts: Vec<String> = (0..=17).map(|len| "p".repeat(len)).collect();
        for special in specials {
            for len in 1..=17 {
                for at in 0..len {
                    let (before, after) = ("a".repeat(at), "b".repeat(len - 1 - at));
                    texts.push(format!("{before}{special}{after}"));
                }
            }
        }
        for text in texts {
            assert_escaped_as_by_char(&text, &format!("{text:?}"));
        }
    }

    /// The fast path is taken for plain texts of every length, and a stop at any position of
    /// any length is seen (a stop missed would copy it unescaped; a plain text taken for one
    /// only costs time, which the escaping tests cannot see).
    #[test]
    fn plain_texts_of_every_length_have_no_stop_and_a_stop_anywhere_is_seen() {
        for len in 0..=40 {
            let plain = "p".repeat(len);
            assert!(!has_stop(plain.as_bytes(), true), "{len} plain bytes");
            for at in 0..len {
                for stop in [b'"', b'\\', b'\n', 0x7f, 0xc3] {
                    let mut text = plain.clone().into_bytes();
                    text[at] = stop;
                    assert!(has_stop(&text, true), "{stop:#x} at {at} of {len}");
                }
            }
        }
        assert!(
            !has_stop("é\u{7f}".as_bytes(), false),
            "kept as they are without ensure_ascii"
        );
    }

    /// A quoted text is the text written as a JSON string (as `serde_json` writes one), less
    /// its quotes: for keys and values with every kind of escape, with and without
    /// `ensure_ascii`.
    #[test]
    fn a_quoted_text_is_the_text_written_as_a_string() {
        let value = json!({
            "say \"hi\"": ["a\\b", "\u{1}\u{8}\u{c}\t\n\r\u{7f}", "é😀", 1.50, null, true],
            "plain": {"k": "v", "": []}
        });
        for settings in [
            PythonJson::COMPACT,
            PythonJson::COMPACT.keep_unicode().exact_numbers(),
            PythonJson::DEFAULT,
        ] {
            let text = settings.dump(&value);
            let as_string = serde_json::to_string(&text).unwrap();
            let quoted = settings.quoted().dump(&value);
            assert_eq!(format!("\"{quoted}\""), as_string, "{settings:?}");
        }
    }

    #[test]
    fn escapes_like_python_ensure_ascii() {
        let value = json!("tab\t nl\n del\u{7f} astral\u{1F600} quote\" slash/");
        assert_eq!(
            PythonJson::DEFAULT.dump(&value),
            r#""tab\t nl\n del\u007f astral\ud83d\ude00 quote\" slash/""#
        );
        // Escapes at both ends and back to back (Python: json.dumps('"\\\x01x\x08\x0c\ré')).
        assert_eq!(
            PythonJson::DEFAULT.dump(&json!("\"\\\u{1}x\u{8}\u{c}\ré")),
            r#""\"\\\u0001x\b\f\r\u00e9""#
        );
        assert_eq!(
            PythonJson::DEFAULT.keep_unicode().dump(&json!("é\u{7f}")),
            "\"é\u{7f}\""
        );
    }

    #[test]
    fn big_integers_and_float_forms_survive() {
        let value: Value = serde_json::from_str("[100000000000000000000, 1e5, 1.50, -0, 1e-7]")
            .expect("valid JSON");
        assert_eq!(
            PythonJson::DEFAULT.dump(&value),
            "[100000000000000000000, 100000.0, 1.5, 0, 1e-07]"
        );
    }

    #[test]
    fn float_repr_boundaries() {
        assert_eq!(py_float_repr(1e15), "1000000000000000.0");
        assert_eq!(
            py_float_repr(123456789012345680.0),
            "1.2345678901234568e+17"
        );
        assert_eq!(py_float_repr(0.001), "0.001");
        assert_eq!(py_float_repr(-2.5e-5), "-2.5e-05");
        assert_eq!(py_float_repr(1496947381.18), "1496947381.18");
    }

    #[test]
    fn str_repr_escapes_what_python_cannot_print() {
        let value = json!([
            "nbsp\u{a0}",
            "nel\u{85}",
            "zw\u{200b}",
            "ls\u{2028}",
            "bom\u{feff}",
            "é😀"
        ]);
        assert_eq!(
            py_str(&value),
            r"['nbsp\xa0', 'nel\x85', 'zw\u200b', 'ls\u2028', 'bom\ufeff', 'é😀']"
        );
    }

    #[test]
    fn str_repr_quotes() {
        assert_eq!(
            py_str(&json!(["it's", "say \"hi\"", "both ' \""])),
            r#"["it's", 'say "hi"', 'both \' "']"#
        );
    }
}
