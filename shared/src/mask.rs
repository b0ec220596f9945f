//! Masking values for logs: what a deliverer may show of a personal value when it logs what it
//! mapped or sent.
//!
//! A deliverer's logs are most useful to an operator debugging a mapping when they show what
//! the mapping computed: the text of a Slack message, the properties of a HubSpot contact. But
//! those values are the customer's — e-mails, names, phone numbers — and CloudWatch logs are
//! kept for weeks or forever, read by everyone with access to the account (and by whoever the
//! logs are shipped to), and copied into tickets; none of those readers is covered by the
//! customer's consent. So the kit logs no payload value by itself (see [`crate::redact`] for
//! error messages), and a deliverer that logs mapped values logs them through a mask.
//!
//! The model is [AWS Lambda Powertools' data
//! masking](https://docs.powertools.aws.dev/lambda/python/latest/utilities/data_masking/):
//! `erase` replaces a value with `*****`, and custom masks keep what an operator needs to tell
//! records apart. Which fields are personal is the integrator's knowledge, not the kit's: the
//! mapping file names a [`Mask`] per field (`mask = true`, `"email"`, `{ keep_last = 4 }`; see
//! [`crate::mapping`]), and [`Mapped::for_log`](crate::mapping::Mapped::for_log) applies them.
//!
//! | mask | in the mapping file | `"jane.doe@example.com"` | `"+44 20 7946 0958"` | `42`, `true` |
//! |---|---|---|---|---|
//! | [`Mask::Erase`] | `mask = true` or `mask = "erase"` | `"*****"` | `"*****"` | `"*****"` |
//! | [`Mask::Email`] | `mask = "email"` | `"*****@example.com"` | `"*****"` | `"*****"` |
//! | [`Mask::KeepLast`] | `mask = { keep_last = 4 }` | `"*****.com"` | `"*****0958"` | `"*****"` |
//!
//! Rules common to every mask, chosen so that a mask never shows more than it says:
//!
//! * The mask is [`MASK`] (`*****`), always five characters: the length of the value is not
//!   shown (Powertools' `erase` does the same; its `dynamic_mask`, which keeps the length, is
//!   left out on purpose).
//! * Numbers and booleans become `"*****"` whatever the mask: there is no domain or tail to
//!   keep in them that is not the value. `null` stays `null`: it says only that nothing is
//!   there.
//! * Arrays keep their length and objects their keys, each element or member masked with the
//!   same mask, so the shape of a value (Slack's `blocks`) stays readable. Keys come from the
//!   mapping file or from the event's schema, rarely from a person; but an object with a key
//!   that is not [identifier-shaped](crate::redact::is_identifier) (an e-mail as a key) is
//!   erased whole.
//! * [`Mask::Email`] keeps the domain only of text shaped like one address (no spaces, a
//!   non-empty local part, a DNS-shaped domain): anything else, such as a sentence that
//!   contains an address, is erased whole. A domain can itself be personal (`jane-doe.name`):
//!   use `erase` for such fields.
//! * [`Mask::KeepLast`] keeps the last *n* characters only when they are at most half of the
//!   text; shorter text is erased whole. It is meant for numbers (a phone's last digits, to
//!   tell records apart): on a name it would show the end of the surname.
//!
//! Masking is for *logs*: it is not encryption, and it is not applied to what is sent to the
//! destination. It applies only where a deliverer logs through it: a field left unmarked in the
//! mapping is shown as it is, so a template that interpolates a personal value (a Slack `text`
//! with the customer's e-mail) must be marked too.
//!
//! No crate is used: the well-kept ones mask Rust types at compile time (`veil` derives a
//! redacting `Debug` for a struct; `secrecy` wraps a value so that it is never printed), while
//! here the fields are named at run time by a mapping file, over `serde_json` values, and each
//! mask is a few lines. This module is a leaf: it uses only [`crate::redact`]'s identifier
//! check.

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};

use crate::redact::is_identifier;

/// What every mask writes in place of what it hides (Powertools' `DATA_MASKING_STRING`).
pub const MASK: &str = "*****";

/// The largest `n` of [`Mask::KeepLast`] the mapping file accepts: enough for the last four
/// digits of a phone or card number, or a short suffix, and no more.
pub const MAX_KEEP_LAST: usize = 8;

/// How a value is shown in logs. See the module documentation for the rules.
///
/// ```
/// use serde_json::json;
/// use switchyard::mask::Mask;
///
/// assert_eq!(Mask::Erase.apply(&json!("Ada King Lovelace")), json!("*****"));
/// assert_eq!(Mask::Email.apply(&json!("ada@example.com")), json!("*****@example.com"));
/// assert_eq!(Mask::KeepLast(4).apply(&json!("+44 20 7946 0958")), json!("*****0958"));
/// assert_eq!(
///     Mask::Erase.apply(&json!([{ "type": "section", "text": "Hi Ada" }])),
///     json!([{ "type": "*****", "text": "*****" }])
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mask {
    /// Everything becomes [`MASK`] (`mask = true` or `"erase"`): names, free text, templates
    /// that interpolate personal values.
    #[default]
    Erase,
    /// An e-mail address keeps its domain: `*****@example.com` (`mask = "email"`). Text that
    /// is not one address is erased.
    Email,
    /// The last `n` characters are kept after the mask: `*****0958` (`mask = { keep_last = 4
    /// }`), when they are at most half of the text; else it is erased. `KeepLast(0)` erases.
    KeepLast(usize),
}

