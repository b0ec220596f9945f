//! Property-based fuzz tests of the kit's parsers: everything that reads bytes or text from
//! outside (webhook headers and bodies, queue messages, SaaS answers, events through a mapping)
//! must answer with a value or an error, never a panic, and what the kit writes it must read
//! back.
//!
//! Bounded and deterministic in `make test`: 256 cases per property from a fixed seed, no failure
//! files. `make fuzz` runs the same properties with `FUZZ_CASES=100000`; `FUZZ_SEED=<u64>`
//! explores other inputs. A failure prints the shrunk input: add it as a plain regression test
//! next to the code it broke, then fix the code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, RngSeed};

/// The seed `make test` uses: the same inputs on every run and every machine.
const DEFAULT_SEED: u64 = 0x5717_c4ad_f022_2026;

/// Cases per property: `FUZZ_CASES`, else 256. Seed: `FUZZ_SEED`, else [`DEFAULT_SEED`]. No
/// failure persistence: a failing case is printed, shrunk, and belongs in a regression test.
fn config() -> ProptestConfig {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.trim().parse().ok());
    ProptestConfig {
        cases: env("FUZZ_CASES").map_or(256, |c: u64| u32::try_from(c).unwrap_or(u32::MAX)),
        rng_seed: RngSeed::Fixed(env("FUZZ_SEED").unwrap_or(DEFAULT_SEED)),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Text that is mostly ASCII with some of everything else: header values, ids, codes.
fn text(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::collection::vec(proptest::char::range(' ', '~'), 0..=max)
            .prop_map(|c| c.into_iter().collect()),
        1 => proptest::collection::vec(any::<char>(), 0..=max).prop_map(|c| c.into_iter().collect()),
    ]
}

/// Arbitrary bytes, up to `max`.
fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..=max)
}

/// Webhook signature schemes: arbitrary header values and bodies never panic; what `sign` /
/// `signed_headers` produce verifies; a flipped body byte or another secret does not.
mod webhook_signatures {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use switchyard::webhook::{
        FixedClock, Scheme, SecretSet, Verified, Verifier, VerifyError, WebhookSecret, github,
        shopify, slack, standard, stripe,
    };

    const SCHEMES: [Scheme; 5] = [
        Scheme::Stripe,
        Scheme::GitHub,
        Scheme::Slack,
        Scheme::Shopify,
        Scheme::StandardWebhooks,
    ];

    /// Every header name any scheme reads, in the spellings a request may use.
    const HEADER_NAMES: [&str; 12] = [
        "Stripe-Signature",
        "X-Hub-Signature-256",
        "x-slack-signature",
        "X-Slack-Request-Timestamp",
        "X-Shopify-Hmac-Sha256",
        "Shopify-Hmac-Sha256",
        "webhook-id",
        "Webhook-Timestamp",
        "webhook-signature",
        "svix-id",
        "svix-timestamp",
        "Svix-Signature",
    ];

