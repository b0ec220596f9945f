//! Reading a request's headers: a case-insensitive lookup, and the text of a required or optional
//! header.
//!
//! Function URL events lower-case header names while providers send them capitalised, and unit
//! tests want to write plain `(name, value)` pairs rather than build HTTP types: [`Headers`]
//! covers all three.

use super::VerifyError;

/// A case-insensitive header lookup: the one thing the verifiers need from a request.
///
/// Implemented for [`lambda_http::http::HeaderMap`] (what receivers get) and for slices, arrays
/// and vectors of `(name, value)` pairs (what unit tests and tools write). Names are passed in
/// lower case; an implementation must match them regardless of the case the request used.
pub trait Headers {
    /// The raw bytes of the first value of header `name` (lower case), if present.
    fn header(&self, name: &str) -> Option<&[u8]>;
}

impl<T: Headers + ?Sized> Headers for &T {
    fn header(&self, name: &str) -> Option<&[u8]> {
        (**self).header(name)
    }
}

impl Headers for lambda_http::http::HeaderMap {
    fn header(&self, name: &str) -> Option<&[u8]> {
        // `HeaderMap` stores names lower-cased and lower-cases the looked-up name.
        self.get(name).map(|v| v.as_bytes())
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>> Headers for [(K, V)] {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>, const N: usize> Headers for [(K, V); N] {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.as_slice().header(name)
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>> Headers for Vec<(K, V)> {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.as_slice().header(name)
    }
}

/// The value of header `name` as text, or [`VerifyError::MissingHeader`] /
/// [`VerifyError::MalformedHeader`] (not UTF-8). Surrounding whitespace is trimmed.
pub(crate) fn required<'h, H: Headers + ?Sized>(
    headers: &'h H,
    name: &'static str,
) -> Result<&'h str, VerifyError> {
    optional(headers, name)?.ok_or(VerifyError::MissingHeader(name))
}

/// Like [`required`], but an absent header is `Ok(None)`.
pub(crate) fn optional<'h, H: Headers + ?Sized>(
    headers: &'h H,
    name: &'static str,
) -> Result<Option<&'h str>, VerifyError> {
    match headers.header(name) {
        None => Ok(None),
        Some(bytes) => std::str::from_utf8(bytes)
            .map(|s| Some(s.trim()))
            .map_err(|_| VerifyError::MalformedHeader {
                header: name,
                reason: "not UTF-8",
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lookup_is_case_insensitive_for_pairs_and_header_map() {
        let pairs = [("Stripe-Signature", "a"), ("X-Other", "b")];
        assert_eq!(pairs.header("stripe-signature"), Some(&b"a"[..]));
        assert_eq!(pairs.header("x-missing"), None);
        let owned = vec![("X-UPPER".to_string(), "v".to_string())];
        assert_eq!(owned.header("x-upper"), Some(&b"v"[..]));

        let mut map = lambda_http::http::HeaderMap::new();
        map.insert(
            lambda_http::http::header::HeaderName::from_static("x-hub-signature-256"),
            lambda_http::http::HeaderValue::from_static("sha256=00"),
        );
        assert_eq!(map.header("x-hub-signature-256"), Some(&b"sha256=00"[..]));
        assert_eq!(map.header("X-Hub-Signature-256"), Some(&b"sha256=00"[..]));
    }

    #[test]
    fn non_utf8_header_is_malformed() {
        let pairs: [(&str, &[u8]); 1] = [("x-a", &[0xff, 0xfe])];
        assert!(matches!(
            required(&pairs, "x-a"),
            Err(VerifyError::MalformedHeader { header: "x-a", .. })
        ));
        assert_eq!(
            required(&pairs, "x-b"),
            Err(VerifyError::MissingHeader("x-b"))
        );
    }

    #[test]
    fn values_are_trimmed_and_absent_optional_is_none() {
        let pairs = [("x-a", "  v1,abc \t")];
        assert_eq!(required(&pairs, "x-a"), Ok("v1,abc"));
        assert_eq!(optional(&pairs, "x-b"), Ok(None));
    }
}

/// Property tests: any header bytes, under any name spelling.
#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(crate::fuzz_config())]

        /// A value is read as text exactly when it is UTF-8, and then trimmed; an absent header
        /// is missing for `required` and `None` for `optional`.
        #[test]
        fn any_value_reads_as_trimmed_text_or_malformed(
            value in proptest::collection::vec(any::<u8>(), 0..64),
            present in any::<bool>(),
        ) {
            let pairs: Vec<(&str, &[u8])> = if present { vec![("x-a", &value)] } else { vec![] };
            let text = std::str::from_utf8(&value).ok();
            match (present, text) {
                (false, _) => {
                    prop_assert_eq!(required(&pairs, "x-a"), Err(VerifyError::MissingHeader("x-a")));
                    prop_assert_eq!(optional(&pairs, "x-a"), Ok(None));
                }
                (true, Some(text)) => {
                    prop_assert_eq!(required(&pairs, "x-a"), Ok(text.trim()));
                    prop_assert_eq!(optional(&pairs, "x-a"), Ok(Some(text.trim())));
                }
                (true, None) => {
                    let malformed = matches!(
                        required(&pairs, "x-a"),
                        Err(VerifyError::MalformedHeader { header: "x-a", .. })
                    );
                    prop_assert!(malformed);
                }
            }
        }

        /// Pairs and a `HeaderMap` find the same value whatever case the request used.
        #[test]
        fn lookup_ignores_case(name in "[A-Za-z0-9-]{1,24}", value in "[ -~]{0,32}") {
            let lower = name.to_ascii_lowercase();
            let pairs = [(name.as_str(), value.as_str())];
            prop_assert_eq!(pairs.header(&lower), Some(value.as_bytes()));
            let mut map = lambda_http::http::HeaderMap::new();
            let header = lambda_http::http::header::HeaderName::from_bytes(name.as_bytes()).unwrap();
            map.insert(header, lambda_http::http::HeaderValue::from_str(&value).unwrap());
            prop_assert_eq!(map.header(&lower), Some(value.as_bytes()));
        }
    }
}
