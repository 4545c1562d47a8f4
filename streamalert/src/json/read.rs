//! Reading JSON as Python's `json.loads` does: numbers kept exactly as written, `NaN` and
//! `Infinity` accepted, and nesting deeper than serde_json's default limit of 128.

use serde_json::{Map, Number, Value};

/// The deepest nesting [`read`] accepts: far more than `process` accepts in a record (serde_json's
/// limit of 128) plus what a merge adds around it (`ValueDiffs` → creation time → the record),
/// and little enough for the recursive code that handles a value (serialising, dropping) to
/// stay far from the end of a thread's stack.
pub const MAX_DEPTH: usize = 512;

/// Why [`read`] refused a text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{problem} at byte {offset}")]
pub struct ReadError {
    /// What is wrong.
    pub problem: String,
    /// Where, in bytes from the start of the text.
    pub offset: usize,
}

/// Parses JSON text as Python's `json.loads` reads it, so that everything StreamAlert's Python
/// or this crate wrote reads back unchanged:
///
/// - numbers keep their text as serde_json's `arbitrary_precision` keeps it when `process`
///   reads a record (`1.50`, integers beyond 64 bits; an exponent is written `e+400`), so a
///   stored record reads back equal to the one `process` accepted;
/// - `NaN`, `Infinity` and `-Infinity` (which Python's `json.dumps` writes for non-finite
///   floats) are numbers with that text, which [`PythonJson`](super::PythonJson) writes back
///   as Python does (serde_json's `as_f64` answers `None` for them, as for `1e400`);
/// - nesting is limited to [`MAX_DEPTH`] instead of 128.
///
/// ```
/// use streamalert::json::read;
/// let value = read(r#"{"pid": 1e400, "cpu": 1.50, "n": NaN, "big": 123456789012345678901234567890}"#).unwrap();
/// assert_eq!(value.to_string(), r#"{"pid":1e+400,"cpu":1.50,"n":NaN,"big":123456789012345678901234567890}"#);
/// assert_eq!(value["pid"], serde_json::from_str::<serde_json::Value>("1e400").unwrap());
/// assert!(read("[1,]").is_err());
/// ```
pub fn read(text: &str) -> Result<Value, ReadError> {
    let mut reader = Reader { text, pos: 0 };
    let value = reader.value(0)?;
    reader.skip_whitespace();
    if reader.pos < text.len() {
        return Err(reader.error("trailing characters"));
    }
    Ok(value)
}

struct Reader<'a> {
    text: &'a str,
    pos: usize,
}

