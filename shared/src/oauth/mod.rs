//! OAuth2 access tokens for deliverers: from a secret, renewed before they expire, renewed once
//! when an API refuses them.
//!
//! # Why
//!
//! A deliverer calling an OAuth2 API (HubSpot) needs a bearer token on every request. Storing
//! an access token in Secrets Manager does not work for the OAuth flow — HubSpot's live 30
//! minutes — so the secret holds the long-lived refresh token and the function exchanges it
//! for access tokens as it goes. Doing that well is the same for every integration: keep the
//! token while it lasts, renew it shortly before it expires, send one request when many
//! records need a token at once, renew once when the API says 401 and give up (as auth) on a
//! second, and never let a token reach a log. [`TokenProvider`] does it, over the kit's secrets
//! cache ([`crate::secrets`]) and HTTP client ([`crate::http`]).
//!
//! ```no_run
//! # async fn example(aws: &aws_config::SdkConfig) -> Result<(), switchyard::Error> {
//! use switchyard::http::{Destination, HttpClient};
//! use switchyard::oauth::{TokenEndpoint, TokenProvider};
//! use switchyard::secrets::Secrets;
//!
//! // Cold start, once:
//! let http = HttpClient::new("hubspot-contacts")?;
//! let base = "https://api.hubapi.com";
//! let hubspot = Destination::from_env("hubspot", "HUBSPOT_API_BASE_URL", base)?;
//! let oauth = Destination::from_env("hubspot-oauth", "HUBSPOT_API_BASE_URL", base)?;
//! let tokens = TokenProvider::new(
//!     http.clone(),
//!     Secrets::from_sdk_config(aws),
//!     "integrations/hubspot",
//!     TokenEndpoint::new(oauth, "oauth/v1/token"),
//! );
//! if let Err(e) = tokens.token().await {
//!     tracing::error!(error = %e, "no HubSpot token yet; records will be handed back until there is one");
//! }
//!
//! // Per call: a 401 renews the token once and retries; a second 401 is auth.
//! let owners = tokens
//!     .with_token(|token| {
//!         let (http, hubspot) = (&http, &hubspot);
//!         async move {
//!             let request = http
//!                 .request(reqwest::Method::GET, hubspot, "crm/v3/owners")?
//!                 .bearer_auth(token.expose());
//!             Ok::<_, switchyard::Error>(http.send_body(hubspot, request, None).await?)
//!         }
//!     })
//!     .await?;
//! # let _ = owners; Ok(()) }
//! ```
//!
//! # The secret
//!
//! A JSON object in one of two shapes (other keys are ignored):
//!
//! | keys | flow |
//! |---|---|
//! | `client_id`, `client_secret`, `refresh_token` | refresh-token flow: exchanged at the token endpoint for access tokens (used when all three are there) |
//! | `access_token` | a static token used as it is, e.g. a HubSpot private-app token (`pat-…`) |
//!
//! Anything else (a key missing or empty, neither shape) is a [`SecretError::Malformed`]
//! (class auth, like every unusable secret: see [`crate::secrets`]) naming the secret id and
//! every missing key, never a value. A secret that is not JSON or not an object is one as well,
//! by position only. A secret with a missing key stays in the secrets cache until its TTL
//! (`SECRETS_TTL_SECONDS`, 5 minutes) ends, so a fixed secret is picked up within that, well
//! inside the 30 minutes after which the batch runner brings auth failures back.
//!
//! # The refresh-token flow
//!
//! [`TokenProvider::token`] sends `grant_type=refresh_token&client_id=…&client_secret=…&refresh_token=…`
//! as a form POST to the [`TokenEndpoint`] (HubSpot: `{base}/oauth/v1/token`, the base from the
//! destination, so `HUBSPOT_API_BASE_URL` points it at a stand-in) through the kit's
//! [`HttpClient`](crate::http::HttpClient) — its timeouts, bounded bodies and error bodies
//! reduced to codes. It expects `{"token_type":"bearer","access_token":…,"expires_in":1800,…}`
//! and keeps the token in memory until shortly before `expires_in` runs out: a tenth of the
//! lifetime early, at least [`MIN_EARLY_RENEWAL`] (a minute), at most half the lifetime; HubSpot's
//! 1800 s token is renewed after 1620 s. An answer without `expires_in` is kept until an API
//! refuses it. A static token is re-read through the secrets cache after the cache's TTL, so a
//! replaced token is picked up as with any other secret.
//!
//! The state sits behind one async lock held across a renewal: the callers that find the token
//! expired while another is renewing it wait for that renewal and share its token, so a batch
//! of fifty records sends one token request, not fifty.
//!
//! # A refused token: renew once, then auth
//!
//! An API that answers 401 to a token the provider believes valid (revoked, expired early,
//! rotated in the secret) calls for one renewal and one retry. The caller reports the refused
//! token with [`TokenProvider::rejected`]; each [`AccessToken`] carries a *generation*, so the
//! provider can tell a token that is still current (renew it: re-read the secret with
//! [`Secrets::refresh`](crate::secrets::Secrets::refresh), then exchange again or take the new
//! static token) from one a concurrent caller already had renewed (answer the new one, fetch
//! nothing). A forced renewal happens at most once per [`FORCED_RENEWAL_INTERVAL`] (a minute,
//! as `slack-notify` re-reads its bot token): a missing scope or a revoked app fails every call
//! alike, and renewing per record would only hammer the token endpoint and Secrets Manager.
//! When no renewal happens, or it gives the same token again, `rejected` answers `None`: the
//! refusal is final and the caller's error is auth.
//!
//! [`TokenProvider::with_token`] packs that pattern: it runs the caller's closure with the
//! token and, when the closure's error is auth-class (what the kit's HTTP client makes of a
//! 401 or 403), reports the token and runs the closure once more with the new one; a second
//! auth error is returned as it is.
//!
//! # A rotated refresh token
//!
//! HubSpot's refresh tokens do not normally change, but OAuth allows a token endpoint to answer
//! with a new refresh token and revoke the old one. The provider then keeps using the new one
//! from memory for the rest of the execution environment's life and logs a warning naming the
//! secret (never the token). It cannot store it: that would need
//! `secretsmanager:PutSecretValue`, which a function that only reads its credentials should not
//! hold. Other execution environments, and the next cold start, still read the old one from the
//! secret. So, on that warning: if the provider rotates refresh tokens, authorize the app again
//! and store the new refresh token in the secret (a new value in the secret replaces the one in
//! memory at the next renewal); until then the function fails as auth once the old token is
//! revoked.
//!
//! # Errors
//!
//! [`OAuthError`] names the secret id; its message keeps only the token endpoint's error codes:
//!
//! | cause | class |
//! |---|---|
//! | secret missing, denied, malformed, a key missing | auth ([`OAuthError::Secret`], as [`crate::secrets`] classifies it) |
//! | 400 with `status` `BAD_REFRESH_TOKEN`, `BAD_CLIENT_ID`, `BAD_CLIENT_SECRET`, `BAD_GRANT_TYPE` or `error` `invalid_grant`, `invalid_client`, …; 401, 403; any other 4xx (a wrong token URL) | auth ([`OAuthError::Exchange`]) |
//! | a success answer that does not decode, an empty `access_token`, a `token_type` other than `bearer` | auth ([`OAuthError::Exchange`], [`OAuthError::Unusable`]) |
//! | 429, 503 with `Retry-After` | throttled, with the server's delay |
//! | 5xx, 408, timeouts, connection failures | transient |
//!
//! The token request carries nothing from a record, so nothing the HTTP client would call
//! permanent can be a record's fault: it is the function's credentials or configuration, which
//! is what auth means in the kit ([`crate::taxonomy`]) — records come back once it is fixed.
//! [`OAuthError`] converts into [`crate::Error`], keeping class and message.
//!
//! Tokens, refresh tokens and client secrets never reach logs or `Debug` output:
//! [`AccessToken`]'s `Debug` shows its generation only, the secret's values stay
//! [`SecretString`](crate::secrets::SecretString)s, and the logs name the secret id, the token
//! endpoint and the generation.
//!
//! # Why not the `oauth2` crate
//!
//! `oauth2` 5.0 is well kept and can run without its `reqwest` feature (whose reqwest is 0.12:
//! ours is 0.13, so that feature would link a second reqwest, hyper-rustls and rustls stack)
//! by taking an async function from an `http::Request` to an `http::Response`. It was weighed
//! and not taken:
//!
//! - even without `reqwest` it adds eleven crates, itself included, to every function binary
//!   (`cargo tree`): `chrono` with its clock and `iana-time-zone`, a second `rand` (0.8, with `rand_chacha`,
//!   `rand_core` 0.6, `ppv-lite86`, `zerocopy`, `getrandom` 0.2) and a second `thiserror`
//!   (1.x), for PKCE, CSRF states and authorization URLs a deliverer never builds;
//! - it would not use the kit's classification: its client function must return the response
//!   of a 400, which the kit's [`HttpClient`](crate::http::HttpClient) turns into a classified
//!   error with the body reduced to codes, and it parses error bodies as RFC 6749's
//!   `{"error": …}`, which HubSpot's `{"status": "BAD_REFRESH_TOKEN", …}` is not; the
//!   adapter, the status mapping and the caching (which `oauth2` does not do) would all still
//!   be ours.
//!
//! The grant itself is one form POST and a four-field answer (`exchange.rs`, about fifty
//! lines); the form is encoded by reqwest's `form` feature, whose `serde_urlencoded` is
//! already in the tree through `lambda_http`.
//!
//! | file | concept |
//! |---|---|
//! | `secret.rs` | the secret's two shapes, and the error naming missing keys |
//! | `exchange.rs` | [`TokenEndpoint`] and the refresh-token grant |
//! | `provider.rs` | [`TokenProvider`]: caching, renewal, coalescing, refused tokens, rotation |
//! | `token.rs` | [`AccessToken`]: the value, redacted, and its generation |
//! | `error.rs` | [`OAuthError`] and its classification |
//! | `clock.rs` | the time the provider reads (a hand-moved one in tests) |
//!
//! [`SecretError::Malformed`]: crate::secrets::SecretError::Malformed

mod clock;
mod error;
mod exchange;
mod provider;
mod secret;
mod token;

pub use error::OAuthError;
pub use exchange::TokenEndpoint;
pub use provider::{FORCED_RENEWAL_INTERVAL, MIN_EARLY_RENEWAL, TokenProvider};
pub use token::AccessToken;
