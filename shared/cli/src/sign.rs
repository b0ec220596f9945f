//! `switchyard sign`: a payload signed as its provider would sign it, with the headers its
//! receiver needs besides the signature, for `curl` against a receiver running locally (`cargo
//! lambda watch`) or deployed.
//!
//! The signature comes from the kit's own signing helpers (`switchyard::webhook::<scheme>::
//! signed_headers`), the counterparts of the verifiers the receivers run, so what this prints
//! is what a receiver accepts with the same secret. The secret is read from `--secret-env`
//! (preferred: it stays out of shell history and the process list) or `--secret`, and never
//! printed.
//!
//! Two providers keep the event's identity in headers rather than in the body, and their
//! receivers refuse a delivery without them, so `sign` prints those too:
//!
//! | provider | flag | header | default |
//! |---|---|---|---|
//! | github | `--event` | `x-github-event` (`push`, `issues`, `pull_request`, ...) | required |
//! | github | `--delivery-id` | `x-github-delivery` (the event id) | a fresh UUID |
//! | shopify | `--topic` | `x-shopify-topic` (`orders/create`, ...) | required |
//! | shopify | `--delivery-id` | `x-shopify-event-id` (the event id) | a fresh UUID |
//! | shopify | | `x-shopify-webhook-id` | a fresh UUID |
//! | shopify | `--shop-domain` | `x-shopify-shop-domain` | `example.myshopify.com` |
//! | shopify | `--timestamp` | `x-shopify-triggered-at` (RFC 3339) | now |
//! | shopify | `--api-version` | `x-shopify-api-version` | `2025-10` |
//!
//! A flag the chosen provider's request does not use is refused (a usage error, exit 2), as is
//! a provider's required flag left out: [`SignArgs::check`], run by `main` right after clap.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::error::ErrorKind;
use switchyard::webhook::{WebhookSecret, github, shopify, slack, standard, stripe};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Finished;

/// The shop `--shop-domain` stands for when not given: a placeholder in Shopify's own form
/// (`<shop>.myshopify.com`, what `x-shopify-shop-domain` carries).
pub const DEFAULT_SHOP_DOMAIN: &str = "example.myshopify.com";

/// The Admin API version `--api-version` stands for when not given (a stable release; the
/// receiver only records it, as the envelope's `shopifyapiversion`).
pub const DEFAULT_API_VERSION: &str = "2025-10";

/// A provider's signature scheme, as `sign` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Provider {
    /// `Stripe-Signature: t=…,v1=…` (secret `whsec_…`).
    Stripe,
    /// `X-Hub-Signature-256: sha256=…`, with `X-GitHub-Event` (--event) and
    /// `X-GitHub-Delivery`.
    Github,
    /// `X-Slack-Signature: v0=…` and `X-Slack-Request-Timestamp`.
    Slack,
    /// `X-Shopify-Hmac-Sha256` (base64), with `X-Shopify-Topic` (--topic), the event and webhook
    /// ids, the shop, the time and the API version.
    Shopify,
    /// Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature` (secret
    /// `whsec_<base64>`).
    #[value(alias = "standard-webhooks")]
    Standard,
    /// Standard Webhooks with Svix's header names (`svix-id`, ...).
    Svix,
}

impl Provider {
    /// The name `sign` takes it by.
    pub fn name(self) -> &'static str {
        match self {
            Self::Stripe => "stripe",
            Self::Github => "github",
            Self::Slack => "slack",
            Self::Shopify => "shopify",
            Self::Standard => "standard",
            Self::Svix => "svix",
        }
    }
}

