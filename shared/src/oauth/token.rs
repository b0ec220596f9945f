//! [`AccessToken`]: the bearer token a caller puts on its API requests, with its generation.

use crate::secrets::SecretString;

/// A bearer token from a [`TokenProvider`](super::TokenProvider), redacted in `Debug`.
///
/// Besides the value it carries its *generation*: a number the provider increases each time it
/// obtains a different token. When an API refuses a token, the caller hands it back to
/// [`TokenProvider::rejected`](super::TokenProvider::rejected), and the generation tells the
/// provider whether that token is still the current one (renew it) or was already replaced by
/// a concurrent caller (use the replacement, fetch nothing).
///
/// ```
/// # async fn example(provider: &switchyard::oauth::TokenProvider) -> Result<(), switchyard::oauth::OAuthError> {
/// let token = provider.token().await?;
/// // request.bearer_auth(token.expose())
/// assert!(format!("{token:?}").contains("***"));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct AccessToken {
    value: SecretString,
    generation: u64,
}

impl AccessToken {
    pub(super) fn new(value: SecretString, generation: u64) -> Self {
        Self { value, generation }
    }

    /// The token itself, for the `Authorization: Bearer` header. The only way to read it.
    pub fn expose(&self) -> &str {
        self.value.expose()
    }

    /// Which of the provider's tokens this is: 1 for the first, increasing with each new value.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether `value` is this token's value (our own two secrets: no timing concern).
    pub(super) fn holds(&self, value: &SecretString) -> bool {
        self.value.expose() == value.expose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_the_generation_and_never_the_value() {
        let token = AccessToken::new(SecretString::new("pat-na1-0123"), 3);
        let debug = format!("{token:?} {token:#?}");
        assert!(!debug.contains("pat-na1-0123"), "{debug}");
        assert!(debug.contains("generation: 3"), "{debug}");
        assert_eq!(token.expose(), "pat-na1-0123");
    }
}
