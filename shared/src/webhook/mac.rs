//! The MAC every scheme uses — HMAC-SHA256 over the signed content — and the two ways schemes
//! write it in a header (lower hex, standard base64).
//!
//! The signed content is computed piecewise (the header fields that precede the body, then the
//! body) so the body is never copied, whatever its size.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Length in bytes of an HMAC-SHA256 tag; a candidate signature of any other length cannot match.
pub(crate) const TAG_LEN: usize = 32;

/// An HMAC-SHA256 tag, as decoded from a header or computed here.
pub(crate) type Tag = [u8; TAG_LEN];

/// HMAC-SHA256 under `key` of the pieces of `prefix` followed by `body`, without concatenating
/// them. `None` only if the MAC refuses the key, which HMAC never does (any length is valid).
pub(crate) fn hmac_sha256(key: &[u8], prefix: &[&str], body: &[u8]) -> Option<Tag> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).ok()?;
    for piece in prefix {
        mac.update(piece.as_bytes());
    }
    mac.update(body);
    Some(mac.finalize().into_bytes().into())
}

/// How a scheme writes a tag in its signature header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// Lower-case hex, 64 digits (Stripe, GitHub, Slack). Decoding also takes upper case.
    Hex,
    /// Standard, padded base64 (Shopify, Standard Webhooks).
    Base64,
}

impl Encoding {
    /// A candidate signature decoded to a tag; `None` (a non-match, not an error) if it is not a
    /// full-length tag in this encoding.
    pub(crate) fn decode(self, text: &str) -> Option<Tag> {
        match self {
            Encoding::Hex => decode_hex_tag(text),
            Encoding::Base64 => decode_b64_tag(text),
        }
    }

    /// A tag as this encoding writes it in a header (for signing).
    pub(crate) fn encode(self, tag: &Tag) -> String {
        match self {
            Encoding::Hex => hex::encode(tag),
            Encoding::Base64 => STANDARD.encode(tag),
        }
    }
}

/// A hex signature decoded to a tag; `None` if it is not 64 hex digits.
fn decode_hex_tag(text: &str) -> Option<Tag> {
    let mut tag = [0u8; TAG_LEN];
    hex::decode_to_slice(text, &mut tag).ok()?;
    Some(tag)
}

/// A standard (padded) base64 signature decoded to a tag; `None` if it does not decode to exactly
/// 32 bytes. Decodes into a stack buffer: no allocation per candidate.
fn decode_b64_tag(text: &str) -> Option<Tag> {
    let mut buf = [0u8; TAG_LEN + 16];
    let len = STANDARD.decode_slice(text, &mut buf).ok()?;
    let mut tag = [0u8; TAG_LEN];
    tag.copy_from_slice(buf.get(..TAG_LEN).filter(|_| len == TAG_LEN)?);
    Some(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_test_case_2_however_the_content_is_split() {
        // RFC 4231, section 4.3: key "Jefe", data "what do ya want for nothing?".
        let expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        let whole = hmac_sha256(b"Jefe", &[], b"what do ya want for nothing?").unwrap();
        assert_eq!(hex::encode(whole), expected);
        let split = hmac_sha256(b"Jefe", &["what do", " ya ", ""], b"want for nothing?").unwrap();
        assert_eq!(hex::encode(split), expected);
    }

    #[test]
    fn tags_decode_only_at_full_length() {
        assert!(decode_hex_tag(&"ab".repeat(32)).is_some());
        assert!(decode_hex_tag(&"ab".repeat(31)).is_none());
        assert!(decode_hex_tag(&"zz".repeat(32)).is_none());
        assert!(decode_b64_tag("g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=").is_some());
        assert!(decode_b64_tag("AAAA").is_none());
        assert!(decode_b64_tag("not base64!").is_none());
    }

    #[test]
    fn encodings_round_trip() {
        let tag: Tag = core::array::from_fn(|i| u8::try_from(i * 7).unwrap_or(0));
        for encoding in [Encoding::Hex, Encoding::Base64] {
            let text = encoding.encode(&tag);
            assert_eq!(encoding.decode(&text), Some(tag), "{encoding:?}");
        }
        assert_eq!(Encoding::Hex.encode(&[0xab; TAG_LEN]), "ab".repeat(32));
        assert_eq!(Encoding::Base64.decode(&"ab".repeat(32)), None);
    }
}

/// Property tests: any candidate signature text, and the encodings' round trip.
#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(crate::fuzz_config())]

        /// Any text decodes to a tag or to nothing, in either encoding.
        #[test]
        fn any_candidate_decodes_or_not(text in "[0-9a-fA-F]{60,68}|[A-Za-z0-9+/]{40,48}={0,3}|\\PC{0,80}") {
            for encoding in [Encoding::Hex, Encoding::Base64] {
                if let Some(tag) = encoding.decode(&text) {
                    prop_assert_eq!(tag.len(), TAG_LEN);
                }
            }
        }

        /// What `encode` writes, `decode` reads back.
        #[test]
        fn encode_then_decode_round_trips(tag in any::<Tag>()) {
            for encoding in [Encoding::Hex, Encoding::Base64] {
                prop_assert_eq!(encoding.decode(&encoding.encode(&tag)), Some(tag));
            }
            prop_assert_eq!(Encoding::Hex.decode(&hex::encode_upper(tag)), Some(tag));
        }
    }
}
