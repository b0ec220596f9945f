//! The secret value itself: a string that never shows itself by accident.

use std::fmt;
use std::sync::Arc;

/// A secret string whose `Debug` prints `SecretString(***)` and which has no `Display`.
///
/// Secrets travel through handlers, error values and structs that end up in logs; wrapping the
/// value makes printing it a compile-time decision (`expose()`) instead of an accident. Cloning is
/// cheap (the value is shared, not copied), so the cache can hand out copies freely.
///
/// It also deserializes from a JSON string, so a typed secret can keep its sensitive fields
/// redacted too:
///
/// ```
/// use switchyard::secrets::SecretString;
///
/// #[derive(serde::Deserialize, Debug)]
/// struct SlackSecret {
///     signing_secret: SecretString,
/// }
///
/// let parsed: SlackSecret = serde_json::from_str(r#"{"signing_secret":"abc"}"#).unwrap();
/// assert_eq!(format!("{parsed:?}"), "SlackSecret { signing_secret: SecretString(***) }");
/// assert_eq!(parsed.signing_secret.expose(), "abc");
/// ```
///
/// There is deliberately no `Serialize`, `Display` or `PartialEq`: serializing or printing a
/// secret should be impossible without `expose()`, and comparing one (e.g. a webhook signature)
/// must be constant-time, which is the caller's job (`subtle`).
#[derive(Clone)]
pub struct SecretString(Arc<str>);

impl SecretString {
    /// Wraps a value, e.g. in a connector's unit tests or for a secret read from elsewhere.
    pub fn new(value: impl Into<String>) -> Self {
        SecretString(Arc::from(value.into()))
    }

    /// The secret itself. The only way to read it: grep for `expose()` to audit where secrets go.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether both are the same fetched value (one allocation), not merely equal text: the
    /// cache uses it to drop exactly the value it handed out, never a newer one. Not a
    /// comparison of secrets, so it need not be constant-time.
    pub(crate) fn is_same_value(&self, other: &SecretString) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(***)")
    }
}

impl<'de> serde::Deserialize<'de> for SecretString {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(SecretString::new)
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        SecretString::new(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let secret = SecretString::new("hunter2");
        assert_eq!(format!("{secret:?}"), "SecretString(***)");
        assert_eq!(format!("{secret:#?}"), "SecretString(***)");
        assert!(!format!("{:?}", Some(secret.clone())).contains("hunter2"));
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn the_same_value_is_the_same_fetch_not_the_same_text() {
        let fetched = SecretString::new("v");
        assert!(fetched.is_same_value(&fetched.clone()));
        assert!(!fetched.is_same_value(&SecretString::new("v")));
    }

    #[test]
    fn deserialized_fields_stay_redacted() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Keys {
            current: SecretString,
            previous: Vec<SecretString>,
        }
        let keys: Keys =
            serde_json::from_str(r#"{"current":"k-now","previous":["k-old"]}"#).unwrap();
        let debug = format!("{keys:?}");
        assert!(
            !debug.contains("k-now") && !debug.contains("k-old"),
            "{debug}"
        );
        assert_eq!(keys.current.expose(), "k-now");
        assert_eq!(keys.previous[0].expose(), "k-old");
    }
}
