//! The reconciliation of a chaos run: every event accounted for from the destinations (the
//! stand-ins), the dead-letter queues, the ledger and the deliverers' log lines.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::{Duration, Instant};

use super::{ChaosOptions, FUNCTION_TIMEOUT, Kill};
use crate::demo::observe::{Evidence, ledger_entry};
use crate::slack;
use crate::stack::LocalStack;

/// One event as sent.
#[derive(Debug, Clone)]
pub struct SentEvent {
    /// Its receiver.
    pub receiver: &'static str,
    /// Its deliverer.
    pub deliverer: &'static str,
    /// The envelope's `source`.
    pub source: &'static str,
    /// The envelope's `id`.
    pub event_id: String,
    /// What identifies it at the destination (part of the Slack text, the contact's e-mail).
    pub marker: String,
    /// Webhooks sent for it.
    pub copies: usize,
    /// Of those, answered 200.
    pub accepted: usize,
    /// The destination refuses it for good: it must be dead-lettered, never delivered.
    pub cannot_succeed: bool,
}

/// The table.
#[derive(Debug, Clone, Default)]
pub struct Reconciliation {
    /// Distinct events.
    pub events: usize,
    /// Webhooks sent (copies included).
    pub sent: usize,
    /// Webhooks a receiver refused (none expected).
    pub refused: usize,
    /// Events delivered exactly once (Slack: one message; HubSpot: the contact exists).
    pub delivered_once: usize,
    /// Of those, at Slack / HubSpot.
    pub delivered_slack: usize,
    /// Of those, at HubSpot.
    pub delivered_hubspot: usize,
    /// Copies acknowledged as duplicates (log lines `outcome=duplicate`).
    pub deduped: usize,
    /// Calls retried inside an invocation (log lines "call failed, retrying").
    pub retried_in_invocation: usize,
    /// Records handed back to SQS for a later try (log lines `outcome=retry`).
    pub handed_back: usize,
    /// Dead-lettered events by class.
    pub dead_lettered: BTreeMap<String, usize>,
    /// Events delivered more than once, by cause; each is marked `possible_duplicate` in the
    /// ledger.
    pub duplicates: BTreeMap<String, usize>,
    /// Extra Slack messages no lost answer explains, with the events.
    pub unexplained: Vec<String>,
    /// Events neither delivered nor dead-lettered.
    pub lost: Vec<String>,
    /// Faults the stand-ins answered, by kind.
    pub faults: BTreeMap<String, usize>,
    /// HubSpot contacts written more than once (idempotent upserts retried: not duplicates).
    pub contact_rewrites: usize,
    /// The deliverers killed mid-batch.
    pub kills: Vec<Kill>,
    /// What the run was given.
    pub description: String,
}

impl Reconciliation {
    /// Nothing lost, no unexplained duplicate, nothing refused.
    pub fn passed(&self) -> bool {
        self.lost.is_empty() && self.unexplained.is_empty() && self.refused == 0
    }
}

/// Whether one of `kills` came at most `invocation` after `posted`: the post may have been
/// made by the invocation that kill cut off, before it could record the delivery.
fn killed_within(kills: &[Instant], posted: Instant, invocation: Duration) -> bool {
    kills.iter().any(|&kill| {
        kill.checked_duration_since(posted)
            .is_some_and(|d| d <= invocation)
    })
}

