//! A sampled metric's values between two flushes, bounded in memory.
//!
//! # Why a reservoir
//!
//! CloudWatch computes percentiles from the values an EMF document lists, so the values
//! themselves must be written, not only a sum. A handle that is flushed rarely (a connector
//! timing each of 10,000 records in one batch, or a long-lived tool that never flushes) would
//! otherwise keep every sample in memory and write them all at the flush. EMF has no way to say
//! "this value occurred n times" (PutMetricData's `Counts` does not exist in EMF), so an
//! aggregate such as a histogram cannot be written without expanding it again.
//!
//! So at most [`MAX_SAMPLES_PER_METRIC`] values are kept per metric and flush. Up to the cap
//! every value is kept, in the order recorded. Beyond it the kept values are a uniform random
//! sample of everything recorded (reservoir sampling, Vitter's algorithm R): each sample has the
//! same chance to be kept, so averages and percentiles stay unbiased estimates. The exact
//! minimum and maximum are always written (they replace the sample's own extremes), because
//! alarms on `Maximum` must not miss the one slow call that a sample would likely drop. What
//! CloudWatch reports as `SampleCount` and `Sum` is then of the kept values only; the number of
//! samples not kept is reported next to it (see
//! [`DROPPED_SUFFIX`](super::DROPPED_SUFFIX)).

/// At most this many values of one sampled metric are kept between two flushes (5 EMF
/// documents of [`MAX_VALUES_PER_METRIC`](super::MAX_VALUES_PER_METRIC) values, about 4 KB in
/// memory). A receiver records one latency per request and flushes per request, and the batch
/// runner one per batch, so the kit itself never reaches it; a connector timing every record
/// of a large batch does.
pub const MAX_SAMPLES_PER_METRIC: usize = 500;

/// The values of one sampled metric since the last flush.
#[derive(Debug)]
pub(super) struct Samples {
    kept: Vec<f64>,
    cap: usize,
    /// How many values were recorded, kept or not.
    seen: u64,
    min: f64,
    max: f64,
    rng: fastrand::Rng,
}

impl Samples {
    /// An empty sample holding at most [`MAX_SAMPLES_PER_METRIC`] values.
    pub(super) fn new() -> Self {
        Self::with_rng(MAX_SAMPLES_PER_METRIC, fastrand::Rng::new())
    }

    fn with_rng(cap: usize, rng: fastrand::Rng) -> Self {
        Self {
            kept: Vec::new(),
            // Two slots at least, so the minimum and the maximum both fit.
            cap: cap.max(2),
            seen: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            rng,
        }
    }

    /// Records one value.
    pub(super) fn record(&mut self, value: f64) {
        self.seen = self.seen.saturating_add(1);
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        if self.kept.len() < self.cap {
            self.kept.push(value);
            return;
        }
        // Algorithm R: the n-th value replaces a kept one with probability cap / n.
        let slot = self.rng.u64(0..self.seen);
        if let Some(kept) = usize::try_from(slot)
            .ok()
            .and_then(|i| self.kept.get_mut(i))
        {
            *kept = value;
        }
    }

    /// The values to write, and how many recorded values are not among them.
    ///
    /// Every value in recording order while under the cap; otherwise the sample, with its
    /// smallest and largest values replaced by the exact minimum and maximum.
    pub(super) fn into_values(self) -> (Vec<f64>, u64) {
        let Samples {
            mut kept,
            seen,
            min,
            max,
            ..
        } = self;
        let dropped = seen.saturating_sub(kept.len() as u64);
        if dropped > 0
            && let Some(lowest) = position_of(&kept, None, |a, b| a < b)
        {
            kept[lowest] = min;
            if let Some(highest) = position_of(&kept, Some(lowest), |a, b| a > b) {
                kept[highest] = max;
            }
        }
        (kept, dropped)
    }
}

/// The index of the value that `better` prefers over all others, skipping index `skip`.
fn position_of(
    values: &[f64],
    skip: Option<usize>,
    better: impl Fn(f64, f64) -> bool,
) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (index, value) in values.iter().enumerate() {
        if Some(index) == skip {
            continue;
        }
        if best.is_none_or(|b| better(*value, values[b])) {
            best = Some(index);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeded(cap: usize) -> Samples {
        Samples::with_rng(cap, fastrand::Rng::with_seed(7))
    }

    #[test]
    fn under_the_cap_every_value_is_kept_in_order() {
        let mut samples = seeded(5);
        for value in [3.0, 1.0, 4.0, 1.0, 5.0] {
            samples.record(value);
        }
        assert_eq!(samples.into_values(), (vec![3.0, 1.0, 4.0, 1.0, 5.0], 0));
    }

    #[test]
    fn ten_thousand_values_stay_bounded_and_representative() {
        let mut samples = seeded(MAX_SAMPLES_PER_METRIC);
        for value in 1..=10_000 {
            samples.record(f64::from(value));
        }
        let (mut values, dropped) = samples.into_values();
        assert_eq!(values.len(), MAX_SAMPLES_PER_METRIC);
        assert_eq!(dropped, 10_000 - MAX_SAMPLES_PER_METRIC as u64);
        values.sort_by(f64::total_cmp);
        assert_eq!(values.first(), Some(&1.0), "the exact minimum is kept");
        assert_eq!(values.last(), Some(&10_000.0), "the exact maximum is kept");
        assert!(
            values.windows(2).all(|w| w[0] < w[1]),
            "each recorded value is kept at most once"
        );
        assert!(
            values
                .iter()
                .all(|v| v.fract() == 0.0 && (1.0..=10_000.0).contains(v))
        );
        // A uniform sample of 1..=10000: its median and deciles sit near the true ones (fixed
        // seed, so this is deterministic; the bounds are several standard errors wide).
        let quantile = |q: f64| values[((values.len() - 1) as f64 * q) as usize];
        assert!(
            (4_000.0..=6_000.0).contains(&quantile(0.5)),
            "{}",
            quantile(0.5)
        );
        assert!(
            (500.0..=1_500.0).contains(&quantile(0.1)),
            "{}",
            quantile(0.1)
        );
        assert!(
            (8_500.0..=9_500.0).contains(&quantile(0.9)),
            "{}",
            quantile(0.9)
        );
    }

    #[test]
    fn the_extremes_survive_even_when_the_sample_missed_them() {
        // The maximum comes first and would almost surely be replaced by later values.
        let mut samples = seeded(4);
        samples.record(900.0);
        for _ in 0..1_000 {
            samples.record(10.0);
        }
        samples.record(0.5);
        let (mut values, dropped) = samples.into_values();
        values.sort_by(f64::total_cmp);
        assert_eq!(values, [0.5, 10.0, 10.0, 900.0]);
        assert_eq!(dropped, 1_002 - 4);
    }
}
