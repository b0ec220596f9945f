//! The refresh-token grant (RFC 6749 §6): one form POST to the token endpoint.

use std::time::Duration;

use reqwest::Method;
use reqwest::header::ACCEPT;
use serde::Deserialize;

use super::OAuthError;
use super::secret::RefreshCredentials;
use crate::http::classify::SafeFields;
use crate::http::{Destination, HttpClient};
use crate::secrets::SecretString;

/// The fields of a token endpoint's error body that hold codes: OAuth's `error`
/// (`invalid_grant`), HubSpot's `status` (`BAD_REFRESH_TOKEN`) and `category`, and HubSpot's
/// `correlationId` for its support. Never `error_description` or `message`, which are prose.
const TOKEN_ERROR_FIELDS: SafeFields =
    SafeFields(&["error", "status", "category", "correlationId"]);

/// Where refresh tokens are exchanged: a [`Destination`] (base URL with its environment
/// override and policies) and the token endpoint's path under it.
///
/// ```
/// use switchyard::http::Destination;
/// use switchyard::oauth::TokenEndpoint;
///
/// // HubSpot: POST https://api.hubapi.com/oauth/v1/token
/// let hubspot = Destination::from_env("hubspot-oauth", "HUBSPOT_API_BASE_URL", "https://api.hubapi.com")?;
/// let endpoint = TokenEndpoint::new(hubspot, "oauth/v1/token");
/// assert_eq!(endpoint.url()?.as_str(), "https://api.hubapi.com/oauth/v1/token");
/// # Ok::<(), switchyard::http::HttpError>(())
/// ```
///
/// Give it a destination of its own rather than the API's: a rate limiter on the API's
/// destination would otherwise count token requests against the API's budget.
#[derive(Debug, Clone)]
pub struct TokenEndpoint {
    destination: Destination,
    path: String,
}

impl TokenEndpoint {
    /// The endpoint at `path` under `destination`'s base URL.
    pub fn new(destination: Destination, path: impl Into<String>) -> Self {
        Self {
            destination,
            path: path.into(),
        }
    }

    /// The destination token requests are sent to (its name is in errors and logs).
    pub fn destination(&self) -> &Destination {
        &self.destination
    }

    /// The endpoint's full URL.
    pub fn url(&self) -> Result<reqwest::Url, crate::http::HttpError> {
        self.destination.url(&self.path)
    }
}

/// A successful exchange: a new access token, its lifetime if the endpoint gave one, and the
/// refresh token it answered with, if any.
pub(super) struct Grant {
    pub(super) access_token: SecretString,
    pub(super) lifetime: Option<Duration>,
    pub(super) refresh_token: Option<SecretString>,
}

/// The token endpoint's success answer (RFC 6749 §5.1); other fields (`scope`, HubSpot's
/// `id_token`, ...) are ignored.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: SecretString,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<SecretString>,
}

/// Exchanges `refresh_token` (with the client's id and secret from `credentials`) at
/// `endpoint`: `grant_type=refresh_token&client_id&client_secret&refresh_token`, as a form
/// body (the client credentials in the body, which HubSpot requires and RFC 6749 §2.3.1
/// allows).
pub(super) async fn refresh_grant(
    http: &HttpClient,
    endpoint: &TokenEndpoint,
    secret_id: &str,
    credentials: &RefreshCredentials,
    refresh_token: &SecretString,
) -> Result<Grant, OAuthError> {
    let exchange_error = |source| OAuthError::Exchange {
        secret_id: secret_id.to_owned(),
        source,
    };
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", credentials.client_id.expose()),
        ("client_secret", credentials.client_secret.expose()),
        ("refresh_token", refresh_token.expose()),
    ];
    let request = http
        .request(Method::POST, &endpoint.destination, &endpoint.path)
        .map_err(exchange_error)?
        .header(ACCEPT, "application/json")
        .form(&form);
    let answer: TokenAnswer = http
        .send_json(&endpoint.destination, request, Some(&TOKEN_ERROR_FIELDS))
        .await
        .map_err(exchange_error)?;

    let unusable = |reason: &str| OAuthError::Unusable {
        secret_id: secret_id.to_owned(),
        destination: endpoint.destination.name().to_owned(),
        reason: reason.to_owned(),
    };
    if answer.access_token.expose().trim().is_empty() {
        return Err(unusable("its `access_token` is empty"));
    }
    if let Some(kind) = answer.token_type.as_deref()
        && !kind.eq_ignore_ascii_case("bearer")
    {
        let reason = if crate::redact::is_code(kind) {
            format!("its `token_type` is `{kind}`, not `bearer`")
        } else {
            "its `token_type` is not `bearer`".to_owned()
        };
        return Err(unusable(&reason));
    }
    Ok(Grant {
        access_token: answer.access_token,
        lifetime: answer.expires_in.map(Duration::from_secs),
        refresh_token: answer
            .refresh_token
            .filter(|token| !token.expose().trim().is_empty()),
    })
}
