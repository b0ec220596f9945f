//! A scheme, its secrets, a clock and a tolerance bundled as one value: what a receiver builds
//! once at start-up and calls for every request.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::verify::SignatureScheme;
use super::{
    Clock, DEFAULT_TOLERANCE, Headers, Scheme, SecretSet, SystemClock, Verified, VerifyError,
    github, shopify, slack, standard, stripe,
};

/// A scheme, its secrets, a clock and a tolerance: what a receiver builds once at start-up and
/// then calls for every request.
///
/// `Debug` shows the scheme and tolerance and how many secrets there are, never the secrets.
#[derive(Clone)]
pub struct Verifier {
    scheme: Scheme,
    secrets: SecretSet,
    tolerance: Duration,
    clock: Arc<dyn Clock>,
}

impl Verifier {
    /// A verifier with the system clock and the scheme's default tolerance (300 s).
    pub fn new(scheme: Scheme, secrets: SecretSet) -> Self {
        Self {
            scheme,
            secrets,
            tolerance: scheme.default_tolerance().unwrap_or(DEFAULT_TOLERANCE),
            clock: Arc::new(SystemClock),
        }
    }

    /// Replaces the clock (tests, replays).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the timestamp tolerance (ignored by schemes without a timestamp).
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Replaces the secrets, e.g. after re-reading them from Secrets Manager on a rotation.
    pub fn set_secrets(&mut self, secrets: SecretSet) {
        self.secrets = secrets;
    }

    /// The scheme this verifier checks.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// Verifies one request: its raw body bytes, exactly as received, and its headers.
    pub fn verify<H: Headers + ?Sized>(
        &self,
        body: &[u8],
        headers: &H,
    ) -> Result<Verified, VerifyError> {
        let (secrets, clock, tolerance) = (&self.secrets, self.clock.as_ref(), self.tolerance);
        match self.scheme {
            Scheme::Stripe => {
                stripe::Stripe::verify_with_tolerance(body, headers, secrets, clock, tolerance)
            }
            Scheme::GitHub => {
                github::GitHub::verify_with_tolerance(body, headers, secrets, clock, tolerance)
            }
            Scheme::Slack => {
                slack::Slack::verify_with_tolerance(body, headers, secrets, clock, tolerance)
            }
            Scheme::Shopify => {
                shopify::Shopify::verify_with_tolerance(body, headers, secrets, clock, tolerance)
            }
            Scheme::StandardWebhooks => standard::StandardWebhooks::verify_with_tolerance(
                body, headers, secrets, clock, tolerance,
            ),
        }
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("scheme", &self.scheme)
            .field("secrets", &self.secrets)
            .field("tolerance", &self.tolerance)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::FixedClock;

    #[test]
    fn secrets_never_show_in_debug() {
        let set = SecretSet::new("whsec_supersecret").with_previous("old-secret-value");
        let v = Verifier::new(Scheme::Stripe, set);
        let text = format!("{v:?}");
        assert!(!text.contains("supersecret"), "{text}");
        assert!(!text.contains("old-secret-value"), "{text}");
        assert!(text.contains("Stripe"), "{text}");
    }

    #[test]
    fn dispatches_to_the_configured_scheme() {
        // GitHub's published example: accepted by a GitHub verifier, refused by the others
        // (which miss their own headers), whatever the clock says.
        let headers = [(
            "x-hub-signature-256",
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        )];
        let secrets = SecretSet::new("It's a Secret to Everybody");
        let github = Verifier::new(Scheme::GitHub, secrets.clone())
            .with_clock(Arc::new(FixedClock(i64::MAX)));
        assert_eq!(github.scheme(), Scheme::GitHub);
        assert!(github.verify(b"Hello, World!", &headers).is_ok());
        for scheme in [
            Scheme::Stripe,
            Scheme::Slack,
            Scheme::Shopify,
            Scheme::StandardWebhooks,
        ] {
            let v = Verifier::new(scheme, secrets.clone());
            assert!(
                matches!(
                    v.verify(b"Hello, World!", &headers),
                    Err(VerifyError::MissingHeader(_))
                ),
                "{scheme}"
            );
        }
    }
}
