//! The TLS configuration of the HTTP client: rustls with aws-lc-rs (the provider the AWS SDK
//! links, so one TLS stack), Mozilla's root certificates compiled in.
//!
//! # Why compiled-in roots
//!
//! reqwest's default for rustls is the platform verifier, which on Linux reads and parses every
//! certificate of the system store when the client is built: about 3 ms of a cold start and a
//! few hundred KB of memory, measured on this machine kind (`tests/benches/cold_start.rs`), for
//! a function that calls one SaaS API. `webpki-roots` (the rustls project's packaging of
//! Mozilla's CA list) gives the same trust anchors as ready-made values: nothing to read or
//! parse. The price: an API behind a private CA is not trusted; such a destination needs the
//! client built with its CA added (not offered yet). The roots follow the crate's releases, so
//! `Cargo.lock` updates bring new ones.

use std::sync::Arc;

/// ALPN: HTTP/2 when the server offers it (reqwest's `http2` feature), else HTTP/1.1.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// The rustls configuration every [`HttpClient`](super::HttpClient) uses.
///
/// # Errors
/// The provider refusing rustls' safe default protocol versions (it does not: aws-lc-rs
/// supports TLS 1.2 and 1.3); reported rather than assumed.
pub(crate) fn client_config() -> Result<rustls::ClientConfig, rustls::Error> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_trusts_mozillas_roots_and_offers_h2() {
        let config = client_config().unwrap();
        assert_eq!(
            config.alpn_protocols,
            [b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        assert!(webpki_roots::TLS_SERVER_ROOTS.len() > 100);
    }
}
