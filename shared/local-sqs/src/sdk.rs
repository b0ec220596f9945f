//! The SQS client: the kit's AWS configuration ([`switchyard::aws::load_config`]: the default
//! chain, so `AWS_ENDPOINT_URL`, `AWS_REGION` and profiles work, with the kit's timeouts), then
//! the poller's own `--endpoint-url` and `--region` on top.
//!
//! A local emulator accepts any credentials, and a developer running `cargo lambda watch`
//! against one often has none configured. So when the endpoint is on loopback and the default
//! chain finds no credentials, fixed dummy ones are used (and said so); anywhere else a
//! missing credential stays an error the SDK reports on the first call.

use std::time::Duration;

use aws_config::Region;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};

/// Longest wait for the default credential chain at start-up.
pub const CREDENTIALS_TIMEOUT: Duration = Duration::from_secs(5);

/// An SQS client from the environment, with `endpoint_url` and `region` overriding it.
pub async fn sqs_client(endpoint_url: Option<&str>, region: Option<&str>) -> aws_sdk_sqs::Client {
    let shared = switchyard::aws::load_config().await;
    let mut builder = aws_sdk_sqs::config::Builder::from(&shared);
    if let Some(url) = endpoint_url {
        builder = builder.endpoint_url(url);
    }
    if let Some(region) = region {
        builder = builder.region(Region::new(region.to_string()));
    } else if shared.region().is_none() {
        builder = builder.region(Region::new("us-east-1"));
    }
    let endpoint = endpoint_url
        .map(str::to_string)
        .or_else(|| shared.endpoint_url().map(str::to_string));
    if endpoint.as_deref().is_some_and(is_loopback) && !has_credentials(&shared).await {
        tracing::info!("no AWS credentials configured: using dummy ones for the local endpoint");
        builder = builder.credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "local",
            "local",
            None,
            None,
            "switchyard-local-sqs",
        )));
    }
    aws_sdk_sqs::Client::from_conf(builder.build())
}

async fn has_credentials(config: &aws_config::SdkConfig) -> bool {
    let Some(provider) = config.credentials_provider() else {
        return false;
    };
    matches!(
        tokio::time::timeout(CREDENTIALS_TIMEOUT, provider.provide_credentials()).await,
        Ok(Ok(_))
    )
}

/// Whether `url`'s host is this machine.
pub fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(bracketed) = host.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or("")
    } else {
        host.split(':').next().unwrap_or("")
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_machine_counts_as_local() {
        for url in [
            "http://127.0.0.1:5000",
            "http://localhost:4566/",
            "http://[::1]:5000/x",
            "127.0.0.2:9",
        ] {
            assert!(is_loopback(url), "{url}");
        }
        for url in [
            "https://sqs.eu-west-1.amazonaws.com",
            "http://10.0.0.1:5000",
            "http://localhost.example.com",
        ] {
            assert!(!is_loopback(url), "{url}");
        }
    }
}