/// Sign a payload as a provider would, and print the headers (and a curl command).
///
/// Signs the file's bytes exactly as they are (send them with `curl --data-binary @FILE`, which
/// does not alter them) with the kit's signing scheme for the provider, and prints every header
/// the provider's receiver needs to make an event of it. GitHub and Shopify name the event in a
/// header, not in the body, and their receivers refuse a delivery without it: github needs
/// --event, shopify needs --topic; their ids, shop, time and API version have generated
/// defaults. A flag the provider's request does not use is an error. Stripe, Slack and Standard
/// Webhooks sign a timestamp that receivers accept for 300 s: sign right before sending, or pass
/// --timestamp to reproduce a request.
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
    /// Sign as of this Unix time (seconds) instead of now: the signed time of stripe, slack,
    /// standard and svix, and shopify's x-shopify-triggered-at. Not for github (GitHub's request
    /// carries no time).
    #[arg(long, value_name = "T", allow_negative_numbers = true)]
    pub timestamp: Option<i64>,
    /// The message id for standard and svix, signed as webhook-id / svix-id (default: a fresh
    /// `msg_…`). For github and shopify, use --delivery-id.
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,
    /// github (required): the event's name, sent as x-github-event: push, issues,
    /// pull_request, ... GitHub sends it with every delivery, and the receiver refuses a delivery
    /// without it. The envelope's type is this name plus the payload's "action"
    /// (issues.opened); ping is answered, not queued.
    #[arg(long, value_name = "NAME", value_parser = github_event)]
    pub event: Option<String>,
    /// shopify (required): the webhook topic, sent as x-shopify-topic: orders/create,
    /// customers/create, ... (the REST form, not the GraphQL enum ORDERS_CREATE). Shopify sends
    /// it with every delivery, the receiver refuses a delivery without it, and it becomes the
    /// envelope's type.
    #[arg(long, value_name = "TOPIC", value_parser = shopify_topic)]
    pub topic: Option<String>,
    /// github and shopify: the event id the receiver deduplicates on, sent as x-github-delivery
    /// / x-shopify-event-id (default: a fresh UUID, as both send). Send two requests with the
    /// same id to see the second one deduplicated. Shopify's x-shopify-webhook-id (the
    /// subscription's delivery id, which the receiver only records) is always a fresh UUID.
    #[arg(long, value_name = "ID", value_parser = delivery_id)]
    pub delivery_id: Option<String>,
    /// shopify: the shop, sent as x-shopify-shop-domain, the envelope's subject (default:
    /// example.myshopify.com).
    #[arg(long, value_name = "HOST", value_parser = shop_domain)]
    pub shop_domain: Option<String>,
    /// shopify: the Admin API version the payload is in, sent as x-shopify-api-version
    /// (default: 2025-10).
    #[arg(long, value_name = "YYYY-MM", value_parser = api_version)]
    pub api_version: Option<String>,
    /// Also print a ready curl command posting the payload to this URL.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
}

/// Why a command line cannot sign for its provider: the rules clap cannot express, checked by
/// [`SignArgs::check`]. `main` reports them as clap's usage errors (exit 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsageError {
    /// A flag the provider's receiver needs is missing.
    #[error("{provider} needs {flag}: {why}")]
    Missing {
        /// The provider.
        provider: &'static str,
        /// The flag, with its value name.
        flag: &'static str,
        /// What the provider sends there, and why the receiver needs it.
        why: &'static str,
    },
    /// A flag the provider's request does not use.
    #[error("{flag} does not apply to {provider}: {purpose}")]
    NotApplicable {
        /// The flag.
        flag: &'static str,
        /// The provider.
        provider: &'static str,
        /// What the flag is for, and which providers take it.
        purpose: &'static str,
    },
    /// `--timestamp` is no date `x-shopify-triggered-at` can carry.
    #[error(
        "--timestamp {0} is out of range for x-shopify-triggered-at (an RFC 3339 date, years 0 to 9999)"
    )]
    TimestampOutOfRange(i64),
}

impl UsageError {
    /// The kind of clap error this is reported as.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Missing { .. } => ErrorKind::MissingRequiredArgument,
            Self::NotApplicable { .. } => ErrorKind::ArgumentConflict,
            Self::TimestampOutOfRange(_) => ErrorKind::ValueValidation,
        }
    }
}