/// Reconciles every event of the run.
pub async fn reconcile(
    stack: &LocalStack,
    events: &[SentEvent],
    options: &ChaosOptions,
    kills: Vec<Kill>,
) -> Result<Reconciliation, String> {
    let evidence = Evidence::gather(stack).await?;
    let slack_kills: Vec<Instant> = kills
        .iter()
        .filter(|k| k.function == "slack-notify")
        .map(|k| k.at)
        .collect();
    let posts = stack.slack.posted();
    // Slack messages per marker: the text is "... #N chaos-I (by chaos)".
    let mut by_marker: HashMap<String, Vec<&slack::Posted>> = HashMap::new();
    for post in &posts {
        if let Some(text) = &post.text
            && let Some(start) = text.find("chaos-")
        {
            let end = text[start..]
                .find(" (")
                .map_or(text.len(), |e| start + e + 2);
            by_marker
                .entry(text[start..end].to_owned())
                .or_default()
                .push(post);
        }
    }
    let contacts: HashMap<String, usize> = stack
        .hubspot
        .contacts()
        .into_iter()
        .map(|c| (c.email, c.writes))
        .collect();
    let dead: HashMap<&str, &str> = evidence
        .dead_letters
        .iter()
        .map(|d| (d.event_id.as_str(), d.class.as_str()))
        .collect();

    let r = &options.rates;
    let mut table = Reconciliation {
        events: events.len(),
        description: format!(
            "{} events (seed {}), {:.0} % sent twice; stand-ins answer {:.0} % 5xx, {:.0} % 429 (Retry-After {} s), {:.0} % hang, {:.0} % dropped, {:.0} % answer lost",
            events.len(),
            options.seed,
            options.redelivered * 100.0,
            r.server_error * 100.0,
            r.throttled * 100.0,
            r.retry_after,
            r.hang * 100.0,
            r.drop * 100.0,
            r.lose_answer * 100.0
        ),
        kills,
        ..Reconciliation::default()
    };
    for event in events {
        table.sent += event.copies;
        table.refused += event.copies - event.accepted;
        let lines = evidence.lines_of(&event.event_id);
        table.deduped += evidence.outcomes(&event.event_id, "duplicate");
        table.handed_back += evidence.outcomes(&event.event_id, "retry");
        table.retried_in_invocation += lines
            .iter()
            .filter(|l| l.message == "call failed, retrying")
            .count();
        if event.deliverer == "slack-notify" {
            let mine = by_marker.get(&event.marker).map_or(&[][..], Vec::as_slice);
            match mine.len() {
                0 => {}
                1 => {
                    table.delivered_once += 1;
                    table.delivered_slack += 1;
                    continue;
                }
                n => {
                    // A second message is explained only if the ledger marks the event as
                    // possibly delivered twice (a delivery after a call whose outcome was
                    // unknown) and shows the attempts that made the messages, and the
                    // stand-in shows why each earlier message was repeated: its answer was
                    // lost, or slack-notify was killed at most one invocation's time after it
                    // went out (the abandoned attempt had posted, not yet recorded).
                    let earlier = &mine[..n - 1];
                    let lost_answers = earlier.iter().filter(|p| p.answer_lost).count();
                    let killed_after = earlier
                        .iter()
                        .filter(|p| {
                            !p.answer_lost && killed_within(&slack_kills, p.at, FUNCTION_TIMEOUT)
                        })
                        .count();
                    let entry =
                        ledger_entry(stack, event.deliverer, event.source, &event.event_id).await?;
                    let (attempts, marked) = entry
                        .as_ref()
                        .map_or((0, false), |e| (e.attempts, e.possible_duplicate));
                    let cause = if lost_answers == n - 1 {
                        Some("answer lost (Slack has no idempotency key)")
                    } else if lost_answers + killed_after == n - 1 {
                        Some("deliverer killed after posting")
                    } else {
                        None
                    };
                    match cause {
                        Some(cause) if marked && attempts >= n as u64 => {
                            *table.duplicates.entry(cause.into()).or_default() += 1;
                        }
                        _ => table.unexplained.push(format!(
                            "{}: {n} messages, {lost_answers} lost answers, {killed_after} before a kill, {attempts} attempts, ledger mark possible_duplicate={marked}",
                            event.event_id
                        )),
                    }
                    continue;
                }
            }
        } else if event.cannot_succeed {
            match dead.get(event.event_id.as_str()) {
                Some(class) => *table.dead_lettered.entry((*class).to_owned()).or_default() += 1,
                None => table.lost.push(format!(
                    "{} (refused by HubSpot, yet not in the DLQ)",
                    event.event_id
                )),
            }
            continue;
        } else if let Some(writes) = contacts.get(&event.marker) {
            table.delivered_once += 1;
            table.delivered_hubspot += 1;
            if *writes > 1 {
                table.contact_rewrites += 1;
            }
            continue;
        }
        match dead.get(event.event_id.as_str()) {
            Some(class) => *table.dead_lettered.entry((*class).to_owned()).or_default() += 1,
            None => table.lost.push(event.event_id.clone()),
        }
    }
    for (outcome, count) in stack.slack.counts() {
        let name = match outcome {
            slack::Outcome::Posted | slack::Outcome::Error(_) => continue,
            other => format!("slack {other:?}"),
        };
        *table.faults.entry(name).or_default() += count;
    }
    for (outcome, count) in stack.hubspot.counts() {
        use crate::hubspot::Outcome as H;
        let name = match outcome {
            H::Status(_) | H::RateLimited | H::Hung | H::Dropped | H::AnswerLost => {
                format!("hubspot {outcome:?}")
            }
            _ => continue,
        };
        *table.faults.entry(name).or_default() += count;
    }
    Ok(table)
}