    /// A header value close enough to a real one to get past the first checks: pieces of the
    /// schemes' syntax (`t=`, `v1=`, `sha256=`, `v0=`, `v1,`), digits, hex and base64, glued
    /// with separators.
    fn header_value() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            Just("t=".to_owned()),
            Just("v1=".to_owned()),
            Just("v0=".to_owned()),
            Just("sha256=".to_owned()),
            Just("v1,".to_owned()),
            Just("v1a,".to_owned()),
            Just(",".to_owned()),
            Just(" ".to_owned()),
            Just("=".to_owned()),
            "[0-9]{0,25}",
            "-?[0-9]{1,20}",
            "[0-9a-f]{0,70}",
            "[A-Za-z0-9+/]{0,50}={0,2}",
            text(12),
        ];
        prop_oneof![
            4 => proptest::collection::vec(piece, 0..8).prop_map(|p| p.concat().into_bytes()),
            1 => bytes(80),
        ]
    }

    fn headers() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
        proptest::collection::vec(
            (
                prop_oneof![
                    4 => proptest::sample::select(&HEADER_NAMES[..]).prop_map(str::to_owned),
                    1 => text(20),
                ],
                header_value(),
            ),
            0..8,
        )
    }

    /// Secrets as operators paste them: Stripe's `whsec_…`, Standard Webhooks' base64, or junk
    /// (an empty secret, bytes that are not base64).
    fn secret_text() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            "whsec_[A-Za-z0-9]{0,40}".prop_map(String::into_bytes),
            bytes(48).prop_map(|k| format!("whsec_{}", STANDARD.encode(k)).into_bytes()),
            bytes(40),
        ]
    }

    fn secret_set() -> impl Strategy<Value = SecretSet> {
        proptest::collection::vec(secret_text(), 0..3).prop_map(|secrets| {
            let mut set = SecretSet::default();
            for s in secrets {
                set.push(WebhookSecret::from_bytes(s));
            }
            set
        })
    }

    /// A Standard Webhooks secret (`whsec_` + base64 of a non-empty key), and its key, which
    /// also serves every other scheme: the round-trip tests need one secret valid everywhere.
    fn valid_secret() -> impl Strategy<Value = (String, Vec<u8>)> {
        proptest::collection::vec(any::<u8>(), 1..48)
            .prop_map(|key| (format!("whsec_{}", STANDARD.encode(&key)), key))
    }

    /// Two secrets whose keys differ (for "another secret is refused").
    fn two_secrets() -> impl Strategy<Value = (String, String)> {
        (valid_secret(), valid_secret())
            .prop_filter("distinct keys", |((_, a), (_, b))| a != b)
            .prop_map(|((a, _), (b, _))| (a, b))
    }

    /// The signed headers of `body` under `secret` at `now` for `scheme`; Standard Webhooks in
    /// either spelling with message id `msg_id`.
    fn signed(
        scheme: Scheme,
        body: &[u8],
        secret: &WebhookSecret,
        now: i64,
        msg_id: &str,
        svix: bool,
    ) -> Vec<(&'static str, String)> {
        match scheme {
            Scheme::Stripe => stripe::signed_headers(body, secret, now),
            Scheme::GitHub => github::signed_headers(body, secret),
            Scheme::Slack => slack::signed_headers(body, secret, now),
            Scheme::Shopify => shopify::signed_headers(body, secret),
            Scheme::StandardWebhooks => {
                let spelling = if svix {
                    standard::Spelling::Svix
                } else {
                    standard::Spelling::Standard
                };
                standard::signed_headers(body, secret, msg_id, now, spelling)
                    .expect("a valid Standard Webhooks secret signs")
            }
        }
    }

    fn verifier(scheme: Scheme, secrets: SecretSet, now: i64) -> Verifier {
        Verifier::new(scheme, secrets).with_clock(std::sync::Arc::new(FixedClock(now)))
    }

    proptest! {
        #![proptest_config(config())]

        /// Every scheme, through the `Verifier` a receiver uses: arbitrary headers, body, secrets
        /// and clock give `Ok` or `Err`, never a panic; a configuration fault only when a secret
        /// is missing or unusable.
        #[test]
        fn verifiers_never_panic(
            headers in headers(),
            body in bytes(256),
            secrets in secret_set(),
            now in any::<i64>(),
            tolerance in any::<u64>(),
        ) {
            let empty = secrets.is_empty();
            for scheme in SCHEMES {
                let v = verifier(scheme, secrets.clone(), now)
                    .with_tolerance(std::time::Duration::from_secs(tolerance));
                if let Err(e) = v.verify(&body, &headers) {
                    let _ = e.to_string();
                    if e == VerifyError::NoSecret {
                        prop_assert!(empty, "{scheme}: NoSecret with secrets");
                    }
                }
            }
        }

        /// The per-scheme `verify` functions (what the receivers call directly), with header
        /// values that are only sometimes UTF-8.
        #[test]
        fn scheme_functions_never_panic(
            headers in headers(),
            body in bytes(256),
            secrets in secret_set(),
            now in any::<i64>(),
        ) {
            let clock = FixedClock(now);
            let _ = stripe::verify(&body, &headers, &secrets, &clock);
            let _ = github::verify(&body, &headers, &secrets);
            let _ = slack::verify(&body, &headers, &secrets, &clock);
            let _ = shopify::verify(&body, &headers, &secrets);
            let _ = standard::verify(&body, &headers, &secrets, &clock);
        }

        /// `Stripe-Signature` parsing: any text parses or is refused; a parsed header's `t` is
        /// the digits it was read from.
        #[test]
        fn stripe_header_parser_never_panics(value in header_value()) {
            let value = String::from_utf8_lossy(&value);
            if let Ok(parsed) = stripe::parse_header(&value) {
                prop_assert!(parsed.timestamp_text.bytes().all(|b| b.is_ascii_digit()));
                prop_assert_eq!(parsed.timestamp_text.parse::<i64>(), Ok(parsed.timestamp));
                prop_assert!(parsed.v1.iter().all(|v| value.contains(v)));
            }
        }

        /// Sign → verify: what the kit signs, it accepts, with the right secret index and
        /// timestamp; the timestamp checks use the signing time as now.
        #[test]
        fn signed_requests_verify(
            (secret, _) in valid_secret(),
            body in bytes(512),
            now in 0..=i64::MAX,
            msg_id in "[A-Za-z0-9_.:-]{1,40}",
            svix in any::<bool>(),
        ) {
            let key = WebhookSecret::new(secret.clone());
            for scheme in SCHEMES {
                let headers = signed(scheme, &body, &key, now, &msg_id, svix);
                let verified = verifier(scheme, SecretSet::new(secret.as_str()), now)
                    .verify(&body, &headers);
                let timestamp = scheme.default_tolerance().map(|_| now);
                prop_assert_eq!(
                    verified,
                    Ok(Verified { secret_index: 0, timestamp }),
                    "{}", scheme
                );
            }
        }

        /// A rotation: signed with the previous secret, accepted as index 1.
        #[test]
        fn the_previous_secret_verifies_as_index_one(
            (current, previous) in two_secrets(),
            body in bytes(128),
            now in 0..=i64::MAX,
        ) {
            let key = WebhookSecret::new(previous.clone());
            let set = SecretSet::new(current.as_str()).with_previous(previous.as_str());
            for scheme in SCHEMES {
                let headers = signed(scheme, &body, &key, now, "msg_1", false);
                let verified = verifier(scheme, set.clone(), now).verify(&body, &headers);
                prop_assert_eq!(verified.map(|v| v.secret_index), Ok(1), "{}", scheme);
            }
        }

        /// Tampering: one flipped bit anywhere in the body is refused.
        #[test]
        fn a_flipped_body_bit_is_refused(
            (secret, _) in valid_secret(),
            body in proptest::collection::vec(any::<u8>(), 1..512),
            index in any::<prop::sample::Index>(),
            bit in 0..8u8,
            now in 0..=i64::MAX,
        ) {
            let key = WebhookSecret::new(secret.clone());
            let mut tampered = body.clone();
            tampered[index.index(body.len())] ^= 1 << bit;
            for scheme in SCHEMES {
                let headers = signed(scheme, &body, &key, now, "msg_1", false);
                let verified = verifier(scheme, SecretSet::new(secret.as_str()), now)
                    .verify(&tampered, &headers);
                prop_assert_eq!(verified, Err(VerifyError::NoMatchingSignature), "{}", scheme);
            }
        }

        /// Another secret (one whose key differs) is refused.
        #[test]
        fn another_secret_is_refused(
            (signer, verifier_secret) in two_secrets(),
            body in bytes(256),
            now in 0..=i64::MAX,
        ) {
            let key = WebhookSecret::new(signer);
            for scheme in SCHEMES {
                let headers = signed(scheme, &body, &key, now, "msg_1", false);
                let verified = verifier(scheme, SecretSet::new(verifier_secret.as_str()), now)
                    .verify(&body, &headers);
                prop_assert_eq!(verified, Err(VerifyError::NoMatchingSignature), "{}", scheme);
            }
        }

        /// Freshness: a signed request is accepted exactly while `now` is within the scheme's
        /// bound of the signing time (Stripe: only the age; Slack and Standard Webhooks: both
        /// ways; GitHub and Shopify: no timestamp), whatever the distance, without overflow.
        #[test]
        fn freshness_follows_the_scheme(
            (secret, _) in valid_secret(),
            signed_at in 0..=i64::MAX,
            now in any::<i64>(),
            tolerance in 0..=1_000_000u64,
        ) {
            let key = WebhookSecret::new(secret.clone());
            let age = i128::from(now) - i128::from(signed_at);
            for scheme in SCHEMES {
                let headers = signed(scheme, b"{}", &key, signed_at, "msg_1", false);
                let verified = verifier(scheme, SecretSet::new(secret.as_str()), now)
                    .with_tolerance(std::time::Duration::from_secs(tolerance))
                    .verify(b"{}", &headers);
                let tol = i128::from(tolerance);
                let fresh = match scheme {
                    Scheme::GitHub | Scheme::Shopify => true,
                    Scheme::Stripe => age <= tol,
                    Scheme::Slack | Scheme::StandardWebhooks => age.abs() <= tol,
                };
                prop_assert_eq!(verified.is_ok(), fresh, "{} age {}: {:?}", scheme, age, verified);
            }
        }

        /// Header names are matched whatever their case; values are trimmed.
        #[test]
        fn header_case_and_surrounding_whitespace_do_not_matter(
            (secret, _) in valid_secret(),
            body in bytes(64),
            now in 0..=i64::MAX,
            upper in proptest::collection::vec(any::<bool>(), 32),
            pad in "[ \t]{0,3}",
        ) {
            let key = WebhookSecret::new(secret.clone());
            for scheme in SCHEMES {
                let headers: Vec<(String, String)> = signed(scheme, &body, &key, now, "msg_1", false)
                    .into_iter()
                    .map(|(name, value)| {
                        let name = name
                            .chars()
                            .zip(upper.iter().cycle())
                            .map(|(c, up)| if *up { c.to_ascii_uppercase() } else { c })
                            .collect();
                        (name, format!("{pad}{value}{pad}"))
                    })
                    .collect();
                let verified = verifier(scheme, SecretSet::new(secret.as_str()), now)
                    .verify(&body, &headers);
                prop_assert!(verified.is_ok(), "{}: {:?}", scheme, verified);
            }
        }
    }
}

