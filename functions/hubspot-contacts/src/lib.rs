//! `hubspot-contacts`: upserts contacts into HubSpot, one batch call per SQS batch.
//!
//! A deliverer: SQS batch of CloudEvents envelopes → the mapping file (which events, which
//! contact properties) → owners resolved by e-mail (cached) → `POST
//! {HUBSPOT_API_BASE_URL}/crm/v3/objects/contacts/batch/upsert` with an OAuth (or private-app)
//! token → HubSpot's contact id per record in the delivery ledger. Everything around the call —
//! deadlines, retries, the redelivery schedule, the dead-letter queue, idempotency, the rate
//! limit, the circuit breaker, token renewal, lookups — is the kit's; this crate is HubSpot's
//! part: its configuration ([`config`]), what its answers mean ([`api_errors`], [`upsert`]),
//! the contact ([`contact`]), owners ([`owners`]) and the batch call ([`sync`]). See the README.

pub mod api_errors;
pub mod config;
pub mod contact;
pub mod owners;
pub mod sync;
pub mod upsert;

pub use sync::HubSpotContacts;

/// The integration's name: the prefix of its idempotency keys (`hubspot-contacts#<source>#<id>`).
pub const INTEGRATION: &str = "hubspot-contacts";

/// The mapping file embedded at build time; `MAPPING_FILE` replaces it without a rebuild.
pub const MAPPING: &str = include_str!("../mapping.toml");

#[cfg(test)]
mod tests {
    //! The embedded mapping against the events it is documented to map.
    use super::*;
    use serde_json::{Value, json};
    use switchyard::envelope::CloudEvent;
    use switchyard::mapping::Mapping;

    fn map(source: &str, ty: &str, data: Value) -> contact::Contact {
        let mapping = Mapping::load(MAPPING, "mapping.toml", &contact::schema()).unwrap();
        let event = CloudEvent::new_value("evt_1", source, ty, data).unwrap();
        let mapped = mapping.apply(&event).unwrap().expect("a rule selects it");
        contact::Contact::from_mapped(mapped).unwrap()
    }

    #[test]
    fn a_stripe_customer_becomes_a_contact_with_an_owner_to_resolve() {
        for ty in ["customer.created", "customer.updated"] {
            let c = map(
                "stripe",
                ty,
                json!({"id": "evt_1", "type": ty, "data": {"object": {
                    "id": "cus_1", "email": " Ada@Example.com ", "name": "Ada King Lovelace",
                    "phone": "+44 20 7946 0000", "metadata": {"owner_email": "Sam@Example.com"}}}}),
            );
            assert_eq!(c.email, "ada@example.com");
            assert_eq!(
                Value::Object(c.properties),
                json!({"email": "ada@example.com", "firstname": "Ada",
                    "lastname": "King Lovelace", "phone": "+44 20 7946 0000"})
            );
            assert_eq!(c.owner_email.as_deref(), Some("sam@example.com"));
        }
    }

    #[test]
    fn a_one_word_name_sets_no_last_name() {
        let c = map(
            "stripe",
            "customer.created",
            json!({"data": {"object": {"email": "cher@example.com", "name": "Cher"}}}),
        );
        assert_eq!(
            Value::Object(c.properties),
            json!({"email": "cher@example.com", "firstname": "Cher"})
        );
        assert_eq!(c.owner_email, None);
    }

    #[test]
    fn a_shopify_customer_becomes_a_contact() {
        let c = map(
            "shopify",
            "customers/create",
            json!({"id": 706405506930370000_u64, "email": "bob@example.com",
                "first_name": "Bob", "last_name": "Norman", "phone": "+16136120707"}),
        );
        assert_eq!(
            Value::Object(c.properties),
            json!({"email": "bob@example.com", "firstname": "Bob", "lastname": "Norman",
                "phone": "+16136120707"})
        );
    }

    /// What the DEBUG line "mapped" shows: e-mails keep their domain, names are erased, phone
    /// numbers keep their last four digits; what is sent is not masked.
    #[test]
    fn the_log_view_masks_every_personal_field() {
        let mapping = Mapping::load(MAPPING, "mapping.toml", &contact::schema()).unwrap();
        let stripe = CloudEvent::new_value(
            "evt_1",
            "stripe",
            "customer.created",
            json!({"data": {"object": {"email": "ada@example.com", "name": "Ada King Lovelace",
                "phone": "+44 20 7946 0958", "metadata": {"owner_email": "sam@example.org"}}}}),
        )
        .unwrap();
        let shopify = CloudEvent::new_value(
            "evt_2",
            "shopify",
            "customers/create",
            json!({"email": "ada@example.com", "first_name": "Ada",
                "last_name": "King Lovelace", "phone": "+44 20 7946 0958"}),
        )
        .unwrap();
        for event in [stripe, shopify] {
            let mapped = mapping.apply(&event).unwrap().unwrap();
            let masked = Value::Object(mapped.masked());
            assert_eq!(masked["email"], json!("*****@example.com"));
            assert_eq!(masked["firstname"], json!("*****"));
            assert_eq!(masked["lastname"], json!("*****"));
            assert_eq!(masked["phone"], json!("*****0958"));
            let line = mapped.for_log().to_string();
            for personal in ["ada@", "Ada", "Lovelace", "7946", "sam@"] {
                assert!(!line.contains(personal), "{personal} in {line}");
            }
            assert_eq!(mapped.get_str("email"), Some("ada@example.com"));
        }
    }

    #[test]
    fn other_events_are_not_selected_and_a_customer_without_email_is_permanent() {
        let mapping = Mapping::load(MAPPING, "mapping.toml", &contact::schema()).unwrap();
        let paid = CloudEvent::new_value("e", "stripe", "invoice.paid", json!({})).unwrap();
        assert!(mapping.apply(&paid).unwrap().is_none());
        let no_email = CloudEvent::new_value(
            "e",
            "stripe",
            "customer.created",
            json!({"data": {"object": {}}}),
        )
        .unwrap();
        let err = mapping.apply(&no_email).unwrap_err();
        assert!(err.to_string().contains("email"), "{err}");
    }
}