/// A flag only some providers' requests use.
struct ProviderFlag {
    flag: &'static str,
    given: fn(&SignArgs) -> bool,
    providers: &'static [Provider],
    purpose: &'static str,
}

/// Every provider-specific flag, with the providers that take it.
static PROVIDER_FLAGS: [ProviderFlag; 7] = [
    ProviderFlag {
        flag: "--event",
        given: |a| a.event.is_some(),
        providers: &[Provider::Github],
        purpose: "it sets x-github-event, which only github sends",
    },
    ProviderFlag {
        flag: "--topic",
        given: |a| a.topic.is_some(),
        providers: &[Provider::Shopify],
        purpose: "it sets x-shopify-topic, which only shopify sends",
    },
    ProviderFlag {
        flag: "--shop-domain",
        given: |a| a.shop_domain.is_some(),
        providers: &[Provider::Shopify],
        purpose: "it sets x-shopify-shop-domain, which only shopify sends",
    },
    ProviderFlag {
        flag: "--api-version",
        given: |a| a.api_version.is_some(),
        providers: &[Provider::Shopify],
        purpose: "it sets x-shopify-api-version, which only shopify sends",
    },
    ProviderFlag {
        flag: "--delivery-id",
        given: |a| a.delivery_id.is_some(),
        providers: &[Provider::Github, Provider::Shopify],
        purpose: "it sets the event id github and shopify send in a header (x-github-delivery, \
                  x-shopify-event-id); standard and svix take --id, stripe and slack carry the id \
                  in the payload",
    },
    ProviderFlag {
        flag: "--id",
        given: |a| a.id.is_some(),
        providers: &[Provider::Standard, Provider::Svix],
        purpose: "it sets the signed message id of standard and svix (webhook-id, svix-id); \
                  github and shopify take --delivery-id, stripe and slack carry the id in the \
                  payload",
    },
    ProviderFlag {
        flag: "--timestamp",
        given: |a| a.timestamp.is_some(),
        providers: &[
            Provider::Stripe,
            Provider::Slack,
            Provider::Standard,
            Provider::Svix,
            Provider::Shopify,
        ],
        purpose: "GitHub signs no time and sends none",
    },
];

/// What a provider's request carries outside the body and its signature, from the flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventFlags<'a> {
    /// Stripe, Slack, Standard Webhooks, Svix: the body (and the signed headers) say it all.
    None,
    /// GitHub's event name and delivery id.
    GitHub {
        /// `x-github-event`.
        event: &'a str,
        /// `x-github-delivery`; `None` for a fresh one.
        delivery_id: Option<&'a str>,
    },
    /// Shopify's topic and the rest of its headers.
    Shopify {
        /// `x-shopify-topic`.
        topic: &'a str,
        /// `x-shopify-event-id`; `None` for a fresh one.
        event_id: Option<&'a str>,
        /// `x-shopify-shop-domain`.
        shop_domain: &'a str,
        /// `x-shopify-api-version`.
        api_version: &'a str,
    },
}

const GITHUB_EVENT_WHY: &str = "GitHub names the event in x-github-event with every delivery \
    (push, issues, pull_request, ...; the action, such as opened, is the payload's \"action\"), \
    and the receiver refuses a delivery without it";

const SHOPIFY_TOPIC_WHY: &str = "Shopify names the event in x-shopify-topic with every delivery \
    (orders/create, customers/create, ...), and the receiver refuses a delivery without it";

