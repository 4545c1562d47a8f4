//! `json.dumps` of any [`Serialize`] value, written directly (no `serde_json::Value` built in between):
//! a serde_json [`Formatter`] with Python's separators, escapes and numbers.

use super::{NumberStyle, PythonJson, write_number};
use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter, Serializer};
use std::io::{self, Write};

impl PythonJson {
    /// Encodes any [`Serialize`] value as [`dump`](Self::dump) encodes the [`Value`](serde_json::Value) serde_json
    /// would make of it, without making that value: request bodies are written from their
    /// fields. Settings with `indent` or `sort_keys` go through a `Value` (they need the
    /// whole object before writing it), written and read back.
    ///
    /// A non-finite `f32`/`f64` field is written `null`, as serde_json writes it; the numbers
    /// of a `Value` keep Python's forms (`NaN`, `Infinity`, `1e+400` read as infinity).
    ///
    /// ```
    /// use streamalert::json::PythonJson;
    /// #[derive(serde::Serialize)]
    /// struct Body<'a> { text: &'a str, mrkdwn: bool, items: Vec<serde_json::Value> }
    /// let body = Body { text: "café \"x\"", mrkdwn: true, items: vec![serde_json::json!(1.0), serde_json::json!({})] };
    /// assert_eq!(
    ///     PythonJson::DEFAULT.serialize(&body),
    ///     r#"{"text": "caf\u00e9 \"x\"", "mrkdwn": true, "items": [1.0, {}]}"#
    /// );
    /// ```
    pub fn serialize<T: Serialize + ?Sized>(&self, value: &T) -> String {
        if self.indent.is_some() || self.sort_keys {
            // Written as read back (numbers as they are, which `json::read` takes, `NaN`
            // included), then dumped with these settings.
            let exact = PythonJson::COMPACT.keep_unicode().exact_numbers();
            return match super::super::read(&exact.serialize(value)) {
                Ok(value) => self.dump(&value),
                Err(_) => String::new(),
            };
        }
        let mut out = Vec::with_capacity(256);
        let mut serializer = Serializer::with_formatter(&mut out, PythonFormatter(*self));
        // Writing to a `Vec` cannot fail; a `Serialize` impl that fails (a map with non-string
        // keys) leaves what was written, which no caller of this crate produces.
        let _ = value.serialize(&mut serializer);
        // Every fragment written is UTF-8: serde_json's own text, escapes and `str`s.
        String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }
}

/// Python's `json.dumps` as a serde_json formatter (no indent, insertion order).
struct PythonFormatter(PythonJson);

impl Formatter for PythonFormatter {
    fn write_f64<W: ?Sized + Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(super::py_float_repr(value).as_bytes())
    }

    fn write_f32<W: ?Sized + Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        self.write_f64(writer, f64::from(value))
    }

    fn write_number_str<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        value: &str,
    ) -> io::Result<()> {
        if self.0.exact_numbers {
            return writer.write_all(value.as_bytes());
        }
        let mut text = String::new();
        write_number(&mut text, value, NumberStyle::Json);
        writer.write_all(text.as_bytes())
    }

    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let bytes = fragment.as_bytes();
        // `is_ascii` and `contains` scan a word (or a vector) at a time.
        if !self.0.ensure_ascii || (fragment.is_ascii() && !bytes.contains(&0x7f)) {
            return writer.write_all(bytes);
        }
        // Runs of ASCII are copied at once; DEL and every non-ASCII character become `\uXXXX`
        // (astral ones as a surrogate pair), as `ensure_ascii` writes them.
        let mut plain_from = 0;
        for (i, c) in fragment.char_indices() {
            if (c as u32) < 0x7f {
                continue;
            }
            writer.write_all(&bytes[plain_from..i])?;
            plain_from = i + c.len_utf8();
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
        }
        writer.write_all(&bytes[plain_from..])
    }

    fn write_char_escape<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        match escape {
            CharEscape::Quote => writer.write_all(b"\\\""),
            CharEscape::ReverseSolidus => writer.write_all(b"\\\\"),
            CharEscape::Solidus => writer.write_all(b"/"),
            CharEscape::Backspace => writer.write_all(b"\\b"),
            CharEscape::FormFeed => writer.write_all(b"\\f"),
            CharEscape::LineFeed => writer.write_all(b"\\n"),
            CharEscape::CarriageReturn => writer.write_all(b"\\r"),
            CharEscape::Tab => writer.write_all(b"\\t"),
            CharEscape::AsciiControl(byte) => write!(writer, "\\u{byte:04x}"),
            // `CharEscape` is non-exhaustive in later serde_json versions.
            #[allow(unreachable_patterns)]
            _ => Ok(()),
        }
    }

    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            return Ok(());
        }
        writer.write_all(self.0.item_separator.as_bytes())
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.begin_array_value(writer, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(self.0.key_separator.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Every form `dump` handles, written through the formatter: the same bytes.
    #[test]
    fn serialize_writes_what_dump_writes() {
        let tricky = crate::json::read(
            r#"{"s": "tab\t nl\n del\u007f astral\ud83d\ude00 \"q\" \\ / \u0001\b\f\r é",
                "n": [100000000000000000000, 1e5, 1.50, -0, 1e-7, 1e400, -1e400, NaN, 0.1, -3],
                "e": [{}, [], null, true, false, ""], "nested": {"a": {"b": [1, {"c": "d"}]}},
                "clé": "v"}"#,
        )
        .unwrap();
        for settings in [
            PythonJson::DEFAULT,
            PythonJson::COMPACT,
            PythonJson::DEFAULT.keep_unicode(),
            PythonJson::COMPACT.exact_numbers(),
            PythonJson::pretty(2).sort_keys(),
        ] {
            assert_eq!(
                settings.serialize(&tricky),
                settings.dump(&tricky),
                "{settings:?}"
            );
        }
        assert_eq!(PythonJson::DEFAULT.serialize(&json!([])), "[]");
        assert_eq!(PythonJson::DEFAULT.serialize(&1.5_f64), "1.5");
        assert_eq!(PythonJson::DEFAULT.serialize(&f64::NAN), "null");
    }
}
