//! The `shopify-webhook` Lambda function: see this crate's README.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    switchyard::receiver::run(shopify_webhook::Shopify).await
}