impl fmt::Display for Reconciliation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "── Chaos reconciliation ─────────────────────────────────────────────"
        )?;
        writeln!(f, " {}", self.description)?;
        writeln!(
            f,
            "   webhooks sent            {:>6}  ({} refused by a receiver)",
            self.sent, self.refused
        )?;
        writeln!(
            f,
            "   delivered exactly once   {:>6}  (Slack {}, HubSpot {})",
            self.delivered_once, self.delivered_slack, self.delivered_hubspot
        )?;
        writeln!(f, "   deduped copies           {:>6}", self.deduped)?;
        writeln!(
            f,
            "   calls retried in place   {:>6}",
            self.retried_in_invocation
        )?;
        writeln!(f, "   records handed back      {:>6}", self.handed_back)?;
        let dead: usize = self.dead_lettered.values().sum();
        writeln!(
            f,
            "   dead-lettered            {:>6}  {:?}",
            dead, self.dead_lettered
        )?;
        let dups: usize = self.duplicates.values().sum();
        writeln!(
            f,
            "   delivered more than once {:>6}  {:?}",
            dups, self.duplicates
        )?;
        writeln!(
            f,
            "   unexplained duplicates   {:>6}",
            self.unexplained.len()
        )?;
        writeln!(f, "   lost                     {:>6}", self.lost.len())?;
        writeln!(
            f,
            "   contacts rewritten       {:>6}  (idempotent upserts retried after a lost answer or timeout)",
            self.contact_rewrites
        )?;
        writeln!(f, "   faults answered          {:?}", self.faults)?;
        writeln!(
            f,
            "   deliverers killed        {:>6}  (mid-batch, SIGKILL; a new environment each time)",
            self.kills.len()
        )?;
        for kill in &self.kills {
            writeln!(f, "     {}", kill.line)?;
        }
        for line in self.unexplained.iter().take(10) {
            writeln!(f, "   UNEXPLAINED: {line}")?;
        }
        for id in self.lost.iter().take(10) {
            writeln!(f, "   LOST: {id}")?;
        }
        if self.passed() {
            writeln!(f, " Nothing lost; every duplicate explained.")
        } else {
            writeln!(
                f,
                " FAILED: events lost, refused, or duplicated without a lost answer."
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_post_is_tied_to_a_kill_that_came_within_one_invocation_after_it() {
        let posted = Instant::now();
        let invocation = Duration::from_secs(15);
        let after = |s: u64| posted + Duration::from_secs(s);
        assert!(killed_within(&[after(3)], posted, invocation));
        assert!(killed_within(&[after(40), after(15)], posted, invocation));
        assert!(!killed_within(&[after(16)], posted, invocation), "too late");
        assert!(!killed_within(&[], posted, invocation), "no kill");
        let before = posted.checked_sub(Duration::from_secs(1));
        if let Some(before) = before {
            assert!(
                !killed_within(&[before], posted, invocation),
                "killed before the post"
            );
        }
    }
}
