//! `switchyard sign`: a payload signed as its provider would sign it, for `curl` against a
//! receiver running locally (`cargo lambda watch`) or deployed.
//!
//! The signature comes from the kit's own signing helpers (`switchyard::webhook::<scheme>::
//! signed_headers`), the counterparts of the verifiers the receivers run, so what this prints
//! is what a receiver accepts with the same secret. The secret is read from `--secret-env`
//! (preferred: it stays out of shell history and the process list) or `--secret`, and never
//! printed.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use switchyard::webhook::{WebhookSecret, github, shopify, slack, standard, stripe};

use crate::Finished;

/// A provider's signature scheme, as `sign` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Provider {
    /// `Stripe-Signature: t=…,v1=…` (secret `whsec_…`).
    Stripe,
    /// `X-Hub-Signature-256: sha256=…`.
    Github,
    /// `X-Slack-Signature: v0=…` and `X-Slack-Request-Timestamp`.
    Slack,
    /// `X-Shopify-Hmac-Sha256` (base64).
    Shopify,
    /// Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature` (secret
    /// `whsec_<base64>`).
    #[value(alias = "standard-webhooks")]
    Standard,
    /// Standard Webhooks with Svix's header names (`svix-id`, ...).
    Svix,
}

/// Sign a payload as a provider would, and print the headers (and a curl command).
///
/// Signs the file's bytes exactly as they are (send them with `curl --data-binary @FILE`, which
/// does not alter them) with the kit's signing scheme for the provider. Stripe, Slack and
/// Standard Webhooks sign a timestamp that receivers accept for 300 s: sign right before
/// sending, or pass --timestamp to reproduce a request.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("key").required(true).args(["secret", "secret_env"])))]
pub struct SignArgs {
    /// The provider whose scheme signs the payload.
    #[arg(value_enum)]
    pub provider: Provider,
    /// The payload (JSON body) to sign.
    pub file: PathBuf,
    /// The signing secret (visible in shell history and the process list: prefer
    /// --secret-env).
    #[arg(long)]
    pub secret: Option<String>,
    /// The environment variable holding the signing secret.
    #[arg(long, value_name = "VAR")]
    pub secret_env: Option<String>,
    /// Sign as of this Unix time (seconds) instead of now.
    #[arg(long, value_name = "T", allow_negative_numbers = true)]
    pub timestamp: Option<i64>,
    /// The message id for Standard Webhooks / Svix (default: a fresh `msg_…`).
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,
    /// Also print a ready curl command posting the payload to this URL.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
}

/// Why a payload could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The payload file could not be read.
    #[error("could not read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The variable named by `--secret-env` is not set.
    #[error("environment variable {0} is not set (it should hold the signing secret)")]
    MissingSecretEnv(String),
    /// The secret is empty.
    #[error("the signing secret is empty")]
    EmptySecret,
    /// The scheme refused the secret (Standard Webhooks: not `whsec_<base64>`).
    #[error("cannot sign for {provider}: {reason}")]
    Scheme {
        /// The provider.
        provider: &'static str,
        /// The kit's reason.
        reason: String,
    },
}

/// The headers a provider's request carries for `body`, signed with `secret` at `timestamp`.
///
/// # Errors
/// [`SignError::Scheme`] when the scheme cannot use the secret.
pub fn headers(
    provider: Provider,
    body: &[u8],
    secret: &WebhookSecret,
    timestamp: i64,
    msg_id: &str,
) -> Result<Vec<(&'static str, String)>, SignError> {
    let standard = |spelling, name| {
        standard::signed_headers(body, secret, msg_id, timestamp, spelling).map_err(|e| {
            SignError::Scheme {
                provider: name,
                reason: e.to_string(),
            }
        })
    };
    Ok(match provider {
        Provider::Stripe => stripe::signed_headers(body, secret, timestamp),
        Provider::Github => github::signed_headers(body, secret),
        Provider::Slack => slack::signed_headers(body, secret, timestamp),
        Provider::Shopify => shopify::signed_headers(body, secret),
        Provider::Standard => standard(standard::Spelling::Standard, "standard")?,
        Provider::Svix => standard(standard::Spelling::Svix, "svix")?,
    })
}

/// `value` quoted for a POSIX shell.
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// Runs `sign`.
pub fn run(args: &SignArgs) -> anyhow::Result<Finished> {
    let body = std::fs::read(&args.file).map_err(|source| SignError::Read {
        path: args.file.clone(),
        source,
    })?;
    let secret = match (&args.secret, &args.secret_env) {
        (Some(secret), _) => secret.clone(),
        (None, Some(var)) => {
            std::env::var(var).map_err(|_| SignError::MissingSecretEnv(var.clone()))?
        }
        (None, None) => return Err(SignError::EmptySecret.into()),
    };
    if secret.is_empty() {
        return Err(SignError::EmptySecret.into());
    }
    let secret = WebhookSecret::new(secret);
    let timestamp = args.timestamp.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    });
    let msg_id = args
        .id
        .clone()
        .unwrap_or_else(|| format!("msg_{}", uuid::Uuid::new_v4().simple()));
    let mut all = vec![("content-type", "application/json".to_owned())];
    all.extend(headers(args.provider, &body, &secret, timestamp, &msg_id)?);
    for (name, value) in &all {
        println!("{name}: {value}");
    }
    if let Some(url) = &args.url {
        let mut command = format!("curl -sS -X POST {}", shell_quote(url));
        for (name, value) in &all {
            command.push_str(" \\\n  -H ");
            command.push_str(&shell_quote(&format!("{name}: {value}")));
        }
        command.push_str(" \\\n  --data-binary ");
        command.push_str(&shell_quote(&format!("@{}", args.file.display())));
        println!();
        println!("{command}");
    }
    Ok(Finished::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard::webhook::{FixedClock, Scheme, SecretSet, Verifier};

    const BODY: &[u8] = br#"{"id":"evt_1","type":"customer.created"}"#;
    const T: i64 = 1_763_700_000;

    fn verified(provider: Provider, scheme: Scheme, secret: &str) -> bool {
        let key = WebhookSecret::new(secret);
        let headers = headers(provider, BODY, &key, T, "msg_1").unwrap();
        let pairs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Verifier::new(scheme, SecretSet::new(secret))
            .with_clock(std::sync::Arc::new(FixedClock(T)))
            .verify(BODY, pairs.as_slice())
            .is_ok()
    }

    #[test]
    fn every_provider_signs_what_its_verifier_accepts() {
        let std_secret = "whsec_c3dpdGNoeWFyZC1zdGFuZGFyZC13ZWJob29rcy1rZXk=";
        assert!(verified(Provider::Stripe, Scheme::Stripe, "whsec_x"));
        assert!(verified(Provider::Github, Scheme::GitHub, "s"));
        assert!(verified(Provider::Slack, Scheme::Slack, "s"));
        assert!(verified(Provider::Shopify, Scheme::Shopify, "s"));
        assert!(verified(
            Provider::Standard,
            Scheme::StandardWebhooks,
            std_secret
        ));
        assert!(verified(
            Provider::Svix,
            Scheme::StandardWebhooks,
            std_secret
        ));
    }

    #[test]
    fn a_standard_webhooks_secret_that_is_not_base64_is_refused() {
        let error = headers(
            Provider::Standard,
            BODY,
            &WebhookSecret::new("whsec_***"),
            T,
            "m",
        )
        .unwrap_err();
        assert!(error.to_string().contains("standard"), "{error}");
    }

    #[test]
    fn shell_quoting_survives_single_quotes() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