impl SignArgs {
    /// The rules clap cannot express: the flags the provider's receiver needs are given
    /// (github: --event; shopify: --topic), no flag its request does not use is, and shopify's
    /// --timestamp is a date. Returns the provider's headers besides the signature, as flags.
    ///
    /// # Errors
    /// The first rule broken, a flag given to the wrong provider before a missing one.
    pub fn check(&self) -> Result<EventFlags<'_>, UsageError> {
        let provider = self.provider;
        if let Some(wrong) = PROVIDER_FLAGS
            .iter()
            .find(|f| (f.given)(self) && !f.providers.contains(&provider))
        {
            return Err(UsageError::NotApplicable {
                flag: wrong.flag,
                provider: provider.name(),
                purpose: wrong.purpose,
            });
        }
        match provider {
            Provider::Github => {
                let event = self.event.as_deref().ok_or(UsageError::Missing {
                    provider: "github",
                    flag: "--event <NAME>",
                    why: GITHUB_EVENT_WHY,
                })?;
                Ok(EventFlags::GitHub {
                    event,
                    delivery_id: self.delivery_id.as_deref(),
                })
            }
            Provider::Shopify => {
                let topic = self.topic.as_deref().ok_or(UsageError::Missing {
                    provider: "shopify",
                    flag: "--topic <TOPIC>",
                    why: SHOPIFY_TOPIC_WHY,
                })?;
                if let Some(timestamp) = self.timestamp {
                    shopify_time(timestamp)?;
                }
                Ok(EventFlags::Shopify {
                    topic,
                    event_id: self.delivery_id.as_deref(),
                    shop_domain: self.shop_domain.as_deref().unwrap_or(DEFAULT_SHOP_DOMAIN),
                    api_version: self.api_version.as_deref().unwrap_or(DEFAULT_API_VERSION),
                })
            }
            Provider::Stripe | Provider::Slack | Provider::Standard | Provider::Svix => {
                Ok(EventFlags::None)
            }
        }
    }
}

/// `--event`: GitHub's event names are lowercase words joined by `_`.
fn github_event(value: &str) -> Result<String, String> {
    if !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Ok(value.to_owned());
    }
    let mut reason =
        "GitHub's event names are lowercase words joined by _ (push, issues, pull_request)"
            .to_owned();
    if let Some((event, action)) = value.split_once('.') {
        reason.push_str(&format!(
            "; the action ({action}) is the payload's \"action\": pass --event {event}"
        ));
    }
    Err(reason)
}

/// `--topic`: Shopify's topics as its header carries them, lowercase (`orders/create`,
/// `customer.tags_added`).
fn shopify_topic(value: &str) -> Result<String, String> {
    let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_./-".contains(&b);
    if !value.is_empty() && value.bytes().all(allowed) {
        return Ok(value.to_owned());
    }
    Err(
        "Shopify's topics are lowercase, such as orders/create or customers/create (the REST \
         form x-shopify-topic carries, not the GraphQL enum ORDERS_CREATE)"
            .to_owned(),
    )
}

/// `--delivery-id`: any id that is a header value as it is (printable ASCII, no spaces).
fn delivery_id(value: &str) -> Result<String, String> {
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_graphic()) {
        return Ok(value.to_owned());
    }
    Err("an id is printable ASCII without spaces (GitHub and Shopify send a UUID)".to_owned())
}

/// `--shop-domain`: a host name, as Shopify sends it (no scheme, no path).
fn shop_domain(value: &str) -> Result<String, String> {
    let bytes = value.as_bytes();
    let ok = match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'.' || *b == b'-')
        }
        _ => false,
    };
    if ok {
        return Ok(value.to_owned());
    }
    Err("a shop is a host name such as acme.myshopify.com, without https:// or a path".to_owned())
}

/// `--api-version`: Shopify's quarterly releases (`2025-10`) or `unstable`.
fn api_version(value: &str) -> Result<String, String> {
    let quarterly = match value.split_once('-') {
        Some((year, month)) => {
            year.len() == 4
                && year.bytes().all(|b| b.is_ascii_digit())
                && ["01", "04", "07", "10"].contains(&month)
        }
        None => false,
    };
    if quarterly || value == "unstable" {
        return Ok(value.to_owned());
    }
    Err(
        "Shopify's API versions are YYYY-01, YYYY-04, YYYY-07, YYYY-10 (2025-10) or unstable"
            .to_owned(),
    )
}

