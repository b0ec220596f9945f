//! The performance baseline: the smallest useful lambda_runtime function — it reads one secret
//! from Secrets Manager at init and answers every event with the secret's length.
//!
//! `make bench` measures every Switchyard function's cold start and peak memory against this
//! binary, through the same Runtime API stand-in and the same emulator.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let secret_id = std::env::var("SECRET_ID")?;
    let secret = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await?;
    let length = secret.secret_string().map_or(0, str::len);
    lambda_runtime::run(service_fn(move |_event: LambdaEvent<Value>| async move {
        Ok::<_, Error>(json!({ "secret_length": length }))
    }))
    .await
}