/// The CloudEvents envelope: arbitrary bytes (and arbitrary JSON objects with the envelope's
/// member names) never panic; what `to_json` writes, `from_json` reads back equal.
mod envelope {
    use super::*;
    use serde_json::Value;
    use switchyard::envelope::CloudEvent;
    use time::{OffsetDateTime, UtcOffset};

    const MEMBERS: [&str; 14] = [
        "specversion",
        "id",
        "source",
        "type",
        "time",
        "datacontenttype",
        "dataschema",
        "subject",
        "data",
        "data_base64",
        "ext",
        "attempt",
        "Bad-Name",
        "",
    ];

    /// A JSON value of any shape, small.
    pub(crate) fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            text(16).prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::vec((text(8), inner), 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// A member's value, often the right type, sometimes a plausible string for it.
    fn member_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            2 => json_value(),
            1 => Just(Value::from("1.0")),
            1 => Just(Value::from("2024-05-06T07:08:09.123456789+02:00")),
            1 => "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,12})?(Z|[+-][0-9]{2}:[0-9]{2})"
                .prop_map(Value::String),
            1 => "[A-Za-z0-9+/]{0,20}={0,3}".prop_map(Value::String),
            1 => any::<i32>().prop_map(Value::from),
        ]
    }

    /// A JSON object with the envelope's member names (and some others), duplicates allowed:
    /// input that gets past the JSON parse into the validation.
    fn envelope_like() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            (
                prop_oneof![
                    4 => proptest::sample::select(&MEMBERS[..]).prop_map(str::to_owned),
                    1 => text(10),
                ],
                member_value(),
            ),
            0..12,
        )
        .prop_map(|members| {
            let body: Vec<String> = members
                .iter()
                .map(|(k, v)| format!("{}:{v}", Value::from(k.as_str())))
                .collect();
            format!("{{{}}}", body.join(","))
        })
    }

    fn non_empty() -> impl Strategy<Value = String> {
        text(24).prop_filter("non-empty", |s| !s.is_empty())
    }

    /// A time RFC 3339 can write: years 0–9999, nanoseconds, whole-minute offsets.
    fn time() -> impl Strategy<Value = OffsetDateTime> {
        // 0000-01-01T00:00:00Z ..= 9999-12-31T23:59:59Z, kept a day inside for the offset.
        (
            -62_167_219_200i64 + 86_400..=253_402_300_799 - 86_400,
            0..1_000_000_000u32,
            -(23 * 60 + 59)..=(23 * 60 + 59i32),
        )
            .prop_map(|(secs, nanos, minutes)| {
                let offset = UtcOffset::from_whole_seconds(minutes * 60).unwrap();
                (OffsetDateTime::from_unix_timestamp(secs).unwrap()
                    + time::Duration::nanoseconds(i64::from(nanos)))
                .to_offset(offset)
            })
    }

    fn extension_name() -> impl Strategy<Value = String> {
        "[a-z0-9]{1,20}".prop_filter("not a context attribute", |n| {
            !matches!(
                n.as_str(),
                "specversion"
                    | "id"
                    | "source"
                    | "type"
                    | "time"
                    | "datacontenttype"
                    | "dataschema"
                    | "subject"
                    | "data"
            )
        })
    }

    fn extension_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            text(16).prop_map(Value::String),
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(Value::from),
        ]
    }

    #[derive(Debug, Clone)]
    enum Payload {
        None,
        Json(String),
        Binary(Vec<u8>, String),
    }

    fn payload() -> impl Strategy<Value = Payload> {
        prop_oneof![
            Just(Payload::None),
            json_value().prop_map(|v| Payload::Json(v.to_string())),
            json_value().prop_map(|v| Payload::Json(serde_json::to_string_pretty(&v).unwrap())),
            (bytes(64), non_empty()).prop_map(|(b, ct)| Payload::Binary(b, ct)),
        ]
    }

    prop_compose! {
        /// A valid event with every optional attribute sometimes set.
        fn event()(
            id in non_empty(),
            source in non_empty(),
            ty in non_empty(),
            payload in payload(),
            time in proptest::option::of(time()),
            subject in proptest::option::of(non_empty()),
            dataschema in proptest::option::of(non_empty()),
            content_type in proptest::option::of(non_empty()),
            extensions in proptest::collection::vec((extension_name(), extension_value()), 0..4),
        ) -> CloudEvent {
            let mut event = match payload {
                // No constructor makes an event without data: read one.
                Payload::None => CloudEvent::from_json(
                    serde_json::json!({"specversion": "1.0", "id": id, "source": source, "type": ty})
                        .to_string(),
                ),
                Payload::Json(text) => CloudEvent::new_json_bytes(&id, &source, &ty, text.as_bytes()),
                Payload::Binary(bytes, ct) => CloudEvent::new_binary(&id, &source, &ty, bytes, ct),
            }
            .unwrap();
            if let Some(t) = time {
                event = event.with_time(t);
            }
            if let Some(s) = subject {
                event = event.with_subject(s).unwrap();
            }
            if let Some(s) = dataschema {
                event = event.with_dataschema(s).unwrap();
            }
            if let Some(ct) = content_type {
                event = event.with_datacontenttype(ct).unwrap();
            }
            for (name, value) in extensions {
                event = event.with_extension(name, value).unwrap();
            }
            event
        }
    }

    /// Everything a deliverer may call on a parsed event.
    fn touch(event: &CloudEvent) {
        let _ = event.data_value();
        let _ = event.data_as::<std::collections::BTreeMap<String, Value>>();
        let _ = event.data_bytes();
        let _ = event.datacontenttype();
        let _ = event.to_json();
    }

    proptest! {
        #![proptest_config(config())]

        /// Arbitrary bytes: parsed or refused, never a panic; errors display.
        #[test]
        fn arbitrary_bytes_never_panic(input in bytes(512)) {
            match CloudEvent::from_json(&input) {
                Ok(event) => touch(&event),
                Err(e) => { let _ = e.to_string(); }
            }
        }

        /// Objects with the envelope's member names and values of every type: validation
        /// answers, never panics; whatever is accepted round-trips.
        #[test]
        fn envelope_shaped_objects_never_panic(input in envelope_like()) {
            match CloudEvent::from_json(&input) {
                Ok(event) => {
                    touch(&event);
                    let text = event.to_json().unwrap();
                    prop_assert_eq!(CloudEvent::from_json(&text).unwrap(), event);
                }
                Err(e) => { let _ = e.to_string(); }
            }
        }

        /// Serialise → parse gives the same event, and serialising that gives the same text.
        #[test]
        fn serialise_then_parse_round_trips(event in event()) {
            let text = event.to_json().unwrap();
            let back = CloudEvent::from_json(&text).unwrap();
            prop_assert_eq!(&back, &event);
            prop_assert_eq!(back.to_json().unwrap(), text.clone());
            // Through serde as well, as part of another document.
            let wrapped: Vec<CloudEvent> = serde_json::from_str(&format!("[{text}]")).unwrap();
            prop_assert_eq!(&wrapped[0], &event);
            touch(&back);
        }

        /// A valid envelope cut short, or with a byte changed, is refused or read — never a
        /// panic.
        #[test]
        fn damaged_envelopes_never_panic(
            event in event(),
            cut in any::<prop::sample::Index>(),
            flip in any::<prop::sample::Index>(),
            byte in any::<u8>(),
        ) {
            let text = event.to_json().unwrap().into_bytes();
            let _ = CloudEvent::from_json(&text[..cut.index(text.len() + 1)]);
            let mut changed = text.clone();
            changed[flip.index(text.len())] = byte;
            if let Ok(event) = CloudEvent::from_json(&changed) {
                touch(&event);
            }
        }
    }
}

