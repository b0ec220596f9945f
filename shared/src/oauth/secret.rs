//! The secret's two shapes: refresh-token credentials, or a static access token.

use serde::Deserialize;

use crate::secrets::{SecretError, SecretString};

/// The secret as stored, every key optional so that a wrong shape can be named key by key
/// (serde would name only the first missing field of a strict type). Other keys are ignored.
#[derive(Deserialize)]
pub(super) struct OAuthSecret {
    client_id: Option<SecretString>,
    client_secret: Option<SecretString>,
    refresh_token: Option<SecretString>,
    access_token: Option<SecretString>,
}

/// What the secret lets the provider do.
pub(super) enum Credentials {
    /// Exchange a refresh token at the token endpoint (`grant_type=refresh_token`).
    RefreshToken(RefreshCredentials),
    /// Use this token as it is (e.g. a HubSpot private-app token).
    Static(SecretString),
}

/// The keys of the refresh-token flow.
pub(super) struct RefreshCredentials {
    pub(super) client_id: SecretString,
    pub(super) client_secret: SecretString,
    pub(super) refresh_token: SecretString,
}

impl OAuthSecret {
    /// The credentials this secret holds: the refresh-token flow when all three of its keys are
    /// there, else the static token, else a [`SecretError::Malformed`] (auth) for secret `id`
    /// naming every missing or empty key, never a value.
    pub(super) fn credentials(self, id: &str) -> Result<Credentials, SecretError> {
        let [client_id, client_secret, refresh_token, access_token] = [
            self.client_id,
            self.client_secret,
            self.refresh_token,
            self.access_token,
        ]
        .map(|value| value.filter(|v| !v.expose().trim().is_empty()));
        match (client_id, client_secret, refresh_token, access_token) {
            (Some(client_id), Some(client_secret), Some(refresh_token), _) => {
                Ok(Credentials::RefreshToken(RefreshCredentials {
                    client_id,
                    client_secret,
                    refresh_token,
                }))
            }
            (_, _, _, Some(token)) => Ok(Credentials::Static(token)),
            (client_id, client_secret, refresh_token, None) => {
                let missing: Vec<String> = [
                    ("client_id", client_id.is_none()),
                    ("client_secret", client_secret.is_none()),
                    ("refresh_token", refresh_token.is_none()),
                    ("access_token", true),
                ]
                .iter()
                .filter(|(_, missing)| *missing)
                .map(|(key, _)| format!("`{key}`"))
                .collect();
                Err(SecretError::malformed(
                    id,
                    format!(
                        "it holds neither `access_token` (a static token) nor all of `client_id`, \
                         `client_secret` and `refresh_token` (the refresh-token flow); missing or \
                         empty: {}",
                        missing.join(", ")
                    ),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taxonomy::{Classify, ErrorClass};

    fn parse(json: &str) -> Result<Credentials, SecretError> {
        serde_json::from_str::<OAuthSecret>(json)
            .unwrap()
            .credentials("crm/oauth")
    }

    #[test]
    fn all_three_refresh_keys_make_the_refresh_token_flow() {
        let creds = parse(
            r#"{"client_id":"cid","client_secret":"cs","refresh_token":"rt","access_token":"old","portal":1}"#,
        )
        .unwrap();
        match creds {
            Credentials::RefreshToken(c) => {
                assert_eq!(
                    [
                        c.client_id.expose(),
                        c.client_secret.expose(),
                        c.refresh_token.expose()
                    ],
                    ["cid", "cs", "rt"]
                );
            }
            Credentials::Static(_) => panic!("expected the refresh-token flow"),
        }
    }

    #[test]
    fn an_access_token_alone_is_static() {
        match parse(r#"{"access_token":"pat-na1-x","client_id":"cid"}"#).unwrap() {
            Credentials::Static(token) => assert_eq!(token.expose(), "pat-na1-x"),
            Credentials::RefreshToken(_) => panic!("expected a static token"),
        }
    }

    #[test]
    fn a_wrong_shape_names_the_secret_and_every_missing_key_but_no_value() {
        let error = match parse(r#"{"client_id":"cid-value","client_secret":"  ","token":"t"}"#) {
            Err(error) => error,
            Ok(_) => panic!("accepted an incomplete secret"),
        };
        assert_eq!(error.class(), ErrorClass::Auth);
        let text = error.to_string();
        assert!(
            text.starts_with("secret `crm/oauth` is malformed"),
            "{text}"
        );
        assert!(
            text.ends_with("missing or empty: `client_secret`, `refresh_token`, `access_token`"),
            "{text}"
        );
        assert!(!text.contains("cid-value"), "{text}");

        let empty = parse("{}").err().unwrap().to_string();
        assert!(
            empty.ends_with(
                "missing or empty: `client_id`, `client_secret`, `refresh_token`, `access_token`"
            ),
            "{empty}"
        );
    }
}
