//! [`OAuthError`]: why no access token could be had, classified, naming the secret.

use std::fmt;

use crate::http::HttpError;
use crate::secrets::SecretError;
use crate::taxonomy::{Classification, Classify, ErrorClass};

/// No access token could be had.
///
/// Every variant names the secret id; none holds a token, a refresh token or a client secret
/// (the HTTP error keeps only the token endpoint's error codes, see [`crate::http`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    /// The secret could not be read, or holds neither shape (its missing keys are named). A
    /// missing or malformed secret is auth, as everywhere in the kit ([`crate::secrets`]).
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The token request failed. Its class is the HTTP error's, except that a permanent one
    /// becomes auth (see [`OAuthError::classification`](Classify::classification)).
    #[error(
        "cannot get an access token for secret `{secret_id}` from {}: {} [{}]",
        .source.destination(),
        .source.failure(),
        ClassTag(exchange_classification(.source))
    )]
    Exchange {
        /// The secret whose credentials were exchanged.
        secret_id: String,
        /// The failed call, with the endpoint's error codes (`status=BAD_REFRESH_TOKEN`,
        /// `error=invalid_grant`).
        source: HttpError,
    },
    /// The token endpoint answered with success but not with a usable bearer token (an empty
    /// `access_token`, a `token_type` other than `bearer`): auth, the endpoint or the client
    /// is not what the function's configuration says.
    #[error(
        "the token endpoint {destination} gave no usable token for secret `{secret_id}`: {reason}"
    )]
    Unusable {
        /// The secret whose credentials were exchanged.
        secret_id: String,
        /// The token endpoint's destination name.
        destination: String,
        /// What is wrong, never quoting a token.
        reason: String,
    },
}

impl OAuthError {
    /// The id of the secret the failed token was for.
    pub fn secret_id(&self) -> &str {
        match self {
            OAuthError::Secret(e) => e.secret_id(),
            OAuthError::Exchange { secret_id, .. } | OAuthError::Unusable { secret_id, .. } => {
                secret_id
            }
        }
    }

    /// The token endpoint's error code (`BAD_REFRESH_TOKEN`, `invalid_grant`), when it gave
    /// one.
    pub fn error_code(&self) -> Option<&str> {
        match self {
            OAuthError::Exchange { source, .. } => source.error_code(),
            _ => None,
        }
    }
}

impl Classify for OAuthError {
    /// The secret's own class; for the exchange, the HTTP class (throttled with the server's
    /// delay, transient for 5xx and timeouts, auth for 401/403) with one change: what the HTTP
    /// client calls permanent (400 `invalid_grant`, a 404 from a wrong token URL, an answer
    /// that does not decode) is auth. The token request carries nothing from a record, so
    /// nothing about a record can be wrong: it is the function's credentials or configuration,
    /// and fixing them heals the backlog (see [`ErrorClass::Auth`]).
    fn classification(&self) -> Classification {
        match self {
            OAuthError::Secret(e) => e.classification(),
            OAuthError::Exchange { source, .. } => exchange_classification(source),
            OAuthError::Unusable { .. } => Classification::auth(),
        }
    }
}

impl From<OAuthError> for crate::Error {
    /// A secret error stays one; the others keep their class and their message, which is safe
    /// for logs and dead-letter attributes.
    fn from(e: OAuthError) -> Self {
        match e {
            OAuthError::Secret(e) => crate::Error::Secret(e),
            other => crate::Error::classified(other.classification(), other.to_string()),
        }
    }
}

fn exchange_classification(error: &HttpError) -> Classification {
    match error.class() {
        ErrorClass::Permanent => Classification::auth(),
        _ => error.classification(),
    }
}

/// Formats `auth` or `throttled, retry after 7s`, as [`HttpError`]'s message does.
struct ClassTag(Classification);

impl fmt::Display for ClassTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.class.as_str())?;
        match self.0.retry_after {
            Some(delay) if self.0.class.is_retryable() => write!(f, ", retry after {delay:?}"),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{Destination, HttpClient};
    use wiremock::matchers::any;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    async fn exchange_error(answer: ResponseTemplate) -> OAuthError {
        let server = MockServer::start().await;
        Mock::given(any()).respond_with(answer).mount(&server).await;
        let http = HttpClient::new("oauth-test").unwrap();
        let endpoint = Destination::new("crm-oauth", &server.uri()).unwrap();
        let request = http
            .request(reqwest::Method::POST, &endpoint, "token")
            .unwrap();
        let source = http.send(&endpoint, request).await.unwrap_err();
        OAuthError::Exchange {
            secret_id: "crm/oauth".to_owned(),
            source,
        }
    }

    #[tokio::test]
    async fn into_the_kits_error_keeping_class_and_message() {
        let refused = exchange_error(ResponseTemplate::new(400)).await;
        let text = refused.to_string();
        let kit: crate::Error = refused.into();
        assert_eq!(kit.class(), ErrorClass::Auth);
        assert_eq!(kit.to_string(), text);

        let throttled =
            exchange_error(ResponseTemplate::new(429).insert_header("Retry-After", "7")).await;
        assert!(
            throttled
                .to_string()
                .ends_with("[throttled, retry after 7s]"),
            "{throttled}"
        );
        let kit: crate::Error = throttled.into();
        assert_eq!(
            kit.classification(),
            Classification::throttled(Some(std::time::Duration::from_secs(7)))
        );

        let secret = OAuthError::from(SecretError::NotFound {
            id: "crm/oauth".to_owned(),
        });
        assert_eq!(secret.secret_id(), "crm/oauth");
        assert!(matches!(
            crate::Error::from(secret),
            crate::Error::Secret(SecretError::NotFound { .. })
        ));
    }
}