/// The mapping engine: arbitrary events (JSON payloads of any shape, binary payloads, any
/// attributes) through a small fixed mapping that uses every transform, templates and a
/// `blocks` value — `Ok` or a `MappingError`, never a panic.
mod mapping {
    use super::*;
    use serde_json::Value;
    use switchyard::envelope::CloudEvent;
    use switchyard::mapping::{FieldType, Mapping, Schema};

    /// One rule per event type, so each rule's fields are reached whatever the others make of
    /// the event (a field that fails stops its rule).
    const MAPPING: &str = r##"
[[rule]]
name = "text"
source = "fuzz"
type = "text"
[rule.fields]
name = { path = "data.name", transforms = ["trim", "lower", { split = " ", part = "first" }], default = "there" }
parts = { path = "data.name", transforms = [{ split = "," }, "trim", "upper"] }
last = { path = "data.name", transforms = [{ split = " ", part = -1 }] }
joined = { path = "data.list", transforms = [{ join = ", " }] }

[[rule]]
name = "money"
source = "fuzz"
type = "money"
[rule.fields]
amount = { path = "data.amount", transforms = [{ money = { path = "data.currency" }, thousands = "," }] }
decimal = { path = "data.amount", transforms = [{ money_decimal = "kwd" }], type = "number" }

[[rule]]
name = "numbers"
source = "fuzz"
type = "numbers"
[rule.fields]
price = { path = "data.price", transforms = [{ format_number = 2, thousands = " ", point = "," }] }
count = { path = "data.items.0.qty", type = "integer" }
number = { path = "data.price", type = "number" }
flag = { path = "data.flag", type = "boolean" }

[[rule]]
name = "dates"
source = "fuzz"
type = "dates"
[rule.fields]
day = { path = "data.when", transforms = [{ date = "[year]-[month]-[day] [hour]:[minute]", offset = "+02:00" }] }
ms = { path = "data.when", transforms = [{ date = "unix_ms" }] }
rfc = { path = "time", transforms = [{ date = "rfc3339", offset = "Z" }] }

[[rule]]
name = "templates"
source = "fuzz"
type = "templates"
[rule.fields]
text = { template = "{{ data.name | upper }} owes {{ data.amount | money(data.currency) }} since {{ data.when | date('rfc3339') }}: {% for i in data.list %}{{ i }};{% endfor %} {{ id }} {{ subject }} {{ data.meta['a.b'] }}" }
whole = { template = "{{ data | tojson }}" }
blocks = { value = [
  { type = "section", text = { type = "mrkdwn", text = "*{{ data.nested.deep.value }}* {{ data.name | split(' ', part='last') }}" } },
  { type = "context", elements = [{ type = "mrkdwn", text = "{{ data.items.0.sku | default('none', true) }} {{ data.price | format_number(1) }}" }] },
] }

[[rule]]
name = "catch-all"
source = "*"
type = "*"
[rule.fields]
text = { template = "{{ type }} from {{ source }}" }
count = { path = "data.items.1.qty", type = "integer" }
"##;

