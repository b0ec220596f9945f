//! The `github-webhook` Lambda function: see this crate's README.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    switchyard::receiver::run(github_webhook::GitHub).await
}
