//! The `stripe-webhook` Lambda function: see this crate's README.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    switchyard::receiver::run(stripe_webhook::Stripe).await
}