    fn schema() -> Schema {
        let mut schema = Schema::new();
        for (name, ty) in [
            ("name", FieldType::String),
            ("parts", FieldType::Any),
            ("last", FieldType::String),
            ("joined", FieldType::String),
            ("amount", FieldType::String),
            ("decimal", FieldType::Number),
            ("price", FieldType::String),
            ("count", FieldType::Integer),
            ("number", FieldType::Number),
            ("flag", FieldType::Boolean),
            ("day", FieldType::String),
            ("ms", FieldType::Any),
            ("rfc", FieldType::String),
            ("text", FieldType::String),
            ("whole", FieldType::String),
            ("blocks", FieldType::Array),
        ] {
            schema = schema.field(name, ty);
        }
        schema
    }

    /// Values the rules' paths lead to: the right kinds mostly, anything sometimes.
    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            super::envelope::json_value(),
            any::<i64>().prop_map(Value::from),
            (-1e12f64..1e12).prop_map(Value::from),
            "[A-Za-z ,]{0,20}".prop_map(Value::String),
            "-?[0-9]{1,25}(\\.[0-9]{0,6})?([eE][+-]?[0-9]{1,3})?".prop_map(Value::String),
            "[a-zA-Z]{0,4}".prop_map(Value::String),
            "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})"
                .prop_map(Value::String),
            Just(Value::from("yes")),
            Just(Value::from(u64::MAX)),
            Just(Value::from(f64::MAX)),
        ]
    }

    /// A payload with the mapping's members, each present or not, plus noise.
    fn payload() -> impl Strategy<Value = Value> {
        let keys = [
            "name", "list", "amount", "currency", "price", "items", "flag", "when", "nested",
            "meta",
        ];
        (
            proptest::collection::vec(proptest::option::of(leaf()), keys.len()),
            proptest::collection::vec(proptest::option::of(leaf()), 0..4),
            proptest::option::of(leaf()),
            proptest::option::of(leaf()),
            proptest::collection::vec((text(6), leaf()), 0..3),
            proptest::option::of(prop_oneof![
                "[a-zA-Z]{3}",
                proptest::sample::select(&["usd", "JPY", "kwd", "eur", "clp", "BHD"][..])
                    .prop_map(str::to_owned),
            ]),
        )
            .prop_map(move |(values, list, qty, deep, noise, currency)| {
                let mut data = serde_json::Map::new();
                for (key, value) in keys.iter().zip(values) {
                    if let Some(value) = value {
                        data.insert((*key).to_owned(), value);
                    }
                }
                data.insert(
                    "list".to_owned(),
                    Value::Array(list.into_iter().map(|v| v.unwrap_or(Value::Null)).collect()),
                );
                if let Some(qty) = qty {
                    data.insert(
                        "items".to_owned(),
                        serde_json::json!([{ "qty": qty, "sku": "A-1" }, { "qty": 1 }]),
                    );
                }
                if let Some(deep) = deep {
                    data.insert(
                        "nested".to_owned(),
                        serde_json::json!({ "deep": { "value": deep } }),
                    );
                    data.insert(
                        "meta".to_owned(),
                        serde_json::json!({ "a.b": 1, "a": { "b": 2 } }),
                    );
                }
                if let Some(currency) = currency {
                    data.insert("currency".to_owned(), Value::String(currency));
                }
                for (k, v) in noise {
                    data.insert(k, v);
                }
                Value::Object(data)
            })
    }

    fn event_type() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => proptest::sample::select(&["text", "money", "numbers", "dates", "templates"][..])
                .prop_map(str::to_owned),
            1 => text(8).prop_filter("non-empty", |s| !s.is_empty()),
        ]
    }

    fn mapping() -> Mapping {
        Mapping::load(MAPPING, "fuzz.toml", &schema()).expect("the fuzz mapping loads")
    }

    proptest! {
        #![proptest_config(config())]

        /// Structured payloads, compact or pretty (the selective scan reads the raw text).
        #[test]
        fn mapped_events_never_panic(
            data in payload(),
            ty in event_type(),
            pretty in any::<bool>(),
            subject in proptest::option::of("[a-z0-9]{1,8}"),
        ) {
            let mapping = mapping();
            let text = if pretty {
                serde_json::to_string_pretty(&data).unwrap()
            } else {
                data.to_string()
            };
            let mut event = CloudEvent::new_json_bytes("evt_1", "fuzz", ty, text.as_bytes()).unwrap();
            if let Some(s) = subject {
                event = event.with_subject(s).unwrap();
            }
            match mapping.apply(&event) {
                Ok(Some(mapped)) => { let _ = mapped.into_value(); }
                Ok(None) => {}
                Err(e) => { let _ = e.to_string(); }
            }
        }

        /// Payloads of any shape (not an object, deeply nested, huge numbers), and binary ones.
        #[test]
        fn arbitrary_payloads_never_panic(
            data in super::envelope::json_value(),
            raw in bytes(64),
            ty in event_type(),
        ) {
            let mapping = mapping();
            let json = CloudEvent::new_json_bytes("evt_1", "fuzz", ty.clone(), data.to_string().as_bytes()).unwrap();
            let _ = mapping.apply(&json).map_err(|e| e.to_string());
            let binary = CloudEvent::new_binary("evt_2", "fuzz", ty, raw, "application/octet-stream").unwrap();
            let _ = mapping.apply(&binary).map_err(|e| e.to_string());
        }
    }
}

