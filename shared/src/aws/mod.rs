//! Talking to AWS: the SDK configuration, loaded once at cold start, and the classification
//! of SDK failures ([`errors`]).
//!
//! The SDK's default chain already honours `AWS_ENDPOINT_URL` (and per-service
//! `AWS_ENDPOINT_URL_SQS`, ...), `AWS_REGION` and the Lambda credentials, so the same binary talks
//! to AWS in Lambda and to the local emulator in tests. Clients are built once from this config
//! and shared by every invocation.
//!
//! The SDK sets no operation timeout by default; a Lambda that waits on a hung connection pays
//! for every millisecond of it and may blow its own deadline. So every AWS call made through
//! this config is bounded: [`CONNECT_TIMEOUT`] to connect, [`ATTEMPT_TIMEOUT`] per attempt and
//! [`OPERATION_TIMEOUT`] for the whole call including the SDK's own retries (standard mode,
//! 3 attempts).

pub mod errors;

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;

/// Longest wait for a TCP/TLS connection to an AWS endpoint.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest single attempt of an AWS call.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
/// Longest AWS call, retries included.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(8);

/// The timeouts every AWS client of the kit uses.
pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// The SDK configuration from the environment (region, credentials, endpoint override), with
/// the kit's timeouts.
pub async fn load_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts())
        .load()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_call_is_bounded() {
        let t = timeouts();
        assert_eq!(t.connect_timeout(), Some(CONNECT_TIMEOUT));
        assert_eq!(t.operation_attempt_timeout(), Some(ATTEMPT_TIMEOUT));
        assert_eq!(t.operation_timeout(), Some(OPERATION_TIMEOUT));
        assert!(ATTEMPT_TIMEOUT < OPERATION_TIMEOUT);
    }
}
