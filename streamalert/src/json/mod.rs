//! JSON as StreamAlert's Python code writes and reads it.
//!
//! Alerts, publications and outbound request bodies are compared byte for byte with what
//! StreamAlert produced, so this module reproduces Python's `json.dumps` (separators, indent,
//! `sort_keys`, `ensure_ascii`, float `repr`) and Python's `str()` of JSON scalars, plus the
//! key search StreamAlert's rules, publishers and merger share.

mod keys;
mod python;
mod read;

pub use keys::{NORMALIZATION_KEY, get_first_key, get_keys};
pub(crate) use python::write_string;
pub use python::{PythonJson, py_eq, py_float_repr, py_repr, py_str};
// The hand-written request bodies of the SaaS outputs.
#[cfg(feature = "saas")]
pub(crate) use python::{by_code_point, write_key, write_repr};
pub use read::{MAX_DEPTH, ReadError, read};
