//! The signature schemes the kit knows, as a value a receiver picks from configuration.

use std::fmt;
use std::time::Duration;

use super::freshness::Freshness;
use super::verify::SignatureScheme;
use super::{github, shopify, slack, standard, stripe};

/// The signature schemes this module knows, for choosing one from configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Stripe: `Stripe-Signature: t=…,v1=…`. See [`stripe`].
    Stripe,
    /// GitHub: `X-Hub-Signature-256: sha256=…`. See [`github`].
    GitHub,
    /// Slack: `X-Slack-Signature: v0=…` with `X-Slack-Request-Timestamp`. See [`slack`].
    Slack,
    /// Shopify: `X-Shopify-Hmac-Sha256` (or `Shopify-Hmac-Sha256`). See [`shopify`].
    Shopify,
    /// Standard Webhooks, including the Svix spelling (`svix-*` headers). See [`standard`].
    StandardWebhooks,
}

impl Scheme {
    /// The scheme's default timestamp tolerance, or `None` if it signs no timestamp.
    pub fn default_tolerance(self) -> Option<Duration> {
        self.freshness().default_tolerance()
    }

    /// How the scheme bounds its signed timestamp, as its provider file declares it.
    fn freshness(self) -> Freshness {
        match self {
            Scheme::Stripe => stripe::Stripe::FRESHNESS,
            Scheme::GitHub => github::GitHub::FRESHNESS,
            Scheme::Slack => slack::Slack::FRESHNESS,
            Scheme::Shopify => shopify::Shopify::FRESHNESS,
            Scheme::StandardWebhooks => standard::StandardWebhooks::FRESHNESS,
        }
    }

    /// A stable lower-case name for logs and configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Stripe => "stripe",
            Scheme::GitHub => "github",
            Scheme::Slack => "slack",
            Scheme::Shopify => "shopify",
            Scheme::StandardWebhooks => "standard-webhooks",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::DEFAULT_TOLERANCE;

    #[test]
    fn only_timestamped_schemes_have_a_tolerance() {
        for scheme in [Scheme::Stripe, Scheme::Slack, Scheme::StandardWebhooks] {
            assert_eq!(
                scheme.default_tolerance(),
                Some(DEFAULT_TOLERANCE),
                "{scheme}"
            );
        }
        for scheme in [Scheme::GitHub, Scheme::Shopify] {
            assert_eq!(scheme.default_tolerance(), None, "{scheme}");
        }
        assert_eq!(Scheme::StandardWebhooks.to_string(), "standard-webhooks");
    }
}
