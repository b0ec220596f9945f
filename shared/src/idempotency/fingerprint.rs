//! The payload hash: what tells a redelivery of an event from a different event reusing its id.
//!
//! The hash covers the envelope's `data` exactly as it travels (the JSON text, or the bytes of
//! `data_base64`), nothing else: context attributes such as `time` may legitimately differ
//! between two deliveries of one event, the payload may not. SHA-256, hex-encoded, as
//! Powertools' payload validation does with its own hash function; a 10 KB payload costs a few
//! microseconds (see `benches/idempotency.rs`).

use sha2::{Digest, Sha256};

use crate::envelope::{CloudEvent, Data};

/// The hex SHA-256 of `event`'s payload. JSON, bytes and no payload at all are told apart by a
/// one-byte prefix, so `data: "x"` and the same bytes as `data_base64` never collide.
pub fn payload_hash(event: &CloudEvent) -> String {
    let mut hasher = Sha256::new();
    match event.data() {
        Some(Data::Json(raw)) => {
            hasher.update(b"j");
            hasher.update(raw.get().as_bytes());
        }
        Some(Data::Binary(bytes)) => {
            hasher.update(b"b");
            hasher.update(bytes);
        }
        None => hasher.update(b"n"),
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(body: &str) -> CloudEvent {
        CloudEvent::from_json(body).unwrap()
    }

    #[test]
    fn only_the_payload_counts() {
        let a = event(
            r#"{"specversion":"1.0","id":"e","source":"s","type":"t","time":"2024-01-01T00:00:00Z","data":{"a":1}}"#,
        );
        let b = event(r#"{"specversion":"1.0","id":"e","source":"s","type":"t2","data":{"a":1}}"#);
        assert_eq!(payload_hash(&a), payload_hash(&b));
        assert_eq!(payload_hash(&a).len(), 64);
        let c = event(r#"{"specversion":"1.0","id":"e","source":"s","type":"t","data":{"a":2}}"#);
        assert_ne!(payload_hash(&a), payload_hash(&c));
    }

    #[test]
    fn json_bytes_and_nothing_are_different_payloads() {
        let json = event(r#"{"specversion":"1.0","id":"e","source":"s","type":"t","data":"eA=="}"#);
        let bytes =
            event(r#"{"specversion":"1.0","id":"e","source":"s","type":"t","data_base64":"eA=="}"#);
        let none = event(r#"{"specversion":"1.0","id":"e","source":"s","type":"t"}"#);
        let hashes = [
            payload_hash(&json),
            payload_hash(&bytes),
            payload_hash(&none),
        ];
        assert_ne!(hashes[0], hashes[1]);
        assert_ne!(hashes[1], hashes[2]);
        assert_ne!(hashes[0], hashes[2]);
    }
}
