//! `POST /oauth/v1/token` (`grant_type=refresh_token`) and the bearer check of CRM calls: the
//! access tokens issued, when each expires, the refresh token that is valid now.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::answer::pair;

/// The app's client id the stand-in accepts unless told otherwise.
pub const CLIENT_ID: &str = "0f4c2d8e-5b7a-4c1e-9d3f-switchyard01";
/// The app's client secret it accepts unless told otherwise.
pub const CLIENT_SECRET: &str = "standin-client-secret-7c2e";
/// The refresh token it accepts unless told otherwise.
pub const REFRESH_TOKEN: &str = "na1-standin-refresh-0000";
/// The private-app token it accepts unless told otherwise (never expires).
pub const PRIVATE_APP_TOKEN: &str = "pat-na1-standin-private-app";
/// An access token's lifetime in seconds unless told otherwise: HubSpot's 30 minutes.
pub const DEFAULT_EXPIRES_IN: u64 = 1800;

/// Why the token endpoint refuses, as HubSpot's `status` and OAuth's `error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    GrantType,
    ClientId,
    ClientSecret,
    RefreshToken,
}

impl Refusal {
    pub(super) fn status(self) -> &'static str {
        match self {
            Refusal::GrantType => "BAD_GRANT_TYPE",
            Refusal::ClientId => "BAD_CLIENT_ID",
            Refusal::ClientSecret => "BAD_CLIENT_SECRET",
            Refusal::RefreshToken => "BAD_REFRESH_TOKEN",
        }
    }

    fn error(self) -> &'static str {
        match self {
            Refusal::GrantType => "unsupported_grant_type",
            Refusal::ClientId | Refusal::ClientSecret => "invalid_client",
            Refusal::RefreshToken => "invalid_grant",
        }
    }

    fn message(self) -> &'static str {
        match self {
            Refusal::GrantType => "grant_type must be one of authorization_code, refresh_token",
            Refusal::ClientId => "missing or unknown client id",
            Refusal::ClientSecret => "missing or invalid client secret",
            Refusal::RefreshToken => "missing or invalid refresh token",
        }
    }

    /// HubSpot's 400 body: its own `status` and `message`, OAuth's `error` and
    /// `error_description`.
    pub(super) fn body(self, correlation_id: &str) -> Value {
        json!({
            "status": self.status(),
            "message": self.message(),
            "correlationId": correlation_id,
            "error": self.error(),
            "error_description": self.message(),
        })
    }
}

/// Why a CRM call's bearer token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AuthFailure {
    /// No `Authorization: Bearer` header.
    Missing,
    /// A token never issued (or replaced).
    Invalid,
    /// An issued access token past its lifetime.
    Expired { ago: Duration },
}

impl AuthFailure {
    pub(super) fn category(self) -> &'static str {
        match self {
            AuthFailure::Missing | AuthFailure::Invalid => "INVALID_AUTHENTICATION",
            AuthFailure::Expired { .. } => "EXPIRED_AUTHENTICATION",
        }
    }

    pub(super) fn message(self) -> String {
        match self {
            AuthFailure::Missing => "Authentication credentials not found. This API supports \
                 OAuth 2.0 authentication and you can find more details at \
                 https://developers.hubspot.com/docs/methods/auth/oauth-overview"
                .to_owned(),
            AuthFailure::Invalid => "Authentication credentials are invalid. The OAuth token \
                 used to make this call is not valid."
                .to_owned(),
            AuthFailure::Expired { ago } => format!(
                "The OAuth token used to make this call expired {} second(s) ago.",
                ago.as_secs()
            ),
        }
    }
}

/// The app's credentials and the tokens issued.
#[derive(Debug)]
pub(super) struct Tokens {
    client_id: String,
    client_secret: String,
    /// `None`: revoked (the app was uninstalled); every refresh is refused.
    refresh_token: Option<String>,
    pub(super) rotate_refresh_token: bool,
    pub(super) expires_in: u64,
    private_app_token: Option<String>,
    /// Access token → when it expires.
    issued: HashMap<String, Instant>,
    serial: u64,
}

impl Tokens {
    pub(super) fn new(
        client_id: String,
        client_secret: String,
        refresh_token: String,
        private_app_token: Option<String>,
    ) -> Self {
        Self {
            client_id,
            client_secret,
            refresh_token: Some(refresh_token),
            rotate_refresh_token: false,
            expires_in: DEFAULT_EXPIRES_IN,
            private_app_token,
            issued: HashMap::new(),
            serial: 0,
        }
    }

