//! The signing secret(s) a request may be signed with, kept out of logs.

use std::fmt;

/// One webhook signing secret, exactly as the provider shows it (e.g. Stripe's whole `whsec_…`
/// string, Slack's signing secret, a Standard Webhooks `whsec_<base64>`).
///
/// Each scheme derives its HMAC key from this text its own way. `Debug` is redacted and there is
/// no `Display`, so a secret cannot end up in a log line by accident.
#[derive(Clone)]
pub struct WebhookSecret(Box<[u8]>);

impl WebhookSecret {
    /// Wraps a secret as the provider shows it.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into().into_bytes().into_boxed_slice())
    }

    /// Wraps a secret given as raw bytes (for a scheme whose key is the secret's bytes).
    pub fn from_bytes(secret: impl Into<Vec<u8>>) -> Self {
        Self(secret.into().into_boxed_slice())
    }

    /// The secret's bytes, for deriving a key. Kept crate-private so key material is only
    /// handled by the webhook module.
    pub(crate) fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

impl From<&str> for WebhookSecret {
    fn from(secret: &str) -> Self {
        Self::new(secret)
    }
}

impl From<String> for WebhookSecret {
    fn from(secret: String) -> Self {
        Self::new(secret)
    }
}

/// The secrets a request may be signed with: the current one first, then any previous ones kept
/// while a secret rotates. A signature that matches any of them is accepted, and
/// [`Verified`](super::Verified) says which one did, so the operator knows when the old secret
/// can be retired.
#[derive(Clone, Default)]
pub struct SecretSet(Vec<WebhookSecret>);

impl SecretSet {
    /// A set with just the current secret.
    pub fn new(current: impl Into<WebhookSecret>) -> Self {
        Self(vec![current.into()])
    }

    /// Adds a previous secret, still accepted during a rotation. Returns the set for chaining.
    pub fn with_previous(mut self, previous: impl Into<WebhookSecret>) -> Self {
        self.0.push(previous.into());
        self
    }

    /// Appends a secret (after the ones already in the set).
    pub fn push(&mut self, secret: impl Into<WebhookSecret>) {
        self.0.push(secret.into());
    }

    /// The secrets, current first.
    pub fn as_slice(&self) -> &[WebhookSecret] {
        &self.0
    }

    /// How many secrets the set holds.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the set is empty (verification then fails with
    /// [`VerifyError::NoSecret`](super::VerifyError::NoSecret)).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretSet")
            .field("len", &self.0.len())
            .finish_non_exhaustive()
    }
}

impl<S: Into<WebhookSecret>> FromIterator<S> for SecretSet {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        Self(iter.into_iter().map(Into::into).collect())
    }
}

impl From<WebhookSecret> for SecretSet {
    fn from(secret: WebhookSecret) -> Self {
        Self(vec![secret])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug() {
        let set = SecretSet::new("whsec_supersecret").with_previous("old-secret-value");
        let text = format!("{set:?} {:?}", set.as_slice());
        assert!(!text.contains("supersecret"), "{text}");
        assert!(!text.contains("old-secret-value"), "{text}");
    }

    #[test]
    fn set_keeps_the_current_secret_first() {
        let mut set: SecretSet = ["a", "b"].into_iter().collect();
        set.push("c");
        let order: Vec<&[u8]> = set.as_slice().iter().map(WebhookSecret::expose).collect();
        assert_eq!(order, [&b"a"[..], b"b", b"c"]);
        assert_eq!(set.len(), 3);
        assert!(SecretSet::default().is_empty());
    }
}