/// A mask name or argument that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MaskError {
    /// No mask has this name.
    #[error("unknown mask `{0}`")]
    Unknown(String),
    /// `keep_last` outside 1 to [`MAX_KEEP_LAST`].
    #[error("`keep_last` must be a whole number from 1 to {MAX_KEEP_LAST}, found {0}")]
    KeepLast(i64),
}

impl Mask {
    /// [`Mask::KeepLast`] with `n` checked: from 1 to [`MAX_KEEP_LAST`].
    ///
    /// # Errors
    /// [`MaskError::KeepLast`] for any other `n`.
    pub fn keep_last(n: i64) -> Result<Self, MaskError> {
        match usize::try_from(n) {
            Ok(n @ 1..=MAX_KEEP_LAST) => Ok(Mask::KeepLast(n)),
            _ => Err(MaskError::KeepLast(n)),
        }
    }

    /// `value` as it may be logged: text masked, numbers and booleans erased, `null` kept,
    /// arrays and objects masked element by element (an object with a key that is not
    /// identifier-shaped is erased whole).
    pub fn apply(&self, value: &Value) -> Value {
        match value {
            Value::Null => Value::Null,
            Value::String(text) => Value::String(self.apply_str(text)),
            Value::Bool(_) | Value::Number(_) => Value::String(MASK.to_owned()),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.apply(v)).collect()),
            Value::Object(members) => {
                if members.keys().all(|key| is_identifier(key)) {
                    Value::Object(
                        members
                            .iter()
                            .map(|(key, v)| (key.clone(), self.apply(v)))
                            .collect::<Map<_, _>>(),
                    )
                } else {
                    Value::String(MASK.to_owned())
                }
            }
        }
    }

    /// `text` as it may be logged.
    pub fn apply_str(&self, text: &str) -> String {
        match *self {
            Mask::Erase => MASK.to_owned(),
            Mask::Email => match email_domain(text) {
                Some(domain) => format!("{MASK}@{domain}"),
                None => MASK.to_owned(),
            },
            Mask::KeepLast(n) => {
                let chars = text.chars().count();
                if n == 0 || chars < n.saturating_mul(2) {
                    MASK.to_owned()
                } else {
                    let tail: String = text.chars().skip(chars - n).collect();
                    format!("{MASK}{tail}")
                }
            }
        }
    }
}

/// The domain of `text` when it is one e-mail address: a non-empty local part without spaces,
/// `@`, and a domain of DNS labels (`A-Za-z0-9-`, dot-separated, at most 253 characters).
fn email_domain(text: &str) -> Option<&str> {
    let (local, domain) = text.rsplit_once('@')?;
    let local_ok = !local.is_empty() && !local.chars().any(char::is_whitespace);
    let domain_ok = !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    (local_ok && domain_ok).then_some(domain)
}

impl FromStr for Mask {
    type Err = MaskError;

    /// `erase` or `email`, as the mapping file names them (`keep_last` takes a number: see
    /// [`Mask::keep_last`]).
    fn from_str(name: &str) -> Result<Self, MaskError> {
        match name {
            "erase" => Ok(Mask::Erase),
            "email" => Ok(Mask::Email),
            other => Err(MaskError::Unknown(other.to_owned())),
        }
    }
}

impl fmt::Display for Mask {
    /// As the mapping file writes it: `erase`, `email`, `keep_last = 4`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mask::Erase => f.write_str("erase"),
            Mask::Email => f.write_str("email"),
            Mask::KeepLast(n) => write!(f, "keep_last = {n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn erase_hides_every_value_and_keeps_the_shape() {
        for value in [json!("Ada"), json!(""), json!(42), json!(-1.5), json!(true)] {
            assert_eq!(Mask::Erase.apply(&value), json!(MASK), "{value}");
        }
        assert_eq!(Mask::Erase.apply(&Value::Null), Value::Null);
        assert_eq!(
            Mask::Erase.apply(&json!([
                {"type": "section", "text": {"type": "mrkdwn", "text": "*Customer* ada@example.com"}},
                {"type": "divider"},
                ["x", 1, null]
            ])),
            json!([
                {"type": MASK, "text": {"type": MASK, "text": MASK}},
                {"type": MASK},
                [MASK, MASK, null]
            ])
        );
    }

