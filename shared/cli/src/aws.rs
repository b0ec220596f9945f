//! The AWS configuration every command shares: the kit's (the SDK's default chain for region
//! and credentials, `AWS_ENDPOINT_URL`, the kit's timeouts on every call), with the
//! `--endpoint-url` flag taking precedence over the environment.

/// The SDK configuration: [`switchyard::aws::load_config`], its endpoint replaced by
/// `endpoint_url` when one is given.
pub async fn config(endpoint_url: Option<&str>) -> aws_config::SdkConfig {
    let config = switchyard::aws::load_config().await;
    match endpoint_url {
        Some(url) => config.to_builder().endpoint_url(url).build(),
        None => config,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_flag_overrides_the_endpoint_and_keeps_the_timeouts() {
        let config = config(Some("http://127.0.0.1:1")).await;
        assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:1"));
        assert_eq!(
            config.timeout_config().and_then(|t| t.operation_timeout()),
            Some(switchyard::aws::OPERATION_TIMEOUT)
        );
    }
}
