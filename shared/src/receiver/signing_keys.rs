//! The receiver's signing secrets: read from Secrets Manager at cold start, kept current, and
//! re-read early when a signature fails to match (a rotation we have not seen yet).
//!
//! The secret (`SECRET_ID`) holds either the plain signing secret, or JSON naming the current
//! secret and the previous ones still accepted during a rotation:
//!
//! ```json
//! {"signing_secret": "whsec_…", "previous_signing_secrets": ["whsec_…"]}
//! ```
//!
//! A plain secret is trimmed of surrounding white space (a trailing newline from a file upload
//! is the commonest rotation mistake). A request signed with any listed secret is accepted.
//!
//! Freshness: the secret is re-read when the cache's TTL ([`crate::secrets`], default 5 min)
//! has passed, and at once when a signature does not match — at most once per
//! [`MIN_FORCED_REFRESH_INTERVAL`], so forged requests cannot drive up Secrets Manager calls.
//! If a re-read fails, or yields a secret the scheme cannot use, the secrets in hand stay in
//! use and the failure is logged.

use std::sync::RwLock;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::secrets::{SecretError, SecretString, Secrets};
use crate::webhook::{Headers, Scheme, SecretSet, Verified, Verifier, VerifyError};

/// The shortest time between two re-reads forced by a mismatching signature.
pub const MIN_FORCED_REFRESH_INTERVAL: Duration = Duration::from_secs(60);

/// The JSON shape of a signing secret with rotation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RotatingSecret {
    signing_secret: SecretString,
    #[serde(default)]
    previous_signing_secrets: Vec<SecretString>,
}

/// Turns the stored secret text into the set of accepted secrets.
///
/// # Errors
/// [`SecretError::Malformed`]-style error naming `secret_id` (never the content) when the text
/// looks like JSON but is not the documented shape, or holds no usable secret.
pub fn parse_signing_secret(
    secret_id: &str,
    text: &SecretString,
) -> Result<SecretSet, SecretError> {
    let raw = text.expose().trim();
    let malformed = |reason: &str| SecretError::malformed(secret_id, reason);
    if raw.starts_with('{') {
        let doc: RotatingSecret = serde_json::from_str(raw).map_err(|e| {
            malformed(&format!(
                "expected {{\"signing_secret\": \"…\", \"previous_signing_secrets\": [\"…\"]}} \
                 ({:?} error at line {} column {})",
                e.classify(),
                e.line(),
                e.column()
            ))
        })?;
        let current = doc.signing_secret.expose().trim();
        if current.is_empty() {
            return Err(malformed("signing_secret is empty"));
        }
        let mut set = SecretSet::new(current);
        for previous in &doc.previous_signing_secrets {
            let previous = previous.expose().trim();
            if !previous.is_empty() {
                set.push(previous);
            }
        }
        Ok(set)
    } else if raw.is_empty() {
        Err(malformed("the secret is empty"))
    } else {
        Ok(SecretSet::new(raw))
    }
}

