//! The `slack-notify` Lambda function: see this crate's README.
// The runtime, the runner, the idempotency layer and the handler nest their futures deeply.
#![recursion_limit = "256"]

use switchyard::deliverer::Deliverer;
use switchyard::idempotency::IdempotencyLayer;

// One thread: a Lambda runs one invocation at a time and the runner's concurrency is I/O
// (records waiting on Slack), so worker threads would only cost memory and start-up time.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    switchyard::telemetry::logging::init();
    let aws = switchyard::aws::load_config().await;
    let notify = slack_notify::SlackNotify::from_env(&aws)
        .await
        .inspect_err(|e| tracing::error!(error = %e, "cannot start"))?;
    let idempotency = IdempotencyLayer::from_env(
        aws_sdk_dynamodb::Client::new(&aws),
        slack_notify::INTEGRATION,
    )
    .inspect_err(|e| tracing::error!(error = %e, "cannot start"))?;
    Deliverer::from_env(&aws)
        .inspect_err(|e| tracing::error!(error = %e, "cannot start"))?
        .run(idempotency.layer(notify))
        .await
}
