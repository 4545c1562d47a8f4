//! Python's `==` on values decoded by `json.loads`, the one copy the merger, the rule helpers
//! and the test runner share.

use serde_json::{Number, Value};

/// Python's `==` on values decoded by `json.loads`: objects compare regardless of key order,
/// integers and floats by exact numeric value (`1 == 1.0`, but `2**53 + 1 != 2.0**53`, as in
/// Python), integers of any size, and booleans as the integers 0 and 1.
///
/// ```
/// use streamalert::json::py_eq;
/// use serde_json::json;
/// assert!(py_eq(&json!(3), &json!(3.0)));
/// assert!(py_eq(&json!(true), &json!(1)));
/// assert!(py_eq(&json!({"a": [1, "x"]}), &json!({"a": [1.0, "x"]})));
/// assert!(!py_eq(&json!("1"), &json!(1)));
/// let (int, float) = (json!(9007199254740993u64), json!(9007199254740992.0));
/// assert!(!py_eq(&int, &float));
/// ```
pub fn py_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::String(a), Value::String(b)) => a == b,
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| py_eq(a, b))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(key, a)| b.get(key).is_some_and(|b| py_eq(a, b)))
        }
        (Value::Bool(_) | Value::Number(_), Value::Bool(_) | Value::Number(_)) => {
            match (PyNumber::of(a), PyNumber::of(b)) {
                (Some(a), Some(b)) => a.equals(&b),
                _ => false,
            }
        }
        _ => false,
    }
}

/// A JSON number (or boolean) as Python holds it: an exact integer or a float.
enum PyNumber {
    /// Canonical decimal text of an integer of any size.
    Int(String),
    Float(f64),
}

impl PyNumber {
    fn of(value: &Value) -> Option<Self> {
        match value {
            Value::Bool(b) => Some(Self::Int(if *b { "1" } else { "0" }.to_owned())),
            Value::Number(n) => Some(Self::from_number(n)),
            _ => None,
        }
    }

    fn from_number(n: &Number) -> Self {
        let text = n.to_string();
        if text.contains(['.', 'e', 'E']) {
            // Python's float() and Rust's parse both round correctly; overflow gives ±inf.
            Self::Float(text.parse().unwrap_or(f64::NAN))
        } else if text
            .trim_start_matches('-')
            .bytes()
            .all(|digit| digit == b'0')
        {
            Self::Int("0".to_owned()) // -0
        } else {
            Self::Int(text)
        }
    }

    fn equals(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Int(a), Self::Int(b)) => a == b,
            (Self::Float(a), Self::Float(b)) => a == b,
            (Self::Int(int), Self::Float(float)) | (Self::Float(float), Self::Int(int)) => {
                // Exact, as in Python: an integral float prints every digit with `{:.0}`.
                float.is_finite()
                    && float.fract() == 0.0
                    && if *float == 0.0 {
                        int == "0"
                    } else {
                        format!("{float:.0}") == *int
                    }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integers_floats_booleans_and_containers() {
        assert!(py_eq(&json!(1), &json!(1.0)));
        assert!(py_eq(&json!(true), &json!(1)));
        assert!(py_eq(&json!(false), &json!(0.0)));
        assert!(py_eq(&json!(0), &json!(-0.0)));
        assert!(!py_eq(&json!(1), &json!(1.5)));
        assert!(!py_eq(&json!(true), &json!("true")));
        assert!(!py_eq(&json!(null), &json!(false)));
        assert!(py_eq(
            &json!({"a": 1, "b": [1, 2]}),
            &json!({"b": [1.0, 2], "a": 1})
        ));
        assert!(!py_eq(&json!([1, 2]), &json!([2, 1])));
        let big: Value = serde_json::from_str("100000000000000000000").expect("valid JSON");
        let big_float: Value = serde_json::from_str("1e20").expect("valid JSON");
        let near: Value = serde_json::from_str("100000000000000000001").expect("valid JSON");
        assert!(py_eq(&big, &big_float));
        assert!(!py_eq(&near, &big_float));
        assert!(!py_eq(&big, &near));
    }

    /// Python's `int == float`: exact, by the float's binary value (an independent oracle:
    /// mantissa and exponent, no decimal text).
    fn python_int_eq_float(int: i128, float: f64) -> bool {
        if !float.is_finite() {
            return false;
        }
        let bits = float.to_bits();
        let negative = bits >> 63 == 1;
        let exponent = ((bits >> 52) & 0x7ff) as i32;
        let fraction = i128::from(bits & ((1 << 52) - 1));
        if exponent == 0 {
            return fraction == 0 && int == 0; // ±0.0 (a subnormal is never integral)
        }
        let mantissa = fraction | (1 << 52);
        let shift = exponent - 1075; // float = ±mantissa * 2^shift
        let magnitude = if shift > 74 {
            return false; // at least 2^127: beyond every i128
        } else if shift >= 0 {
            mantissa << shift
        } else if shift <= -53 {
            return false; // |float| < 1 and not zero
        } else {
            let low = (1i128 << shift.unsigned_abs()) - 1;
            if mantissa & low != 0 {
                return false; // has a fractional part
            }
            mantissa >> shift.unsigned_abs()
        };
        int == if negative { -magnitude } else { magnitude }
    }

    fn number(text: String) -> Value {
        serde_json::from_str(&text).expect("a JSON number")
    }

    #[test]
    fn int_float_equality_is_exact_as_in_python() {
        let seed = std::env::var("PY_EQ_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0x5eed_u64);
        let mut rng = fastrand::Rng::with_seed(seed);
        let anchors: [i128; 8] = [
            0,
            1,
            1 << 53,
            (1 << 53) + 1,
            i128::from(i64::MAX),
            i128::from(u64::MAX),
            1 << 70,
            10i128.pow(20),
        ];
        for case in 0..20_000 {
            let anchor = anchors[rng.usize(..anchors.len())];
            let int = (anchor + i128::from(rng.i16(..))) * if rng.bool() { 1 } else { -1 };
            let float = match rng.u8(..4) {
                0 => int as f64,
                1 => f64::from_bits(
                    (int as f64)
                        .to_bits()
                        .wrapping_add(rng.u64(..3))
                        .wrapping_sub(1),
                ),
                2 => int as f64 + 0.5,
                _ => f64::from_bits(rng.u64(..)),
            };
            if !float.is_finite() {
                continue;
            }
            let (a, b) = (number(int.to_string()), number(format!("{float:e}")));
            assert_eq!(
                py_eq(&a, &b),
                python_int_eq_float(int, float),
                "case {case} (PY_EQ_SEED={seed}): {a} == {b}"
            );
            assert_eq!(py_eq(&a, &b), py_eq(&b, &a), "symmetric: {a} == {b}");
        }
    }
}
