//! The rate-limit key of a call: which of a keyed limiter's buckets it draws from (a Slack
//! channel, a HubSpot portal), set around the call by the code that makes it.

use std::future::Future;
use std::sync::Arc;

tokio::task_local! {
    static RATE_KEY: Arc<str>;
}

/// Runs `future` with `key` as the rate-limit key of the calls it makes: a
/// [`RateLimiter::per_key`](super::RateLimiter::per_key) on their destination draws from
/// `key`'s bucket.
///
/// Why a scope rather than a header or an argument: a policy sees a call through
/// [`CallInfo`](crate::http::CallInfo), which deliberately carries neither the URL nor the
/// headers (they may hold tokens), and [`HttpClient::send`](crate::http::HttpClient::send)'s
/// signature stays the same for every connector. The key lives as long as the future: wrap the
/// one call (or the few calls) that go to that key.
///
/// ```
/// # async fn post(http: &switchyard::http::HttpClient, slack: &switchyard::http::Destination,
/// #               channel: &str, body: serde_json::Value) -> Result<(), switchyard::http::HttpError> {
/// use reqwest::Method;
/// use switchyard::http::with_rate_key;
///
/// let request = http.request(Method::POST, slack, "chat.postMessage")?.json(&body);
/// with_rate_key(channel, http.send(slack, request)).await?;
/// # Ok(()) }
/// ```
pub async fn with_rate_key<F: Future>(key: impl Into<Arc<str>>, future: F) -> F::Output {
    RATE_KEY.scope(key.into(), future).await
}

/// The key set by the innermost [`with_rate_key`] around the current task's code, if any.
pub fn current_rate_key() -> Option<Arc<str>> {
    RATE_KEY.try_with(Arc::clone).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_key_is_seen_inside_its_scope_only() {
        assert_eq!(current_rate_key(), None);
        let seen = with_rate_key("C1", async {
            tokio::task::yield_now().await;
            let inner = with_rate_key(String::from("C2"), async { current_rate_key() }).await;
            (current_rate_key(), inner)
        })
        .await;
        assert_eq!(seen, (Some(Arc::from("C1")), Some(Arc::from("C2"))));
        assert_eq!(current_rate_key(), None);
    }
}
