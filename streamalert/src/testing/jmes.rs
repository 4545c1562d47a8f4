//! JMESPath over publications, with Python's key order for `keys()` and `values()`.
//!
//! The `jmespath` crate stores objects in sorted maps, so its `keys(@)` lists keys
//! alphabetically; Python's `jmespath` lists them in insertion order, and StreamAlert's rule
//! tests check that order (`keys(@)` of a Slack `Summary` publication). `keys` and `values` are
//! therefore replaced by versions that look the object up among the publication's objects and
//! use its original order.

use jmespath::functions::{ArgumentType, Function, Signature};
use jmespath::{Context, Rcvar, Runtime, Variable};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Evaluates `expression` on `data`; the result as JSON, or the error's text.
pub(crate) fn search(data: &Value, expression: &str) -> Result<Value, String> {
    let order = Arc::new(KeyOrder::of(data));
    let mut runtime = Runtime::new();
    runtime.register_builtin_functions();
    runtime.register_function("keys", Box::new(Ordered::keys(Arc::clone(&order))));
    runtime.register_function("values", Box::new(Ordered::values(order)));
    let compiled = runtime.compile(expression).map_err(|e| e.to_string())?;
    let mut context = Context::new(expression, &runtime);
    let result = jmespath::interpret(
        &Rcvar::new(to_variable(data)),
        compiled.as_ast(),
        &mut context,
    )
    .map_err(|e| e.to_string())?;
    Ok(to_value(&result))
}

/// JSON to a JMESPath variable, numbers kept as they are (no serde round trip, which would
/// not survive `serde_json`'s `arbitrary_precision`).
fn to_variable(value: &Value) -> Variable {
    match value {
        Value::Null => Variable::Null,
        Value::Bool(b) => Variable::Bool(*b),
        Value::Number(n) => Variable::Number(n.clone()),
        Value::String(s) => Variable::String(s.clone()),
        Value::Array(items) => {
            Variable::Array(items.iter().map(|v| Rcvar::new(to_variable(v))).collect())
        }
        Value::Object(map) => Variable::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), Rcvar::new(to_variable(v))))
                .collect::<BTreeMap<_, _>>(),
        ),
    }
}

/// A JMESPath variable back to JSON (an expression reference, which no search returns, is null).
fn to_value(variable: &Variable) -> Value {
    match variable {
        Variable::Null | Variable::Expref(_) => Value::Null,
        Variable::Bool(b) => Value::Bool(*b),
        Variable::Number(n) => Value::Number(n.clone()),
        Variable::String(s) => Value::String(s.clone()),
        Variable::Array(items) => Value::Array(items.iter().map(|v| to_value(v)).collect()),
        Variable::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), to_value(v)))
                .collect::<Map<_, _>>(),
        ),
    }
}

/// Every object of a document with its keys in document order.
struct KeyOrder(Vec<(Value, Vec<String>)>);

impl KeyOrder {
    fn of(document: &Value) -> Self {
        let mut objects = Vec::new();
        collect(document, &mut objects);
        Self(objects)
    }

    /// The keys of `object` in document order, when it is one of the document's objects.
    fn keys_of(&self, object: &Value) -> Option<&[String]> {
        self.0
            .iter()
            .find(|(candidate, _)| candidate == object)
            .map(|(_, keys)| keys.as_slice())
    }
}

fn collect(value: &Value, objects: &mut Vec<(Value, Vec<String>)>) {
    match value {
        Value::Object(map) => {
            objects.push((value.clone(), map.keys().cloned().collect()));
            map.values().for_each(|v| collect(v, objects));
        }
        Value::Array(items) => items.iter().for_each(|v| collect(v, objects)),
        _ => {}
    }
}

/// `keys(object)` / `values(object)` in document order.
struct Ordered {
    order: Arc<KeyOrder>,
    values: bool,
    signature: Signature,
}

impl Ordered {
    fn keys(order: Arc<KeyOrder>) -> Self {
        Self::new(order, false)
    }

    fn values(order: Arc<KeyOrder>) -> Self {
        Self::new(order, true)
    }

    fn new(order: Arc<KeyOrder>, values: bool) -> Self {
        Self {
            order,
            values,
            signature: Signature::new(vec![ArgumentType::Object], None),
        }
    }
}

impl Function for Ordered {
    fn evaluate(&self, args: &[Rcvar], ctx: &mut Context<'_>) -> jmespath::SearchResult {
        self.signature.validate(args, ctx)?;
        // `validate` has checked there is exactly one argument, an object.
        let Some((arg, map)) = args.first().and_then(|arg| Some((arg, arg.as_object()?))) else {
            return Ok(Rcvar::new(Variable::Null));
        };
        let sorted: Vec<&String> = map.keys().collect();
        let object = to_value(arg);
        let keys: Vec<&String> = match self.order.keys_of(&object) {
            Some(keys) => keys.iter().collect(),
            None => sorted,
        };
        let items = keys
            .into_iter()
            .filter_map(|key| {
                if self.values {
                    map.get(key).cloned()
                } else {
                    Some(Rcvar::new(Variable::String(key.clone())))
                }
            })
            .collect();
        Ok(Rcvar::new(Variable::Array(items)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_and_values_keep_document_order() {
        let doc = json!({"z": 1, "a": {"y": [1, 2], "b": 2.5}, "@slack.text": "t"});
        assert_eq!(
            search(&doc, "keys(@)").unwrap(),
            json!(["z", "a", "@slack.text"])
        );
        assert_eq!(search(&doc, "keys(a)").unwrap(), json!(["y", "b"]));
        assert_eq!(search(&doc, "values(a)").unwrap(), json!([[1, 2], 2.5]));
        assert_eq!(search(&doc, "\"@slack.text\"").unwrap(), json!("t"));
        assert_eq!(search(&doc, "a.y[1]").unwrap(), json!(2));
        assert_eq!(search(&doc, "length(a.y)").unwrap(), json!(2));
        assert_eq!(search(&doc, "missing").unwrap(), json!(null));
        assert_eq!(search(&doc, "a.y[?@ > `1`]").unwrap(), json!([2]));
        assert!(search(&doc, "keys(z)").is_err());
        assert!(search(&doc, "no_such_function(@)").is_err());
    }
}