    #[test]
    fn an_object_with_a_key_that_is_not_an_identifier_is_erased_whole() {
        let keyed_by_email = json!({"ada@example.com": {"plan": "pro"}, "count": 1});
        assert_eq!(Mask::Erase.apply(&keyed_by_email), json!(MASK));
        assert_eq!(Mask::Email.apply(&keyed_by_email), json!(MASK));
        assert_eq!(
            Mask::Email.apply(&json!({"to": "ada@example.com", "cc": ["bob@example.org"]})),
            json!({"to": "*****@example.com", "cc": ["*****@example.org"]})
        );
    }

    #[test]
    fn email_keeps_the_domain_of_one_address_only() {
        let cases = [
            ("ada.lovelace@example.com", "*****@example.com"),
            ("ADA+billing@Mail.Example.co.uk", "*****@Mail.Example.co.uk"),
            ("\"odd@local\"@example.com", "*****@example.com"),
            // Not one address: erased whole.
            ("grace.hopper(at)example.com", MASK),
            ("Payment failed for ada@example.com", MASK),
            ("ada@example.com: 49.00 USD", MASK),
            ("@example.com", MASK),
            ("ada@", MASK),
            ("ada@exa_mple.com", MASK),
            ("ada@example..com", MASK),
            ("ada@例え.jp", MASK),
            ("", MASK),
        ];
        for (text, masked) in cases {
            assert_eq!(Mask::Email.apply_str(text), masked, "{text}");
        }
        assert_eq!(Mask::Email.apply(&json!(5550100)), json!(MASK));
    }

    #[test]
    fn keep_last_shows_at_most_half_of_the_text() {
        let four = Mask::KeepLast(4);
        assert_eq!(four.apply_str("+44 20 7946 0958"), "*****0958");
        assert_eq!(four.apply_str("4242424242424242"), "*****4242");
        assert_eq!(four.apply_str("12345678"), "*****5678");
        assert_eq!(four.apply_str("1234567"), MASK);
        assert_eq!(four.apply_str("0958"), MASK);
        assert_eq!(four.apply_str(""), MASK);
        // Characters, not bytes.
        assert_eq!(Mask::KeepLast(2).apply_str("Zoë Åsa"), "*****sa");
        assert_eq!(Mask::KeepLast(3).apply_str("ÅÅÅÅÅÅ"), "*****ÅÅÅ");
        assert_eq!(Mask::KeepLast(0).apply_str("anything"), MASK);
        assert_eq!(Mask::KeepLast(usize::MAX).apply_str("anything"), MASK);
        assert_eq!(four.apply(&json!(4_242_424_242_424_242_u64)), json!(MASK));
    }

    #[test]
    fn no_mask_shows_more_than_it_says() {
        let values = [
            "Ada King Lovelace",
            "ada.lovelace@example.com",
            "+44 20 7946 0958",
            "Payment failed: 49.00 USD for ada.lovelace@example.com (invoice DEMO-0001)",
        ];
        for value in values {
            // Erase and Email show nothing of a name, a number or a sentence; Email shows the
            // domain of an address and nothing of its local part.
            for mask in [Mask::Erase, Mask::Email] {
                let masked = mask
                    .apply(&json!({"v": value, "list": [value]}))
                    .to_string();
                for part in ["ada", "Ada", "Lovelace", "7946", "0958", "49.00"] {
                    assert!(!masked.contains(part), "{mask}: {part} in {masked}");
                }
            }
            // KeepLast shows the mask and at most its last n characters.
            for n in 1..=MAX_KEEP_LAST {
                let masked = Mask::KeepLast(n).apply_str(value);
                let shown = masked.strip_prefix(MASK).unwrap();
                assert!(shown.chars().count() <= n, "{n}: {masked}");
                assert!(value.ends_with(shown), "{n}: {masked}");
            }
        }
    }

    #[test]
    fn masks_are_named_as_in_the_mapping_file() {
        assert_eq!("erase".parse::<Mask>(), Ok(Mask::Erase));
        assert_eq!("email".parse::<Mask>(), Ok(Mask::Email));
        let e = "bogus".parse::<Mask>().unwrap_err();
        assert_eq!(e.to_string(), "unknown mask `bogus`");
        assert_eq!(Mask::keep_last(4), Ok(Mask::KeepLast(4)));
        assert_eq!(Mask::keep_last(8), Ok(Mask::KeepLast(8)));
        for n in [0, 9, -1, i64::MAX] {
            assert_eq!(Mask::keep_last(n), Err(MaskError::KeepLast(n)));
        }
        assert_eq!(
            Mask::keep_last(0).unwrap_err().to_string(),
            "`keep_last` must be a whole number from 1 to 8, found 0"
        );
        for mask in [Mask::Erase, Mask::Email, Mask::KeepLast(4)] {
            let text = mask.to_string();
            assert!(
                text.parse::<Mask>() == Ok(mask) || text == "keep_last = 4",
                "{text}"
            );
        }
        assert_eq!(Mask::default(), Mask::Erase);
    }
}
