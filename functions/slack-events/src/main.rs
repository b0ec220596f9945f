//! The `slack-events` Lambda function: see this crate's README.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    switchyard::receiver::run(slack_events::Slack).await
}
