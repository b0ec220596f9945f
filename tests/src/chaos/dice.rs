//! Faults at rates: what the stand-ins answer in a chaos run instead of a queued fault — a
//! share of requests get a 5xx, a 429 with `Retry-After`, no answer until the client's timeout,
//! a dropped connection, or "done, but the answer was lost". Seeded, so a run can be repeated.

use std::sync::Mutex;

/// The share of requests (0.0–1.0) that get each fault; the rest are served normally.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChaosRates {
    /// A 500/502/503/504.
    pub server_error: f64,
    /// A 429 with `Retry-After: retry_after`.
    pub throttled: f64,
    /// No answer (the client's timeout fires).
    pub hang: f64,
    /// The connection closed without an answer, before anything was done.
    pub drop: f64,
    /// Done, then the connection closed: the client cannot know it worked.
    pub lose_answer: f64,
    /// `Retry-After` of the 429s, in seconds.
    pub retry_after: u32,
}

impl ChaosRates {
    /// The rates: 30 % 5xx, 10 % 429, 5 % hangs, 2 % dropped connections, 2 % lost
    /// answers.
    pub fn standard() -> Self {
        Self {
            server_error: 0.30,
            throttled: 0.10,
            hang: 0.05,
            drop: 0.02,
            lose_answer: 0.02,
            retry_after: 1,
        }
    }

    /// Whether the shares make sense: each in 0–1, together at most 1.
    pub fn validate(&self) -> Result<(), String> {
        let all = [
            self.server_error,
            self.throttled,
            self.hang,
            self.drop,
            self.lose_answer,
        ];
        if all.iter().any(|r| !(0.0..=1.0).contains(r)) {
            return Err("every chaos rate is a share between 0 and 1".into());
        }
        if all.iter().sum::<f64>() > 1.0 {
            return Err("the chaos rates add up to more than 1".into());
        }
        Ok(())
    }
}

/// What one request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Roll {
    /// This 5xx status.
    ServerError(u16),
    /// 429 with this `Retry-After`.
    Throttled(u32),
    /// No answer.
    Hang,
    /// Connection dropped, nothing done.
    Drop,
    /// Done, answer lost.
    LoseAnswer,
}

/// Rolls faults at [`ChaosRates`], from a seed.
#[derive(Debug)]
pub struct Dice {
    rates: ChaosRates,
    rng: Mutex<fastrand::Rng>,
}

impl Dice {
    /// Dice for `rates`, seeded.
    pub fn new(rates: ChaosRates, seed: u64) -> Self {
        Self {
            rates,
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
        }
    }

    /// The fault for the next request, if any.
    pub fn roll(&self) -> Option<Roll> {
        let (x, pick) = {
            let mut rng = self.rng.lock().expect("lock");
            (rng.f64(), rng.usize(..4))
        };
        let r = &self.rates;
        let mut edge = r.server_error;
        if x < edge {
            return Some(Roll::ServerError([500, 502, 503, 504][pick]));
        }
        edge += r.throttled;
        if x < edge {
            return Some(Roll::Throttled(r.retry_after));
        }
        edge += r.hang;
        if x < edge {
            return Some(Roll::Hang);
        }
        edge += r.drop;
        if x < edge {
            return Some(Roll::Drop);
        }
        edge += r.lose_answer;
        (x < edge).then_some(Roll::LoseAnswer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_come_at_their_rates() {
        let dice = Dice::new(ChaosRates::standard(), 7);
        let n = 100_000;
        let mut counts = [0usize; 6];
        for _ in 0..n {
            let i = match dice.roll() {
                Some(Roll::ServerError(s)) => {
                    assert!((500..=504).contains(&s));
                    0
                }
                Some(Roll::Throttled(r)) => {
                    assert_eq!(r, 1);
                    1
                }
                Some(Roll::Hang) => 2,
                Some(Roll::Drop) => 3,
                Some(Roll::LoseAnswer) => 4,
                None => 5,
            };
            counts[i] += 1;
        }
        let share = |i: usize| counts[i] as f64 / n as f64;
        for (i, want) in [
            (0, 0.30),
            (1, 0.10),
            (2, 0.05),
            (3, 0.02),
            (4, 0.02),
            (5, 0.51),
        ] {
            assert!(
                (share(i) - want).abs() < 0.01,
                "{i}: {} vs {want}",
                share(i)
            );
        }
    }

    #[test]
    fn bad_rates_are_refused() {
        let mut rates = ChaosRates::standard();
        rates.hang = 1.5;
        assert!(rates.validate().is_err());
        rates.hang = 0.9;
        assert!(rates.validate().unwrap_err().contains("more than 1"));
        assert!(ChaosRates::standard().validate().is_ok());
    }
}
