//! Standard Webhooks (and Svix) → CloudEvents on SQS.
//!
//! Serves any sender speaking [Standard Webhooks](https://www.standardwebhooks.com): signed
//! `{webhook-id}.{webhook-timestamp}.{body}` with a `whsec_<base64>` secret, several `v1,`
//! signatures during a rotation, 300 s tolerance; Svix's `svix-*` header spelling is accepted
//! too. The envelope's `id` is `webhook-id` (the dedup key), its `type` the payload's `$.type`,
//! its `time` the payload's `$.timestamp`. The sender is named by the `SOURCE` variable (the
//! envelope's `source`; default `standard-webhook`).

use std::borrow::Cow;

use serde::Deserialize;
use switchyard::receiver::{Decision, Delivery, EventInfo, Provider, Rejection, rfc3339_time};
use switchyard::webhook::Scheme;

/// The Standard Webhooks receiver.
#[derive(Debug, Clone, Copy, Default)]
pub struct StandardWebhooks;

#[derive(Deserialize)]
struct Payload<'a> {
    #[serde(rename = "type", borrow)]
    ty: Cow<'a, str>,
    #[serde(borrow)]
    timestamp: Option<Cow<'a, str>>,
}

impl Provider for StandardWebhooks {
    fn name(&self) -> &'static str {
        "standard-webhook"
    }

    fn scheme(&self) -> Scheme {
        Scheme::StandardWebhooks
    }

    fn describe(&self, delivery: &Delivery<'_>) -> Result<Decision, Rejection> {
        let id = delivery
            .required_header("webhook-id")
            .or_else(|_| delivery.required_header("svix-id"))?;
        let payload: Payload<'_> = delivery.json()?;
        if payload.ty.is_empty() {
            return Err(Rejection::new("payload has an empty type"));
        }
        Ok(Decision::Enqueue(EventInfo::new(id, payload.ty).with_time(
            payload.timestamp.as_deref().and_then(rfc3339_time),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard::receiver::header_map;

    fn describe(headers: &[(&str, &str)], body: &str) -> Result<Decision, Rejection> {
        let map = header_map(headers).unwrap();
        StandardWebhooks.describe(&Delivery {
            headers: &map,
            body: body.as_bytes(),
        })
    }

    const BODY: &str = r#"{"type":"invoice.paid","timestamp":"2022-11-03T20:26:10.344522Z","data":{"id":"inv_1"}}"#;

    #[test]
    fn id_from_header_type_and_time_from_payload() {
        let Decision::Enqueue(info) = describe(&[("webhook-id", "msg_1")], BODY).unwrap() else {
            panic!()
        };
        assert_eq!(info.id, "msg_1");
        assert_eq!(info.ty, "invoice.paid");
        assert_eq!(info.time.unwrap().unix_timestamp(), 1_667_507_170);
    }

    #[test]
    fn svix_spelling() {
        let Decision::Enqueue(info) = describe(&[("svix-id", "msg_2")], BODY).unwrap() else {
            panic!()
        };
        assert_eq!(info.id, "msg_2");
    }

    #[test]
    fn missing_id_type_or_json_is_rejected() {
        assert!(describe(&[], BODY).is_err());
        assert!(describe(&[("webhook-id", "m")], r#"{"data":{}}"#).is_err());
        assert!(describe(&[("webhook-id", "m")], r#"{"type":""}"#).is_err());
        assert!(describe(&[("webhook-id", "m")], "nope").is_err());
    }
}
