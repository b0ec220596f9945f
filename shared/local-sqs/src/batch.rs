//! Gathering one batch the way Lambda's SQS poller does.
//!
//! - Without a batching window, the first receive that returns anything is the batch (up to
//!   10 records; `BatchSize` over 10 needs a window, see [`crate::config`]).
//! - With a window, receiving goes on after the first record until the batch holds
//!   `batch_size` records or the window has passed since that first record.
//!
//! Long polls are never cut short: a receive whose answer is dropped has still taken its
//! messages off the queue until their visibility timeout. So each receive inside the window
//! waits at most the whole seconds left (SQS counts `WaitTimeSeconds` in seconds), and under a
//! second left the poller short-polls and pauses [`SHORT_POLL_PAUSE`] between empty answers;
//! the window therefore closes within about that pause of its end.
//!
//! A stop request ends gathering at once; what was already received is handed back
//! ([`Gathered::stopped`]) for the caller to release.

use std::time::Duration;

use aws_sdk_sqs::types::Message;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::receive::{MAX_MESSAGES, MAX_WAIT, MessageSource};
use crate::sqs_error::SqsError;

/// Pause between empty short polls in the last second of a batching window.
pub const SHORT_POLL_PAUSE: Duration = Duration::from_millis(100);

/// The batch gathered, or what was received before a stop.
#[derive(Debug, Default)]
pub struct Gathered {
    /// The messages, in the order they were received.
    pub messages: Vec<Message>,
    /// Gathering was stopped: `messages` are not to be invoked.
    pub stopped: bool,
}