/// Unix time `timestamp` as `x-shopify-triggered-at` carries it (RFC 3339, UTC).
fn shopify_time(timestamp: i64) -> Result<String, UsageError> {
    OffsetDateTime::from_unix_timestamp(timestamp)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .ok_or(UsageError::TimestampOutOfRange(timestamp))
}

/// A fresh id as GitHub and Shopify send theirs: a UUID.
fn fresh_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The headers a provider's request carries besides the signature, at `timestamp`; ids not
/// given come from `fresh`.
///
/// # Errors
/// [`UsageError::TimestampOutOfRange`] for a Shopify time beyond RFC 3339.
pub fn event_headers(
    flags: &EventFlags<'_>,
    timestamp: i64,
    fresh: &mut dyn FnMut() -> String,
) -> Result<Vec<(&'static str, String)>, UsageError> {
    let mut id = |given: Option<&str>| given.map_or_else(&mut *fresh, str::to_owned);
    Ok(match flags {
        EventFlags::None => Vec::new(),
        EventFlags::GitHub { event, delivery_id } => vec![
            ("x-github-event", (*event).to_owned()),
            ("x-github-delivery", id(*delivery_id)),
        ],
        EventFlags::Shopify {
            topic,
            event_id,
            shop_domain,
            api_version,
        } => vec![
            ("x-shopify-topic", (*topic).to_owned()),
            ("x-shopify-event-id", id(*event_id)),
            ("x-shopify-webhook-id", id(None)),
            ("x-shopify-shop-domain", (*shop_domain).to_owned()),
            ("x-shopify-triggered-at", shopify_time(timestamp)?),
            ("x-shopify-api-version", (*api_version).to_owned()),
        ],
    })
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
///
/// Prints `content-type`, the provider's headers besides the signature ([`event_headers`]), then
/// the signature's ([`headers`]), one `name: value` a line, and with `--url` a blank line and the
/// curl command carrying the same headers.
pub fn run(args: &SignArgs) -> anyhow::Result<Finished> {
    // `main` has checked already; checked again so that `run` never signs a request its
    // receiver would refuse for want of a header.
    let flags = args.check()?;
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
    all.extend(event_headers(&flags, timestamp, &mut fresh_uuid)?);
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

    /// `switchyard sign <args…>` as `main` parses it (clap, then [`SignArgs::check`]).
    fn parse(args: &[&str]) -> Result<SignArgs, clap::Error> {
        let argv = ["switchyard", "sign"].iter().chain(args).copied();
        match crate::parse(argv)?.command {
            crate::Command::Sign(sign) => Ok(sign),
            other => panic!("{other:?}"),
        }
    }

    /// The usage error `args` are refused with: its kind and its text.
    fn refused(args: &[&str]) -> (ErrorKind, String) {
        let error = parse(args).unwrap_err();
        assert_eq!(error.exit_code(), 2, "{error}");
        (error.kind(), error.to_string())
    }

    /// A fresh-id stand-in: `id-1`, `id-2`, ...
    fn counter() -> impl FnMut() -> String {
        let mut n = 0;
        move || {
            n += 1;
            format!("id-{n}")
        }
    }

    const KEY: [&str; 2] = ["--secret", "s"];

    fn with_key<'a>(args: &[&'a str]) -> Vec<&'a str> {
        args.iter().copied().chain(KEY).collect()
    }

    #[test]
    fn github_sends_its_event_and_delivery_id() {
        let args = parse(&with_key(&["github", "p.json", "--event", "issues"])).unwrap();
        let flags = args.check().unwrap();
        assert_eq!(
            flags,
            EventFlags::GitHub {
                event: "issues",
                delivery_id: None
            }
        );
        assert_eq!(
            event_headers(&flags, T, &mut counter()).unwrap(),
            [
                ("x-github-event", "issues".to_owned()),
                ("x-github-delivery", "id-1".to_owned()),
            ]
        );
        let args = parse(&with_key(&[
            "github",
            "p.json",
            "--event",
            "pull_request",
            "--delivery-id",
            "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        ]))
        .unwrap();
        let headers = event_headers(&args.check().unwrap(), T, &mut counter()).unwrap();
        assert_eq!(
            headers[1],
            (
                "x-github-delivery",
                "72d3162e-cc78-11e3-81ab-4c9367dc0958".to_owned()
            )
        );
    }

    #[test]
    fn shopify_sends_its_topic_ids_shop_time_and_version() {
        let args = parse(&with_key(&[
            "shopify",
            "p.json",
            "--topic",
            "customers/create",
        ]))
        .unwrap();
        assert_eq!(
            event_headers(&args.check().unwrap(), T, &mut counter()).unwrap(),
            [
                ("x-shopify-topic", "customers/create".to_owned()),
                ("x-shopify-event-id", "id-1".to_owned()),
                ("x-shopify-webhook-id", "id-2".to_owned()),
                ("x-shopify-shop-domain", "example.myshopify.com".to_owned()),
                ("x-shopify-triggered-at", "2025-11-21T04:40:00Z".to_owned()),
                ("x-shopify-api-version", "2025-10".to_owned()),
            ]
        );
        let args = parse(&with_key(&[
            "shopify",
            "p.json",
            "--topic",
            "orders/create",
            "--delivery-id",
            "98880550-7158-44d4-b7cd-2c97c8a091b5",
            "--shop-domain",
            "acme.myshopify.com",
            "--api-version",
            "unstable",
            "--timestamp",
            "0",
        ]))
        .unwrap();
        let headers = event_headers(&args.check().unwrap(), 0, &mut counter()).unwrap();
        let value = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(
            value("x-shopify-event-id"),
            Some("98880550-7158-44d4-b7cd-2c97c8a091b5")
        );
        assert_eq!(value("x-shopify-webhook-id"), Some("id-1"));
        assert_eq!(value("x-shopify-shop-domain"), Some("acme.myshopify.com"));
        assert_eq!(value("x-shopify-api-version"), Some("unstable"));
        assert_eq!(
            value("x-shopify-triggered-at"),
            Some("1970-01-01T00:00:00Z")
        );
    }

    #[test]
    fn the_other_providers_send_no_more_than_their_signature() {
        for provider in ["stripe", "slack", "standard", "svix"] {
            let args = parse(&with_key(&[provider, "p.json", "--timestamp", "1"])).unwrap();
            assert_eq!(args.check().unwrap(), EventFlags::None, "{provider}");
            assert!(
                event_headers(&EventFlags::None, T, &mut counter())
                    .unwrap()
                    .is_empty()
            );
        }
        let args = parse(&with_key(&["svix", "p.json", "--id", "msg_1"])).unwrap();
        assert_eq!(args.check().unwrap(), EventFlags::None);
    }

    #[test]
    fn fresh_ids_are_uuids_and_differ() {
        let (a, b) = (fresh_uuid(), fresh_uuid());
        assert_ne!(a, b);
        for id in [a, b] {
            assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
            assert_eq!(id.len(), 36, "{id}");
        }
    }

    #[test]
    fn github_without_event_is_refused_naming_the_flag_and_the_header() {
        let (kind, text) = refused(&with_key(&["github", "p.json"]));
        assert_eq!(kind, ErrorKind::MissingRequiredArgument);
        assert!(text.contains("github needs --event <NAME>"), "{text}");
        assert!(text.contains("x-github-event"), "{text}");
        assert!(text.contains("pull_request"), "{text}");
        // Also from `run`, should it be reached without `main`'s check.
        let args = SignArgs {
            event: None,
            ..parse(&with_key(&["github", "p.json", "--event", "push"])).unwrap()
        };
        let error = run(&args).unwrap_err();
        assert!(error.to_string().contains("--event"), "{error}");
    }

    #[test]
    fn shopify_without_topic_is_refused_naming_the_flag_and_the_header() {
        let (kind, text) = refused(&with_key(&["shopify", "p.json"]));
        assert_eq!(kind, ErrorKind::MissingRequiredArgument);
        assert!(text.contains("shopify needs --topic <TOPIC>"), "{text}");
        assert!(text.contains("x-shopify-topic"), "{text}");
    }

    #[test]
    fn a_flag_the_provider_does_not_use_is_refused() {
        let cases: &[(&[&str], &str)] = &[
            (&["stripe", "p.json", "--event", "push"], "--event"),
            (
                &["shopify", "p.json", "--event", "push", "--topic", "a/b"],
                "--event",
            ),
            (
                &["github", "p.json", "--event", "push", "--topic", "a/b"],
                "--topic",
            ),
            (&["slack", "p.json", "--topic", "orders/create"], "--topic"),
            (
                &[
                    "github",
                    "p.json",
                    "--event",
                    "push",
                    "--shop-domain",
                    "a.b",
                ],
                "--shop-domain",
            ),
            (
                &["standard", "p.json", "--api-version", "2025-10"],
                "--api-version",
            ),
            (
                &["standard", "p.json", "--delivery-id", "d-1"],
                "--delivery-id",
            ),
            (
                &["stripe", "p.json", "--delivery-id", "d-1"],
                "--delivery-id",
            ),
            (
                &["github", "p.json", "--event", "push", "--id", "m"],
                "--id",
            ),
            (
                &["shopify", "p.json", "--topic", "a/b", "--id", "m"],
                "--id",
            ),
            (&["slack", "p.json", "--id", "m"], "--id"),
            (
                &["github", "p.json", "--event", "push", "--timestamp", "1"],
                "--timestamp",
            ),
        ];
        for (args, flag) in cases {
            let (kind, text) = refused(&with_key(args));
            assert_eq!(kind, ErrorKind::ArgumentConflict, "{args:?}: {text}");
            let provider = args[0];
            assert!(
                text.contains(&format!("{flag} does not apply to {provider}")),
                "{args:?}: {text}"
            );
        }
        // The message says where the flag belongs.
        let (_, text) = refused(&with_key(&[
            "github", "p.json", "--event", "push", "--id", "m",
        ]));
        assert!(text.contains("--delivery-id"), "{text}");
        let (_, text) = refused(&with_key(&["standard", "p.json", "--delivery-id", "d"]));
        assert!(text.contains("take --id"), "{text}");
    }

    #[test]
    fn a_wrong_provider_flag_is_reported_before_a_missing_one() {
        let (kind, text) = refused(&with_key(&["github", "p.json", "--topic", "a/b"]));
        assert_eq!(kind, ErrorKind::ArgumentConflict, "{text}");
        assert!(text.contains("--topic does not apply to github"), "{text}");
    }

    #[test]
    fn an_event_name_that_is_not_githubs_is_refused() {
        for bad in ["", "Issues", "pull request", "push\n"] {
            let (kind, text) = refused(&with_key(&["github", "p.json", "--event", bad]));
            assert_eq!(kind, ErrorKind::ValueValidation, "{bad:?}: {text}");
            assert!(text.contains("lowercase words joined by _"), "{text}");
        }
        let (_, text) = refused(&with_key(&[
            "github",
            "p.json",
            "--event",
            "pull_request.opened",
        ]));
        assert!(text.contains("pass --event pull_request"), "{text}");
    }

    #[test]
    fn a_topic_that_is_not_shopifys_header_form_is_refused() {
        for bad in ["", "ORDERS_CREATE", "orders create", "orders/créer"] {
            let (kind, text) = refused(&with_key(&["shopify", "p.json", "--topic", bad]));
            assert_eq!(kind, ErrorKind::ValueValidation, "{bad:?}: {text}");
            assert!(text.contains("orders/create"), "{text}");
        }
        assert_eq!(
            shopify_topic("customer.tags_added").as_deref(),
            Ok("customer.tags_added")
        );
    }

    #[test]
    fn a_delivery_id_that_is_no_header_value_is_refused() {
        for bad in ["", "a b", "a\nb", "ü"] {
            let (kind, text) = refused(&with_key(&[
                "github",
                "p.json",
                "--event",
                "push",
                "--delivery-id",
                bad,
            ]));
            assert_eq!(kind, ErrorKind::ValueValidation, "{bad:?}: {text}");
            assert!(text.contains("printable ASCII"), "{text}");
        }
    }

    #[test]
    fn a_shop_domain_that_is_not_a_host_name_is_refused() {
        for bad in [
            "",
            "https://acme.myshopify.com",
            "acme.myshopify.com/admin",
            "-acme.myshopify.com",
            "acme.myshopify.com.",
            "acme shop",
        ] {
            // `=`: clap would take `-acme…` for a flag otherwise.
            let flag = format!("--shop-domain={bad}");
            let (kind, text) = refused(&with_key(&["shopify", "p.json", "--topic", "a/b", &flag]));
            assert_eq!(kind, ErrorKind::ValueValidation, "{bad:?}: {text}");
            assert!(text.contains("without https://"), "{text}");
        }
    }

    #[test]
    fn an_api_version_shopify_does_not_release_is_refused() {
        for bad in ["", "2025-11", "25-10", "2025", "latest", "2025-10-01"] {
            let (kind, text) = refused(&with_key(&[
                "shopify",
                "p.json",
                "--topic",
                "a/b",
                "--api-version",
                bad,
            ]));
            assert_eq!(kind, ErrorKind::ValueValidation, "{bad:?}: {text}");
            assert!(text.contains("YYYY-01"), "{text}");
        }
        assert!(api_version("2026-01").is_ok());
    }

    #[test]
    fn a_shopify_timestamp_beyond_a_date_is_refused() {
        let huge = i64::MAX.to_string();
        let (kind, text) = refused(&with_key(&[
            "shopify",
            "p.json",
            "--topic",
            "a/b",
            "--timestamp",
            &huge,
        ]));
        assert_eq!(kind, ErrorKind::ValueValidation, "{text}");
        assert!(
            text.contains("out of range for x-shopify-triggered-at"),
            "{text}"
        );
        let flags = EventFlags::Shopify {
            topic: "a/b",
            event_id: None,
            shop_domain: DEFAULT_SHOP_DOMAIN,
            api_version: DEFAULT_API_VERSION,
        };
        assert_eq!(
            event_headers(&flags, -1 << 40, &mut counter()),
            Err(UsageError::TimestampOutOfRange(-1 << 40))
        );
        // Stripe's signed time is a number, not a date: any i64 will do.
        assert!(parse(&with_key(&["stripe", "p.json", "--timestamp", &huge])).is_ok());
    }

    #[test]
    fn help_documents_every_flag() {
        use clap::CommandFactory;
        let mut command = crate::Cli::command();
        command.build();
        let sign = command.find_subcommand_mut("sign").unwrap();
        let help = sign.render_long_help().to_string();
        for flag in [
            "--secret ",
            "--secret-env",
            "--timestamp",
            "--id ",
            "--event",
            "--topic",
            "--delivery-id",
            "--shop-domain",
            "--api-version",
            "--url",
        ] {
            assert!(help.contains(flag), "{flag} missing from:\n{help}");
        }
        for text in [
            "x-github-event",
            "x-shopify-topic",
            "example.myshopify.com",
            "2025-10",
        ] {
            assert!(help.contains(text), "{text} missing from:\n{help}");
        }
        for arg in sign.get_arguments() {
            assert!(arg.get_help().is_some(), "{} undocumented", arg.get_id());
        }
    }
}