/// Refuses secrets the scheme cannot use (a Standard Webhooks secret that is not base64), so
/// the mistake fails the cold start instead of answering 500 to every delivery.
fn check_usable(secret_id: &str, scheme: Scheme, set: &SecretSet) -> Result<(), SecretError> {
    if scheme == Scheme::StandardWebhooks {
        for (index, secret) in set.as_slice().iter().enumerate() {
            if crate::webhook::standard::sign(b"", &[secret], "probe", 0).is_err() {
                return Err(SecretError::malformed(
                    secret_id,
                    format!(
                        "secret #{index} is not a Standard Webhooks secret (whsec_ followed by base64)"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The stored text as secrets this scheme can use.
fn usable_set(
    secret_id: &str,
    scheme: Scheme,
    text: &SecretString,
) -> Result<SecretSet, SecretError> {
    let set = parse_signing_secret(secret_id, text)?;
    check_usable(secret_id, scheme, &set)?;
    Ok(set)
}

struct Current {
    verifier: Verifier,
    loaded: Instant,
    last_forced: Option<Instant>,
}

/// A verifier whose secrets follow Secrets Manager.
pub struct SigningKeys {
    secrets: Secrets,
    secret_id: String,
    scheme: Scheme,
    current: RwLock<Current>,
}

impl SigningKeys {
    /// Reads the signing secret now (cold start): a receiver without its secret must not start.
    pub async fn load(
        secrets: Secrets,
        secret_id: String,
        scheme: Scheme,
    ) -> Result<Self, SecretError> {
        let set = usable_set(&secret_id, scheme, &secrets.get(&secret_id).await?)?;
        Ok(Self::fixed(secrets, secret_id, Verifier::new(scheme, set)))
    }

    /// A verifier built around fixed secrets (unit tests, tools).
    pub fn fixed(secrets: Secrets, secret_id: String, verifier: Verifier) -> Self {
        Self {
            scheme: verifier.scheme(),
            current: RwLock::new(Current {
                verifier,
                loaded: Instant::now(),
                last_forced: None,
            }),
            secrets,
            secret_id,
        }
    }

    /// The secret's id (for logs).
    pub fn secret_id(&self) -> &str {
        &self.secret_id
    }

    /// Verifies a request, re-reading the secret first if it is stale, and once more if no
    /// signature matched and a forced re-read is allowed.
    pub async fn verify<H: Headers + ?Sized>(
        &self,
        body: &[u8],
        headers: &H,
    ) -> Result<Verified, VerifyError> {
        if self.read(|c| c.loaded.elapsed() >= self.secrets.ttl()) {
            self.reload(false).await;
        }
        let first = self.read(|c| c.verifier.verify(body, headers));
        match first {
            Err(VerifyError::NoMatchingSignature) if self.may_force() => {
                tracing::info!(secret_id = %self.secret_id, "signature mismatch: re-reading the signing secret in case it rotated");
                if self.reload(true).await {
                    self.read(|c| c.verifier.verify(body, headers))
                } else {
                    first
                }
            }
            other => other,
        }
    }

    fn read<T>(&self, f: impl FnOnce(&Current) -> T) -> T {
        let guard = self.current.read().unwrap_or_else(|p| p.into_inner());
        f(&guard)
    }

    fn may_force(&self) -> bool {
        self.read(|c| {
            c.last_forced
                .is_none_or(|t| t.elapsed() >= MIN_FORCED_REFRESH_INTERVAL)
        })
    }

    /// Re-reads the secret; returns whether new secrets are in place. Keeps the old ones on
    /// failure.
    async fn reload(&self, forced: bool) -> bool {
        let now = Instant::now();
        if forced {
            let mut guard = self.current.write().unwrap_or_else(|p| p.into_inner());
            guard.last_forced = Some(now);
        }
        let fetched = if forced {
            self.secrets.refresh(&self.secret_id).await
        } else {
            self.secrets.get(&self.secret_id).await
        };
        let set = fetched.and_then(|text| usable_set(&self.secret_id, self.scheme, &text));
        let mut guard = self.current.write().unwrap_or_else(|p| p.into_inner());
        match set {
            Ok(set) => {
                guard.verifier = Verifier::new(self.scheme, set);
                guard.loaded = now;
                true
            }
            Err(e) => {
                // Keep serving with the secrets in hand; try again after another TTL.
                guard.loaded = now;
                tracing::warn!(secret_id = %self.secret_id, error = %e, "could not re-read the signing secret; keeping the current one");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SecretSet, SecretError> {
        parse_signing_secret("my/secret", &SecretString::new(text))
    }

    /// Counts fetches; always returns `value`.
    struct Counting {
        value: &'static str,
        fetches: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    }
    impl crate::secrets::SecretSource for Counting {
        fn fetch<'a>(&'a self, _id: &'a str) -> crate::secrets::Fetch<'a> {
            self.fetches
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Box::pin(async move { Ok(SecretString::new(self.value)) })
        }
    }

    #[tokio::test]
    async fn forged_requests_force_at_most_one_re_read_per_interval() {
        let fetches = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let secrets = Secrets::with_source(Counting {
            value: "the-secret",
            fetches: fetches.clone(),
        })
        .with_ttl(Duration::from_secs(3600));
        let keys = SigningKeys::load(secrets, "gh".into(), Scheme::GitHub)
            .await
            .unwrap();
        assert_eq!(
            fetches.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "read at cold start"
        );

        let body = b"{}";
        let forged = [(
            "x-hub-signature-256",
            crate::webhook::github::sign(body, &"another secret".into()),
        )];
        for _ in 0..5 {
            assert_eq!(
                keys.verify(body, &forged[..]).await,
                Err(VerifyError::NoMatchingSignature)
            );
        }
        assert_eq!(
            fetches.load(std::sync::atomic::Ordering::SeqCst),
            2,
            "five forged requests may force one re-read, not five"
        );

        let genuine = [(
            "x-hub-signature-256",
            crate::webhook::github::sign(body, &"the-secret".into()),
        )];
        assert!(keys.verify(body, &genuine[..]).await.is_ok());
        assert_eq!(fetches.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[test]
    fn standard_webhooks_secrets_must_be_base64() {
        let ok = parse("whsec_c3dpdGNoeWFyZA==").unwrap();
        assert!(check_usable("id", Scheme::StandardWebhooks, &ok).is_ok());
        let bad = parse(r#"{"signing_secret": "whsec_c3dpdGNoeWFyZA==", "previous_signing_secrets": ["whsec_not base64!"]}"#).unwrap();
        let e = check_usable("id", Scheme::StandardWebhooks, &bad).unwrap_err();
        assert!(e.to_string().contains("secret #1"), "{e}");
        assert!(!e.to_string().contains("not base64!"), "{e}");
        assert!(
            check_usable("id", Scheme::Stripe, &bad).is_ok(),
            "other schemes take any bytes"
        );
    }

    #[test]
    fn plain_secret_is_trimmed() {
        let set = parse("  whsec_abc\n").unwrap();
        assert_eq!(set.len(), 1);
        assert_eq!(set.as_slice()[0].expose(), b"whsec_abc");
    }

    #[test]
    fn json_secret_lists_current_then_previous() {
        let set =
            parse(r#"{"signing_secret": "new", "previous_signing_secrets": ["old1", "", "old2"]}"#)
                .unwrap();
        let got: Vec<&[u8]> = set.as_slice().iter().map(|s| s.expose()).collect();
        assert_eq!(got, [b"new".as_slice(), b"old1", b"old2"]);
        assert_eq!(parse(r#"{"signing_secret": "only"}"#).unwrap().len(), 1);
    }

    #[test]
    fn malformed_secrets_name_the_id_never_the_content() {
        for bad in [
            "",
            "   ",
            r#"{"signing_secret": ""}"#,
            r#"{"signing": "hunter2-value"}"#,
            r#"{"signing_secret": "hunter2-value", "extra": 1}"#,
            r#"{"signing_secret": hunter2-value"#,
        ] {
            let e = parse(bad).unwrap_err();
            let text = e.to_string();
            assert!(text.contains("my/secret"), "{text}");
            assert!(!text.contains("hunter2"), "{text}");
            // The receiver's own secret: a failure of the function, not of a request.
            assert_eq!(crate::Classify::class(&e), crate::ErrorClass::Auth);
        }
    }
}