/// `Retry-After`: any text (and any header bytes) gives a delay or `None`, never a panic; delay
/// seconds and HTTP dates read back as written, clamped to `MAX_RETRY_AFTER`.
mod retry_after {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
    use std::time::{Duration, SystemTime, UNIX_EPOCH};
    use switchyard::http::classify::{MAX_RETRY_AFTER, parse_retry_after, retry_after_header};

    /// A moment between 1970 and the year 9000, in whole seconds (HTTP dates have no fraction).
    fn now() -> impl Strategy<Value = SystemTime> {
        (0..220_000_000_000u64).prop_map(|s| UNIX_EPOCH + Duration::from_secs(s))
    }

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            text(40),
            "[ \t]{0,2}[+-]?[0-9]{0,30}(\\.[0-9]{0,3})?[ \t]{0,2}",
            "(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{1,2} (Jan|Feb|Mar|Oct|Dec) [0-9]{1,5} [0-9]{2}:[0-9]{2}:[0-9]{2} (GMT|UTC)",
            "(Sunday|Monday), [0-9]{2}-(Jan|Nov)-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT",
            "(Sun|Mon) (Jan|Nov) [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}",
        ]
    }

    proptest! {
        #![proptest_config(config())]

        /// Never a panic, and never more than the cap.
        #[test]
        fn any_value_parses_or_is_refused(value in value(), now in now()) {
            if let Some(delay) = parse_retry_after(&value, now) {
                prop_assert!(delay <= MAX_RETRY_AFTER);
            }
        }

        /// The header as a response carries it: any bytes a `HeaderValue` can hold.
        #[test]
        fn any_header_bytes_parse_or_are_refused(raw in bytes(48), now in now()) {
            if let Ok(value) = HeaderValue::from_bytes(&raw) {
                let mut headers = HeaderMap::new();
                headers.insert(RETRY_AFTER, value);
                if let Some(delay) = retry_after_header(&headers, now) {
                    prop_assert!(delay <= MAX_RETRY_AFTER);
                }
            }
        }

        /// Delay seconds read back as written (with any surrounding whitespace and leading
        /// zeros), clamped to the cap; beyond `u64` they clamp too.
        #[test]
        fn delta_seconds_round_trip(
            secs in prop_oneof![0..=MAX_RETRY_AFTER.as_secs() * 2, any::<u64>()],
            zeros in 0..3usize,
            pad in "[ \t]{0,2}",
            now in now(),
        ) {
            let written = format!("{pad}{}{secs}{pad}", "0".repeat(zeros));
            let expected = Duration::from_secs(secs).min(MAX_RETRY_AFTER);
            prop_assert_eq!(parse_retry_after(&written, now), Some(expected));
            prop_assert_eq!(
                parse_retry_after(&format!("{secs}99999999999999999999"), now),
                Some(MAX_RETRY_AFTER)
            );
        }

        /// An HTTP date `d` after now reads back as `d` (clamped); a date in the past as zero.
        #[test]
        fn http_dates_round_trip(now in now(), ahead in 0..=MAX_RETRY_AFTER.as_secs() * 2, past in any::<bool>()) {
            let ahead = Duration::from_secs(ahead);
            let (at, expected) = if past {
                (now.checked_sub(ahead).unwrap_or(UNIX_EPOCH), Duration::ZERO)
            } else {
                (now + ahead, ahead.min(MAX_RETRY_AFTER))
            };
            prop_assume!(at < UNIX_EPOCH + Duration::from_secs(253_402_300_799));
            let written = httpdate::fmt_http_date(at);
            prop_assert_eq!(parse_retry_after(&written, now), Some(expected), "{}", written);
        }
    }
}

