//! Shopify webhooks → CloudEvents on SQS.
//!
//! Shopify signs the body with the app's client secret (`X-Shopify-Hmac-Sha256`, base64; newer
//! deliveries spell the headers without the `X-` prefix, and both are read). Everything the
//! envelope needs is in headers: `id` = `X-Shopify-Event-Id` (the dedup key; falls back to
//! `X-Shopify-Webhook-Id` for older API versions), `type` = `X-Shopify-Topic`
//! (`orders/create`), `time` = `X-Shopify-Triggered-At`, `subject` = the shop
//! (`X-Shopify-Shop-Domain`). The body must be JSON (the webhook's format must be JSON).

use switchyard::receiver::{Decision, Delivery, EventInfo, Provider, Rejection, rfc3339_time};
use switchyard::webhook::Scheme;

/// The Shopify receiver.
#[derive(Debug, Clone, Copy, Default)]
pub struct Shopify;

/// A Shopify header in either spelling (`X-Shopify-…` or the newer `Shopify-…`).
fn header<'a>(delivery: &Delivery<'a>, name: &str) -> Option<&'a str> {
    delivery
        .header(&format!("x-shopify-{name}"))
        .or_else(|| delivery.header(&format!("shopify-{name}")))
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

impl Provider for Shopify {
    fn name(&self) -> &'static str {
        "shopify"
    }

    fn scheme(&self) -> Scheme {
        Scheme::Shopify
    }

    fn describe(&self, delivery: &Delivery<'_>) -> Result<Decision, Rejection> {
        let id = header(delivery, "event-id")
            .or_else(|| header(delivery, "webhook-id"))
            .ok_or_else(|| Rejection::new("missing header x-shopify-event-id"))?;
        let topic = header(delivery, "topic")
            .ok_or_else(|| Rejection::new("missing header x-shopify-topic"))?;
        Ok(Decision::Enqueue(
            EventInfo::new(id, topic)
                .with_time(header(delivery, "triggered-at").and_then(rfc3339_time))
                .with_subject(header(delivery, "shop-domain"))
                .with_extension("shopifywebhookid", header(delivery, "webhook-id"))
                .with_extension("shopifyapiversion", header(delivery, "api-version")),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard::receiver::header_map;

    fn describe(headers: &[(&str, &str)]) -> Result<Decision, Rejection> {
        let map = header_map(headers).unwrap();
        Shopify.describe(&Delivery {
            headers: &map,
            body: b"{}",
        })
    }

    #[test]
    fn reads_everything_from_headers() {
        let Decision::Enqueue(info) = describe(&[
            ("X-Shopify-Event-Id", "98880550-7158-44d4-b7cd-2c97c8a091b5"),
            (
                "X-Shopify-Webhook-Id",
                "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
            ),
            ("X-Shopify-Topic", "orders/create"),
            ("X-Shopify-Triggered-At", "2023-03-29T18:00:27.877041743Z"),
            ("X-Shopify-Shop-Domain", "acme.myshopify.com"),
            ("X-Shopify-API-Version", "2024-07"),
        ])
        .unwrap() else {
            panic!()
        };
        assert_eq!(info.id, "98880550-7158-44d4-b7cd-2c97c8a091b5");
        assert_eq!(info.ty, "orders/create");
        assert_eq!(info.subject.as_deref(), Some("acme.myshopify.com"));
        assert!(info.time.is_some());
        assert_eq!(info.extensions.len(), 2);
    }

    #[test]
    fn unprefixed_headers_and_webhook_id_fallback() {
        let Decision::Enqueue(info) = describe(&[
            ("shopify-webhook-id", "w-1"),
            ("shopify-topic", "products/update"),
        ])
        .unwrap() else {
            panic!()
        };
        assert_eq!(
            (info.id.as_str(), info.ty.as_str()),
            ("w-1", "products/update")
        );
    }

    #[test]
    fn missing_id_or_topic_is_rejected() {
        assert!(describe(&[("x-shopify-topic", "orders/create")]).is_err());
        assert!(describe(&[("x-shopify-event-id", "e-1")]).is_err());
    }
}
