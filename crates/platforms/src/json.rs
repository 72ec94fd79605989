//! JSON parsing whose errors name the field at fault and never echo the input.
//!
//! ```
//! #[derive(serde::Deserialize)]
//! struct Delivery { id: String, room: Room }
//! #[derive(serde::Deserialize)]
//! struct Room { id: u64 }
//!
//! let refused = botwire_platforms::json::parse::<Delivery>(br#"{"id":"e1","room":{"id":"s3cr3t"}}"#)
//!     .err().unwrap();
//! assert_eq!(refused.status, 400);
//! assert_eq!(refused.code, "invalid_field");
//! assert_eq!(refused.message, "field `room.id` has the wrong type"); // not the value sent
//! ```

use serde::de::DeserializeOwned;
use serde_json::error::Category;

use crate::Rejection;

/// Parses `body` as `T`; a failure is a 400 that says which field is missing or malformed
/// (`invalid_field`), or that the body is not JSON (`not_json`), quoting nothing it was sent.
///
/// # Errors
/// The 400 [`Rejection`] to answer the platform with.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Rejection> {
    // serde would read a struct from an array too; every platform's body is an object.
    if body.trim_ascii_start().first() == Some(&b'[') {
        return Err(not_an_object());
    }
    // Tracking the path costs on every field; only a failure needs it, so it parses again.
    if let Ok(value) = serde_json::from_slice(body) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| reject(&e))?;
    de.end().map_err(|e| reject_plain(&e))?;
    Ok(value)
}

fn reject(error: &serde_path_to_error::Error<serde_json::Error>) -> Rejection {
    let inner = error.inner();
    if inner.classify() != Category::Data {
        return reject_plain(inner);
    }
    let path = error.path().to_string();
    // serde's own messages may quote the input ("invalid type: string \"…\""); only the name of
    // a missing field, which comes from our own types, is safe to repeat.
    let message = match missing_field(&inner.to_string()) {
        Some(field) if path == "." => format!("missing field `{field}`"),
        Some(field) => format!("missing field `{path}.{field}`"),
        None if path == "." => return not_an_object(),
        None => format!("field `{path}` has the wrong type"),
    };
    Rejection::bad_request("invalid_field", message)
}

fn not_an_object() -> Rejection {
    Rejection::bad_request("invalid_field", "the body must be a JSON object")
}

fn reject_plain(error: &serde_json::Error) -> Rejection {
    match error.classify() {
        Category::Data => Rejection::bad_request("invalid_field", "a field has the wrong type"),
        _ => Rejection::bad_request("not_json", "the body is not valid JSON"),
    }
}

fn missing_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next()
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        inner: Inner,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        count: u32,
    }

    fn message(body: &str) -> (String, &'static str) {
        let err = parse::<Outer>(body.as_bytes()).unwrap_err();
        (err.message.into_owned(), err.code)
    }

    #[test]
    fn names_missing_fields_with_their_path() {
        assert_eq!(
            message(r#"{"inner":{"count":1}}"#),
            ("missing field `name`".into(), "invalid_field")
        );
        assert_eq!(
            message(r#"{"name":"x","inner":{}}"#),
            ("missing field `inner.count`".into(), "invalid_field")
        );
    }

    #[test]
    fn wrong_types_name_the_field_without_echoing_input() {
        let (msg, code) = message(r#"{"name":"x","inner":{"count":"s3cr3t"}}"#);
        assert_eq!(code, "invalid_field");
        assert_eq!(msg, "field `inner.count` has the wrong type");
        assert!(!msg.contains("s3cr3t"));
    }

    #[test]
    fn syntax_errors_and_trailing_bytes_are_not_json() {
        for body in [
            "",
            "{",
            "not json",
            r#"{"name":"x","inner":{"count":1}} trailing"#,
        ] {
            assert_eq!(message(body).1, "not_json", "{body:?}");
        }
    }
}