/// The HTTP response classifiers: any status, headers and body give a verdict (or none),
/// never a panic; what the kit keeps of an error body is only ever codes.
mod response_classifiers {
    use super::*;
    use reqwest::StatusCode;
    use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
    use std::time::{Duration, SystemTime};
    use switchyard::http::ErrorBody;
    use switchyard::http::classify::{
        BodyClassifier, SafeFields, classify_response, classify_status,
    };
    use switchyard::redact::{DEFAULT_ERROR_FIELDS, error_codes, is_code, media_type};

    fn status() -> impl Strategy<Value = StatusCode> {
        (100..=999u16).prop_map(|c| StatusCode::from_u16(c).unwrap())
    }

    /// An error body: JSON with the usual code fields holding codes, prose, numbers or
    /// objects; or anything at all.
    fn body() -> impl Strategy<Value = Vec<u8>> {
        let field = proptest::sample::select(
            &[
                "error",
                "code",
                "status",
                "category",
                "errors",
                "message",
                "error.code",
                "0",
            ][..],
        );
        let value = prop_oneof![
            super::envelope::json_value(),
            "[A-Za-z0-9_.:-]{0,70}".prop_map(serde_json::Value::String),
            any::<i64>().prop_map(serde_json::Value::from),
        ];
        prop_oneof![
            2 => proptest::collection::vec((field, value), 0..6).prop_map(|members| {
                let mut object = serde_json::Map::new();
                for (k, v) in members {
                    object.insert(k.to_owned(), v);
                }
                let nested = serde_json::json!({"error": {"code": object.get("code").cloned()}, "errors": [object.clone()]});
                object.insert("nested".to_owned(), nested);
                serde_json::Value::Object(object).to_string().into_bytes()
            }),
            1 => bytes(256),
        ]
    }

