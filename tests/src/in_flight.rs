//! Requests a stand-in is handling right now: the chaos run kills a deliverer while one of its
//! calls is in flight, so the kill lands in the middle of a batch, not between batches.

use std::sync::atomic::{AtomicUsize, Ordering};

/// A count of requests being handled.
#[derive(Debug, Default)]
pub struct InFlight(AtomicUsize);

/// One request being handled; dropping it (the answer sent, or the client gone and the
/// handler dropped) ends it.
#[derive(Debug)]
pub struct Handling<'a>(&'a InFlight);

impl InFlight {
    /// A request starts.
    pub fn enter(&self) -> Handling<'_> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Handling(self)
    }

    /// Requests being handled now.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Drop for Handling<'_> {
    fn drop(&mut self) {
        self.0.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_counts_until_its_handling_ends() {
        let requests = InFlight::default();
        let first = requests.enter();
        let second = requests.enter();
        assert_eq!(requests.count(), 2);
        drop(first);
        assert_eq!(requests.count(), 1);
        drop(second);
        assert_eq!(requests.count(), 0);
    }
}
