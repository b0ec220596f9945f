//! Where secrets come from: Secrets Manager in production, a fake in unit tests.

use std::future::Future;
use std::pin::Pin;

use super::{SecretError, SecretString};

/// The future a [`SecretSource`] returns (boxed so the trait can be used as `dyn`).
pub type Fetch<'a> = Pin<Box<dyn Future<Output = Result<SecretString, SecretError>> + Send + 'a>>;

/// Something that can read the current value of a secret by id.
///
/// The cache ([`super::Secrets`]) sits on top of one. The production source is the Secrets
/// Manager client itself; a connector's unit tests can pass their own source (a map, a
/// counter of calls, a failure) to [`super::Secrets::with_source`] and need no network.
pub trait SecretSource: Send + Sync {
    /// Reads the secret `id` now, bypassing any cache. Errors must name `id` and never hold
    /// the value.
    fn fetch<'a>(&'a self, id: &'a str) -> Fetch<'a>;
}

impl SecretSource for aws_sdk_secretsmanager::Client {
    /// `GetSecretValue` of the `AWSCURRENT` version; binary-only secrets are malformed.
    fn fetch<'a>(&'a self, id: &'a str) -> Fetch<'a> {
        Box::pin(async move {
            let output = self
                .get_secret_value()
                .secret_id(id)
                .send()
                .await
                .map_err(|error| SecretError::from_sdk(id, error))?;
            match output.secret_string {
                Some(value) => Ok(SecretString::from(value)),
                None => Err(SecretError::malformed(
                    id,
                    "it holds no SecretString (binary secrets are not supported)",
                )),
            }
        })
    }
}