    fn fields() -> impl Strategy<Value = Vec<String>> {
        prop_oneof![
            Just(
                DEFAULT_ERROR_FIELDS
                    .iter()
                    .map(|f| (*f).to_owned())
                    .collect()
            ),
            proptest::collection::vec(
                prop_oneof![
                    "(error|errors|code|nested)(\\.(code|[0-9]{1,2}|error|errors)){0,3}",
                    text(12),
                ],
                0..5,
            ),
        ]
    }

    fn content_type() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            "[a-zA-Z+.-]{0,12}/[a-zA-Z+.!#$&^_-]{0,20}(; ?charset=[a-z0-9-]{0,8})?"
                .prop_map(String::into_bytes),
            bytes(40),
        ]
    }

    proptest! {
        #![proptest_config(config())]

        /// Status alone: 2xx/3xx is no error, everything else a verdict; a delay only on a
        /// retryable one.
        #[test]
        fn every_status_has_a_verdict(status in status(), delay in proptest::option::of(any::<u64>())) {
            let delay = delay.map(Duration::from_secs);
            match classify_status(status, delay) {
                None => prop_assert!((200..400).contains(&status.as_u16())),
                Some(c) => {
                    prop_assert!(!(200..400).contains(&status.as_u16()));
                    if !c.class.is_retryable() {
                        prop_assert_eq!(c.retry_after, None);
                    }
                }
            }
        }

        /// Status and arbitrary headers, as the client classifies a response.
        #[test]
        fn responses_with_any_headers_classify(
            status in status(),
            retry_after in bytes(40),
            secs in 0..200_000_000_000u64,
        ) {
            let mut headers = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_bytes(&retry_after) {
                headers.insert(RETRY_AFTER, v);
            }
            let now = SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
            let _ = classify_response(status, &headers, now);
        }

        /// What an error keeps of a body: only values that look like codes (or small numbers),
        /// under the fields asked for, and a media type that is a token pair; never a panic.
        #[test]
        fn error_bodies_keep_only_codes(
            body in body(),
            fields in fields(),
            content_type in content_type(),
            truncated in any::<bool>(),
        ) {
            let mut headers = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_bytes(&content_type) {
                headers.insert(CONTENT_TYPE, v);
            }
            let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
            let kept = ErrorBody::new(&headers, &body, truncated, &fields);
            let shown = kept.to_string();
            prop_assert_eq!(kept.len(), body.len());
            for (field, value) in kept.codes() {
                prop_assert!(fields.contains(&field.as_str()));
                prop_assert!(
                    is_code(value) || value.parse::<i64>().is_ok_and(|n| n.unsigned_abs() < 1_000_000),
                    "kept {:?}", value
                );
                prop_assert!(shown.contains(value.as_str()));
            }
            if let Some(ct) = kept.content_type() {
                let again = media_type(ct);
                prop_assert_eq!(again.as_deref(), Some(ct));
            }
            prop_assert_eq!(error_codes(&body, &fields), kept.codes().to_vec());
        }

        /// The kit's own `BodyClassifier` (safe fields only) has no opinion on any body.
        #[test]
        fn safe_fields_classifier_never_decides(status in status(), body in bytes(128)) {
            let classifier = SafeFields(&["category"]);
            prop_assert_eq!(classifier.classify_body(status, &body), None);
            prop_assert_eq!(classifier.retry_after_hint(status, &HeaderMap::new(), &body), None);
        }
    }
}