/// Receives one batch of at most `batch_size` messages, gathering for `window` after the first.
///
/// Waits (in long polls) until at least one message arrives or `stop` is cancelled. A receive
/// error before the first message is returned; after it, the batch so far is returned (the
/// records are already in flight and are invoked rather than left to time out).
pub async fn gather<S: MessageSource>(
    source: &S,
    batch_size: u32,
    window: Duration,
    stop: &CancellationToken,
) -> Result<Gathered, SqsError> {
    let batch_size = usize::try_from(batch_size.max(1)).unwrap_or(usize::MAX);
    let mut messages: Vec<Message> = Vec::new();
    let mut deadline: Option<Instant> = None;
    loop {
        let wait = match deadline {
            None => MAX_WAIT,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                Duration::from_secs(left.as_secs()).min(MAX_WAIT)
            }
        };
        let want = u32::try_from(batch_size - messages.len())
            .unwrap_or(MAX_MESSAGES)
            .min(MAX_MESSAGES);
        let received = tokio::select! {
            biased;
            () = stop.cancelled() => return Ok(Gathered { messages, stopped: true }),
            received = source.receive(want, wait) => received,
        };
        let received = match received {
            Ok(received) => received,
            Err(e) if messages.is_empty() => return Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "receive failed while gathering a batch; invoking what was gathered");
                break;
            }
        };
        let got_some = !received.is_empty();
        messages.extend(received);
        if messages.is_empty() {
            continue;
        }
        if deadline.is_none() {
            if window.is_zero() {
                break;
            }
            deadline = Some(Instant::now() + window);
        }
        if messages.len() >= batch_size {
            break;
        }
        if !got_some && wait.is_zero() {
            let pause = deadline
                .map(|d| d.saturating_duration_since(Instant::now()))
                .unwrap_or_default()
                .min(SHORT_POLL_PAUSE);
            tokio::select! {
                biased;
                () = stop.cancelled() => return Ok(Gathered { messages, stopped: true }),
                () = tokio::time::sleep(pause) => {}
            }
        }
    }
    Ok(Gathered {
        messages,
        stopped: false,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use super::*;

    /// A queue that releases scripted messages at scripted (virtual) times, and records every
    /// receive call. Long polls wait, in virtual time, as SQS's do.
    struct ScriptedQueue {
        start: Instant,
        /// (offset from start, message id), in order of offset.
        pending: Mutex<VecDeque<(Duration, String)>>,
        calls: Mutex<Vec<(u32, Duration)>>,
        fail: Mutex<Vec<bool>>,
    }

    impl ScriptedQueue {
        fn new(script: &[(u64, &str)]) -> Self {
            Self {
                start: Instant::now(),
                pending: Mutex::new(
                    script
                        .iter()
                        .map(|(ms, id)| (Duration::from_millis(*ms), id.to_string()))
                        .collect(),
                ),
                calls: Mutex::new(Vec::new()),
                fail: Mutex::new(Vec::new()),
            }
        }

        fn take_due(&self, max: u32) -> Vec<Message> {
            let now = self.start.elapsed();
            let mut pending = self.pending.lock().unwrap();
            let mut out = Vec::new();
            while out.len() < max as usize && pending.front().is_some_and(|(at, _)| *at <= now) {
                let (_, id) = pending.pop_front().unwrap();
                out.push(Message::builder().message_id(id).build());
            }
            out
        }
    }

    impl MessageSource for ScriptedQueue {
        async fn receive(&self, max: u32, wait: Duration) -> Result<Vec<Message>, SqsError> {
            self.calls.lock().unwrap().push((max, wait));
            if self.fail.lock().unwrap().pop().unwrap_or(false) {
                return Err(SqsError::unexpected(
                    "ReceiveMessage",
                    "q",
                    "scripted failure",
                ));
            }
            let until = Instant::now() + wait;
            loop {
                let got = self.take_due(max);
                if !got.is_empty() || Instant::now() >= until {
                    return Ok(got);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }

    fn ids(g: &Gathered) -> Vec<&str> {
        g.messages.iter().filter_map(|m| m.message_id()).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_window_the_first_answer_is_the_batch() {
        let q = ScriptedQueue::new(&[(0, "a"), (0, "b"), (500, "c")]);
        let g = gather(&q, 10, Duration::ZERO, &CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(ids(&g), ["a", "b"]);
        assert!(!g.stopped);
        assert_eq!(q.calls.lock().unwrap()[0], (10, MAX_WAIT));
    }

    #[tokio::test(start_paused = true)]
    async fn the_batch_size_caps_what_is_asked_for() {
        let q = ScriptedQueue::new(&[(0, "a"), (0, "b"), (0, "c")]);
        let g = gather(&q, 2, Duration::ZERO, &CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(ids(&g), ["a", "b"]);
        assert_eq!(q.calls.lock().unwrap()[0].0, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_window_gathers_slow_records_until_it_closes() {
        // One record every 700 ms; a 2 s window from the first (at 1 s) takes those up to 3 s.
        let q = ScriptedQueue::new(&[
            (1000, "a"),
            (1700, "b"),
            (2400, "c"),
            (3100, "d"),
            (3800, "e"),
        ]);
        let started = Instant::now();
        let g = gather(&q, 100, Duration::from_secs(2), &CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(ids(&g), ["a", "b", "c"]);
        let took = started.elapsed();
        assert!(took >= Duration::from_secs(3), "closed early: {took:?}");
        assert!(
            took <= Duration::from_secs(3) + SHORT_POLL_PAUSE + Duration::from_millis(20),
            "closed late: {took:?}"
        );
        // Receives inside the window never wait past it.
        for (_, wait) in q.calls.lock().unwrap().iter().skip(1) {
            assert!(*wait <= Duration::from_secs(2));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_batch_closes_the_window_early() {
        let q = ScriptedQueue::new(&[(0, "a"), (100, "b"), (200, "c")]);
        let started = Instant::now();
        let g = gather(&q, 3, Duration::from_secs(60), &CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(ids(&g), ["a", "b", "c"]);
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_hands_back_what_was_received() {
        let q = ScriptedQueue::new(&[(0, "a")]);
        let stop = CancellationToken::new();
        let stopper = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            stopper.cancel();
        });
        let g = gather(&q, 10, Duration::from_secs(5), &stop).await.unwrap();
        assert!(g.stopped);
        assert_eq!(ids(&g), ["a"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_while_waiting_for_the_first_record_returns_nothing() {
        let q = ScriptedQueue::new(&[]);
        let stop = CancellationToken::new();
        stop.cancel();
        let g = gather(&q, 10, Duration::ZERO, &stop).await.unwrap();
        assert!(g.stopped);
        assert!(g.messages.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_receive_error_before_the_first_record_is_returned() {
        let q = ScriptedQueue::new(&[(0, "a")]);
        q.fail.lock().unwrap().push(true);
        let err = gather(&q, 10, Duration::ZERO, &CancellationToken::new())
            .await
            .unwrap_err();
        assert_eq!(err.operation, "ReceiveMessage");
    }

    #[tokio::test(start_paused = true)]
    async fn a_receive_error_after_the_first_record_invokes_what_was_gathered() {
        let q = ScriptedQueue::new(&[(0, "a"), (1000, "b")]);
        // The first receive succeeds, the second fails (pop takes from the end).
        q.fail.lock().unwrap().extend([true, false]);
        let g = gather(&q, 10, Duration::from_secs(5), &CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(ids(&g), ["a"]);
        assert!(!g.stopped);
        assert_eq!(q.calls.lock().unwrap().len(), 2);
    }
}
