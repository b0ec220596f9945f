//! Stripe webhooks → CloudEvents on SQS.
//!
//! Stripe signs `{t}.{body}` with the endpoint's `whsec_…` secret (`Stripe-Signature`,
//! several `v1` entries while a secret rolls, 300 s tolerance). The event's own fields give the
//! envelope: `id` (`evt_…`, the dedup key — not `request.idempotency_key`), `type`
//! (`invoice.paid`), `created` (unix seconds, or RFC 3339 text in v2 thin events); Connect
//! events also name the `account`.

use std::borrow::Cow;

use serde::Deserialize;
use switchyard::receiver::{
    Decision, Delivery, EventInfo, Provider, Rejection, rfc3339_time, unix_time,
};
use switchyard::webhook::Scheme;

/// The Stripe receiver.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stripe;

/// `created`: unix seconds in snapshot events, an RFC 3339 text in v2 "thin" events.
#[derive(Deserialize)]
#[serde(untagged)]
enum Created<'a> {
    Unix(i64),
    Text(#[serde(borrow)] Cow<'a, str>),
}

impl Created<'_> {
    fn time(&self) -> Option<time::OffsetDateTime> {
        match self {
            Created::Unix(seconds) => unix_time(*seconds),
            Created::Text(text) => rfc3339_time(text),
        }
    }
}

/// The fields of a Stripe event the envelope needs; the rest stays untouched in `data`.
#[derive(Deserialize)]
struct StripeEvent<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(rename = "type", borrow)]
    ty: Cow<'a, str>,
    #[serde(borrow)]
    created: Option<Created<'a>>,
    #[serde(borrow)]
    account: Option<Cow<'a, str>>,
    livemode: Option<bool>,
}

impl Provider for Stripe {
    fn name(&self) -> &'static str {
        "stripe"
    }

    fn scheme(&self) -> Scheme {
        Scheme::Stripe
    }

    fn describe(&self, delivery: &Delivery<'_>) -> Result<Decision, Rejection> {
        let event: StripeEvent<'_> = delivery.json()?;
        if event.id.is_empty() || event.ty.is_empty() {
            return Err(Rejection::new("event has an empty id or type"));
        }
        Ok(Decision::Enqueue(
            EventInfo::new(event.id, event.ty)
                .with_time(event.created.as_ref().and_then(Created::time))
                .with_extension("stripeaccount", event.account)
                .with_extension("livemode", event.livemode.map(|l| l.to_string())),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http::HeaderMap;

    fn describe(body: &str) -> Result<Decision, Rejection> {
        let headers = HeaderMap::new();
        Stripe.describe(&Delivery {
            headers: &headers,
            body: body.as_bytes(),
        })
    }

    #[test]
    fn reads_id_type_time_and_account() {
        let d = describe(
            r#"{"id":"evt_1","object":"event","type":"invoice.paid","created":1700000000,"account":"acct_9","livemode":false,"data":{"object":{}}}"#,
        )
        .unwrap();
        let Decision::Enqueue(info) = d else {
            panic!("{d:?}")
        };
        assert_eq!(info.id, "evt_1");
        assert_eq!(info.ty, "invoice.paid");
        assert_eq!(info.time.unwrap().unix_timestamp(), 1_700_000_000);
        assert_eq!(
            info.extensions,
            [
                ("stripeaccount", "acct_9".to_string()),
                ("livemode", "false".to_string())
            ]
        );
    }

    #[test]
    fn thin_events_carry_created_as_text() {
        let Decision::Enqueue(info) = describe(
            r#"{"id":"evt_test_65R","object":"v2.core.event","type":"v1.billing.meter.error_report_triggered","created":"2024-09-17T06:20:52.246Z","related_object":{"id":"mtr_1"}}"#,
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(info.ty, "v1.billing.meter.error_report_triggered");
        assert_eq!(info.time.unwrap().unix_timestamp(), 1_726_554_052);
    }

    #[test]
    fn escaped_strings_are_read() {
        let Decision::Enqueue(info) = describe(r#"{"id":"evt_\u0031","type":"a\/b"}"#).unwrap()
        else {
            panic!()
        };
        assert_eq!((info.id.as_str(), info.ty.as_str()), ("evt_1", "a/b"));
    }

    #[test]
    fn rejects_bodies_without_id_or_type_or_not_json() {
        for bad in [
            r#"{"type":"x"}"#,
            r#"{"id":"evt_1"}"#,
            r#"{"id":"","type":"x"}"#,
            "not json",
            "[1]",
            "",
        ] {
            assert!(describe(bad).is_err(), "{bad}");
        }
    }
}