    /// Checks a `refresh_token` grant and issues a new access token (and, when rotating, a new
    /// refresh token that replaces the old one).
    pub(super) fn exchange(
        &mut self,
        form: &[(String, String)],
        now: Instant,
    ) -> Result<Value, Refusal> {
        if pair(form, "grant_type") != Some("refresh_token") {
            return Err(Refusal::GrantType);
        }
        if pair(form, "client_id") != Some(self.client_id.as_str()) {
            return Err(Refusal::ClientId);
        }
        if pair(form, "client_secret") != Some(self.client_secret.as_str()) {
            return Err(Refusal::ClientSecret);
        }
        let presented = pair(form, "refresh_token");
        if presented.is_none() || presented != self.refresh_token.as_deref() {
            return Err(Refusal::RefreshToken);
        }
        self.serial += 1;
        let access_token = format!("hs-standin-access-{:06}", self.serial);
        let lifetime = Duration::from_secs(self.expires_in);
        self.issued.insert(access_token.clone(), now + lifetime);
        if self.rotate_refresh_token {
            self.refresh_token = Some(format!("na1-standin-refresh-{:04}", self.serial));
        }
        Ok(json!({
            "token_type": "bearer",
            "access_token": access_token,
            "refresh_token": self.refresh_token,
            "expires_in": self.expires_in,
        }))
    }

    /// Whether `authorization` (the header's value) carries a token valid at `now`.
    pub(super) fn check(
        &self,
        authorization: Option<&str>,
        now: Instant,
    ) -> Result<(), AuthFailure> {
        let token = authorization
            .and_then(|value| value.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|token| !token.is_empty())
            .ok_or(AuthFailure::Missing)?;
        if self.private_app_token.as_deref() == Some(token) {
            return Ok(());
        }
        let expires_at = self.issued.get(token).ok_or(AuthFailure::Invalid)?;
        if now >= *expires_at {
            return Err(AuthFailure::Expired {
                ago: now - *expires_at,
            });
        }
        Ok(())
    }

    /// Every access token issued so far expires at `now`.
    pub(super) fn expire_all(&mut self, now: Instant) {
        for expires_at in self.issued.values_mut() {
            *expires_at = (*expires_at).min(now);
        }
    }

    /// The refresh token accepted now, if any.
    pub(super) fn refresh_token(&self) -> Option<&str> {
        self.refresh_token.as_deref()
    }

    /// Replaces the refresh token (`None`: revoked).
    pub(super) fn set_refresh_token(&mut self, token: Option<String>) {
        self.refresh_token = token;
    }

    /// Access tokens issued so far.
    pub(super) fn issued(&self) -> usize {
        self.issued.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Tokens {
        Tokens::new(
            CLIENT_ID.into(),
            CLIENT_SECRET.into(),
            REFRESH_TOKEN.into(),
            Some(PRIVATE_APP_TOKEN.into()),
        )
    }

    fn grant(refresh_token: &str) -> Vec<(String, String)> {
        [
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("refresh_token", refresh_token),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .to_vec()
    }

    #[test]
    fn an_issued_token_is_valid_for_its_lifetime_then_expired() {
        let mut tokens = tokens();
        tokens.expires_in = 60;
        let now = Instant::now();
        let answer = tokens.exchange(&grant(REFRESH_TOKEN), now).unwrap();
        let bearer = format!("Bearer {}", answer["access_token"].as_str().unwrap());
        assert_eq!(tokens.check(Some(&bearer), now), Ok(()));
        let later = now + Duration::from_secs(61);
        assert_eq!(
            tokens.check(Some(&bearer), later),
            Err(AuthFailure::Expired {
                ago: Duration::from_secs(1)
            })
        );
        assert_eq!(
            tokens.check(Some("bearer pat-na1-standin-private-app"), later),
            Ok(())
        );
    }

    #[test]
    fn malformed_or_unknown_credentials_are_refused() {
        let tokens = tokens();
        let now = Instant::now();
        assert_eq!(tokens.check(None, now), Err(AuthFailure::Missing));
        assert_eq!(
            tokens.check(Some("Bearer "), now),
            Err(AuthFailure::Missing)
        );
        assert_eq!(
            tokens.check(Some(&format!("Basic {PRIVATE_APP_TOKEN}")), now),
            Err(AuthFailure::Missing)
        );
        assert_eq!(
            tokens.check(Some("Bearer hs-standin-access-000001"), now),
            Err(AuthFailure::Invalid)
        );
    }

    #[test]
    fn each_field_of_the_grant_is_checked_in_turn() {
        let mut tokens = tokens();
        let now = Instant::now();
        let mut form = grant(REFRESH_TOKEN);
        form[0].1 = "authorization_code".into();
        assert_eq!(tokens.exchange(&form, now), Err(Refusal::GrantType));
        let mut form = grant(REFRESH_TOKEN);
        form[1].1 = "someone-else".into();
        assert_eq!(tokens.exchange(&form, now), Err(Refusal::ClientId));
        let mut form = grant(REFRESH_TOKEN);
        form.remove(2);
        assert_eq!(tokens.exchange(&form, now), Err(Refusal::ClientSecret));
        assert_eq!(
            tokens.exchange(&grant("na1-wrong"), now),
            Err(Refusal::RefreshToken)
        );
        tokens.set_refresh_token(None);
        assert_eq!(
            tokens.exchange(&grant(REFRESH_TOKEN), now),
            Err(Refusal::RefreshToken)
        );
        assert_eq!(tokens.issued(), 0);
    }
}
