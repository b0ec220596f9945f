//! Why a webhook request was refused, and how the kit classifies that.

use crate::taxonomy::{Classification, Classify};

/// Why a webhook request was refused.
///
/// The message is for logs only: a receiver answers 401 (or 500 for a configuration fault, see
/// [`Classify`] below) without detail, so a caller probing the endpoint learns nothing. Variants
/// name headers but never echo header values, and never contain secret material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A header the scheme requires is absent. Holds the header's canonical (lower-case) name.
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// A header is present but cannot be parsed (not UTF-8, no timestamp, wrong prefix, ...).
    #[error("malformed header {header}: {reason}")]
    MalformedHeader {
        /// The header's canonical (lower-case) name.
        header: &'static str,
        /// What is wrong with it; a fixed text, never the value itself.
        reason: &'static str,
    },
    /// The signed timestamp is too far from now: a replay, or a badly skewed clock.
    #[error(
        "timestamp {timestamp} is outside the tolerance of {tolerance_secs} s around now ({now})"
    )]
    TimestampOutOfTolerance {
        /// The request's timestamp (unix seconds).
        timestamp: i64,
        /// The verifier's clock (unix seconds).
        now: i64,
        /// The tolerance that was applied, in seconds.
        tolerance_secs: u64,
    },
    /// No signature of the request matches any of the secrets: forged, tampered with, or signed
    /// with a secret we do not (yet) have.
    #[error("no matching signature")]
    NoMatchingSignature,
    /// The secret set is empty: the receiver is misconfigured.
    #[error("no webhook secret configured")]
    NoSecret,
    /// A configured secret cannot be used by this scheme (e.g. a Standard Webhooks secret that is
    /// not base64). Holds the secret's position in the [`SecretSet`](super::SecretSet), never its
    /// value.
    #[error("webhook secret #{index} is not valid for this scheme")]
    InvalidSecret {
        /// Position of the offending secret in the set (0 = current).
        index: usize,
    },
}

impl VerifyError {
    /// Whether the fault is ours (no usable secret) rather than the request's.
    ///
    /// A receiver answers 500 for these, so the provider retries once the configuration is fixed,
    /// and alerts; every other failure is answered 401.
    pub fn is_configuration_fault(&self) -> bool {
        matches!(
            self,
            VerifyError::NoSecret | VerifyError::InvalidSecret { .. }
        )
    }
}

impl Classify for VerifyError {
    /// A request that fails verification is [`ErrorClass::Auth`](crate::ErrorClass::Auth): its
    /// credentials (the signature) were refused, it is not retryable as such, and the only thing
    /// that can change the verdict for the same bytes is a fresh secret (a rotation we have not
    /// picked up yet) — exactly what `Auth` means to the kit. A configuration fault
    /// ([`VerifyError::is_configuration_fault`]) is [`ErrorClass::Permanent`](crate::ErrorClass::Permanent):
    /// nothing the request or a retry does can fix it.
    fn classification(&self) -> Classification {
        if self.is_configuration_fault() {
            Classification::permanent()
        } else {
            Classification::auth()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorClass;

    #[test]
    fn errors_classify_as_auth_except_configuration_faults() {
        assert_eq!(VerifyError::NoMatchingSignature.class(), ErrorClass::Auth);
        assert_eq!(VerifyError::MissingHeader("x").class(), ErrorClass::Auth);
        let e = VerifyError::TimestampOutOfTolerance {
            timestamp: 1,
            now: 400,
            tolerance_secs: 300,
        };
        assert_eq!(e.class(), ErrorClass::Auth);
        assert_eq!(VerifyError::NoSecret.class(), ErrorClass::Permanent);
        assert_eq!(
            VerifyError::InvalidSecret { index: 1 }.class(),
            ErrorClass::Permanent
        );
        assert!(!ErrorClass::Auth.is_retryable());
    }
}
