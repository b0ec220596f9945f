//! The `hubspot-contacts` Lambda function: see this crate's README.
// The runtime, the runner, the idempotency layer and the handler nest their futures deeply.
#![recursion_limit = "256"]

use switchyard::deliverer::Deliverer;
use switchyard::idempotency::{IdempotencyConfig, IdempotencyLayer};

// One thread: a Lambda runs one invocation at a time and the work is I/O (one upsert per
// batch), so worker threads would only cost memory and start-up time.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    switchyard::telemetry::logging::init();
    let aws = switchyard::aws::load_config().await;
    let deliverer =
        Deliverer::from_env(&aws).inspect_err(|e| tracing::error!(error = %e, "cannot start"))?;
    // The circuit breaker and the owner cache count on the deliverer's metrics, flushed per
    // invocation.
    let contacts = hubspot_contacts::HubSpotContacts::from_env(&aws, deliverer.metrics())
        .await
        .inspect_err(|e| tracing::error!(error = %e, "cannot start"))?;
    // An upsert by e-mail done twice is done once: a retry after a lost answer cannot make a
    // second contact, so the ledger does not mark those deliveries as possibly twice.
    let config = IdempotencyConfig::from_env()
        .inspect_err(|e| tracing::error!(error = %e, "cannot start"))?
        .with_idempotent_destination();
    let idempotency = IdempotencyLayer::new(
        aws_sdk_dynamodb::Client::new(&aws),
        &config,
        hubspot_contacts::INTEGRATION,
    );
    deliverer.run_batch(idempotency.layer(contacts)).await
}