impl Reader<'_> {
    fn error(&self, problem: &str) -> ReadError {
        ReadError {
            problem: problem.to_owned(),
            offset: self.pos,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, literal: &str) -> bool {
        if self.text[self.pos..].starts_with(literal) {
            self.pos += literal.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, ReadError> {
        self.skip_whitespace();
        match self.peek() {
            None => Err(self.error("unexpected end of input")),
            Some(b'{' | b'[') if depth >= MAX_DEPTH => {
                Err(self.error(&format!("nested deeper than {MAX_DEPTH} levels")))
            }
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string().map(Value::String),
            _ if self.eat("null") => Ok(Value::Null),
            _ if self.eat("true") => Ok(Value::Bool(true)),
            _ if self.eat("false") => Ok(Value::Bool(false)),
            _ => self.number(),
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, ReadError> {
        self.pos += 1;
        let mut map = Map::new();
        self.skip_whitespace();
        if self.eat("}") {
            return Ok(Value::Object(map));
        }
        loop {
            self.skip_whitespace();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a string key"));
            }
            let key = self.string()?;
            self.skip_whitespace();
            if !self.eat(":") {
                return Err(self.error("expected `:`"));
            }
            let value = self.value(depth)?;
            map.insert(key, value);
            self.skip_whitespace();
            if self.eat("}") {
                return Ok(Value::Object(map));
            }
            if !self.eat(",") {
                return Err(self.error("expected `,` or `}`"));
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, ReadError> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.eat("]") {
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value(depth)?);
            self.skip_whitespace();
            if self.eat("]") {
                return Ok(Value::Array(items));
            }
            if !self.eat(",") {
                return Err(self.error("expected `,` or `]`"));
            }
        }
    }

    /// A string token, decoded by serde_json (escapes, surrogate pairs, control characters).
    fn string(&mut self) -> Result<String, ReadError> {
        let start = self.pos;
        let bytes = self.text.as_bytes();
        let mut i = start + 1;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b'"' => {
                    self.pos = i + 1;
                    return serde_json::from_str(&self.text[start..self.pos]).map_err(|e| {
                        ReadError {
                            problem: format!("invalid string: {e}"),
                            offset: start,
                        }
                    });
                }
                _ => i += 1,
            }
        }
        self.pos = bytes.len();
        Err(self.error("unterminated string"))
    }

    /// A number token with its text kept; Python's non-finite floats included.
    fn number(&mut self) -> Result<Value, ReadError> {
        for special in ["NaN", "Infinity", "-Infinity"] {
            if self.eat(special) {
                return Ok(Value::Number(non_finite(special)));
            }
        }
        let start = self.pos;
        while matches!(
            self.peek(),
            Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
        ) {
            self.pos += 1;
        }
        if start == self.pos {
            return Err(self.error("expected a value"));
        }
        // Through serde's path (not `Number::from_str`), which keeps the text as written.
        serde_json::from_str::<Number>(&self.text[start..self.pos])
            .map(Value::Number)
            .map_err(|e| ReadError {
                problem: format!("invalid number: {e}"),
                offset: start,
            })
    }
}

/// A number holding Python's text for a non-finite float. serde_json has no public constructor
/// for it (JSON has no such number); with `arbitrary_precision` a number is its text, so the
/// text is kept as it is and serialising writes it back as Python does. The unit tests pin
/// this.
fn non_finite(text: &str) -> Number {
    Number::from_string_unchecked(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_their_text() {
        for text in [
            "1.50",
            "1e+400",
            "-1e-400",
            "-0",
            "123456789012345678901234567890",
            "-123456789012345678901234567890",
            "0.000000000000000000000000000001",
        ] {
            let value = read(text).unwrap();
            assert_eq!(value.to_string(), text);
        }
        // As `process` reads them: serde_json writes exponents as `e+N`.
        for (text, stored) in [("1e400", "1e+400"), ("1E5", "1e+5")] {
            let value = read(text).unwrap();
            assert_eq!(value.to_string(), stored);
            assert_eq!(value, serde_json::from_str::<Value>(text).unwrap());
        }
    }

    #[test]
    fn python_non_finite_floats_are_read_and_written_back() {
        let value = read(r#"[NaN, Infinity, -Infinity, "NaN"]"#).unwrap();
        let float = |v: &Value| v.as_number().map(|n| n.as_str().parse::<f64>());
        assert!(float(&value[0]).unwrap().unwrap().is_nan());
        assert_eq!(float(&value[1]), Some(Ok(f64::INFINITY)));
        assert_eq!(float(&value[2]), Some(Ok(f64::NEG_INFINITY)));
        assert_eq!(value[3], "NaN");
        assert_eq!(value.to_string(), r#"[NaN,Infinity,-Infinity,"NaN"]"#);
        assert_eq!(
            super::super::PythonJson::DEFAULT.dump(&value),
            r#"[NaN, Infinity, -Infinity, "NaN"]"#
        );
        assert_eq!(super::super::py_str(&value), "[nan, inf, -inf, 'NaN']");
    }

    #[test]
    fn nesting_past_serde_json_limit_reads_up_to_the_bound() {
        let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert!(serde_json::from_str::<Value>(&nested(200)).is_err());
        let value = read(&nested(MAX_DEPTH)).unwrap();
        assert_eq!(value.to_string(), nested(MAX_DEPTH));
        let error = read(&nested(MAX_DEPTH + 1)).unwrap_err();
        assert!(error.problem.contains("nested deeper than 512"), "{error}");
    }

    #[test]
    fn strings_decode_like_serde_json() {
        let value = read(r#"{"k\"ey": "tab\t\u00e9\ud83d\ude00\\"}"#).unwrap();
        assert_eq!(value["k\"ey"], "tab\té😀\\");
    }

    #[test]
    fn malformed_text_is_refused_with_its_place() {
        for (text, offset) in [
            ("", 0),
            ("[1,]", 3),
            ("{\"a\" 1}", 5),
            ("{\"a\": 1", 7),
            ("nul", 0),
            ("\"open", 5),
            ("1 2", 2),
            ("01x", 0),
        ] {
            let error = read(text).unwrap_err();
            assert_eq!(error.offset, offset, "{text}: {error}");
        }
    }
}
