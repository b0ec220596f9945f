//! The demo's report: each delivery, the path it took, what became of it (observed), whether
//! that is what the script expects, and the totals.

use std::collections::BTreeMap;
use std::fmt;

use switchyard::idempotency::LedgerEntry;

use super::observe::{self, Evidence};
use super::script::{BURST, Delivery, Expect};
use crate::slack;
use crate::stack::LocalStack;

/// A delivery as sent, with the receiver's answer.
#[derive(Debug, Clone)]
pub struct Sent {
    /// What was sent.
    pub delivery: Delivery,
    /// The receiver's HTTP status.
    pub status: u16,
    /// Its body.
    pub body: String,
}

/// One line of the report.
#[derive(Debug, Clone)]
pub struct Line {
    /// The delivery's label.
    pub label: String,
    /// Receiver → deliverer → destination, as far as it went.
    pub path: String,
    /// What became of it, observed.
    pub outcome: String,
    /// Whether that is what the script expects; if not, why.
    pub mismatch: Option<String>,
}

/// The totals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    /// Webhooks sent.
    pub sent: usize,
    /// Refused by a receiver.
    pub rejected: usize,
    /// Messages Slack holds.
    pub slack_messages: usize,
    /// Contacts HubSpot holds.
    pub hubspot_contacts: usize,
    /// Copies acknowledged without a call.
    pub deduped: usize,
    /// Events retried after being throttled (a 429 from Slack, or the function's own rate
    /// limiter asking for a longer wait than it takes inline).
    pub retried_after_429: usize,
    /// 429 answers Slack gave.
    pub answers_429: usize,
    /// Dead-lettered, by class (the replayed one included).
    pub dead_lettered: BTreeMap<String, usize>,
    /// Replayed from a DLQ and delivered.
    pub replayed: usize,
    /// Accepted but neither delivered, deduped nor dead-lettered.
    pub lost: usize,
}

/// The whole report.
#[derive(Debug, Clone)]
pub struct Report {
    /// One line per delivery, in the order sent.
    pub lines: Vec<Line>,
    /// The totals.
    pub totals: Totals,
    /// Checks over several deliveries that failed (the burst's 429s, stray messages).
    pub problems: Vec<String>,
}

impl Report {
    /// Whether everything matched the script.
    pub fn passed(&self) -> bool {
        self.problems.is_empty() && self.lines.iter().all(|l| l.mismatch.is_none())
    }

    /// Every mismatch, one sentence each.
    pub fn mismatches(&self) -> Vec<String> {
        self.lines
            .iter()
            .filter_map(|l| l.mismatch.as_ref().map(|m| format!("{}: {m}", l.label)))
            .chain(self.problems.iter().cloned())
            .collect()
    }
}

/// Reads what became of every delivery and checks it against the script.
pub async fn build(
    stack: &LocalStack,
    sent: &[Sent],
    before_replay: &Evidence,
    after: &Evidence,
) -> Result<Report, String> {
    let posts = stack.slack.posted();
    let requests = stack.slack.requests();
    let mut totals = Totals {
        sent: sent.len(),
        slack_messages: posts.len(),
        hubspot_contacts: stack.hubspot.contacts().len(),
        answers_429: stack.slack.count(&slack::Outcome::RateLimited),
        ..Totals::default()
    };
    let mut lines = Vec::new();
    let mut problems = Vec::new();
    let mut burst_429 = 0;
    let mut expected_posts = 0;

    for s in sent {
        let d = &s.delivery;
        let mut line = Line {
            label: d.label.clone(),
            path: d.receiver.to_owned(),
            outcome: String::new(),
            mismatch: None,
        };
        if s.status != 200 {
            totals.rejected += 1;
            line.path.push_str(" ✗");
            line.outcome = format!("rejected at the door: {} {}", s.status, s.body.trim());
            let queued = after.lines_of(&d.event_id).len();
            line.mismatch = match d.expect {
                Expect::RejectedAtDoor(code) if code == s.status && queued == 0 => None,
                Expect::RejectedAtDoor(code) if code != s.status => {
                    Some(format!("expected {code}, answered {}", s.status))
                }
                Expect::RejectedAtDoor(_) => Some("refused, yet a deliverer saw it".into()),
                _ => Some(format!("the receiver refused it ({})", s.status)),
            };
            lines.push(line);
            continue;
        }
        let Some(deliverer) = d.deliverer else {
            line.outcome = format!("accepted ({})", s.status);
            line.mismatch = Some("accepted, but the script expects it refused".into());
            lines.push(line);
            continue;
        };
        let destination = if deliverer == "slack-notify" {
            "Slack"
        } else {
            "HubSpot"
        };
        line.path = format!("{} → {deliverer} → {destination}", d.receiver);
        let entry = observe::ledger_entry(stack, deliverer, d.source, &d.event_id).await?;
        let (outcome, mismatch) = match &d.expect {
            Expect::Delivered | Expect::DeliveredThroughRateLimit => {
                expected_posts += usize::from(deliverer == "slack-notify");
                let throttled = after.throttled_retries(&d.event_id);
                let refused = requests
                    .iter()
                    .filter(|r| r.outcome == slack::Outcome::RateLimited)
                    .filter(|r| r.text.as_deref().is_some_and(|t| t.contains(&d.marker)))
                    .count();
                if d.expect == Expect::DeliveredThroughRateLimit {
                    burst_429 += refused.max(throttled);
                }
                if refused.max(throttled) > 0 {
                    totals.retried_after_429 += 1;
                }
                let (found, what) = at_destination(stack, deliverer, &d.marker, &posts);
                let mut outcome = format!("delivered: {what}");
                if refused > 0 {
                    outcome.push_str(&format!(
                        ", after {refused}× 429 from Slack (waited its Retry-After)"
                    ));
                }
                let own_waits = throttled.saturating_sub(refused);
                if own_waits > 0 {
                    outcome.push_str(&format!(
                        ", after {own_waits} long wait(s) for its own rate limiter"
                    ));
                }
                outcome.push_str(&attempts(entry.as_ref()));
                let mismatch = if found != 1 {
                    Some(format!("{found} at the destination, expected 1"))
                } else if !completed(entry.as_ref()) {
                    Some("the ledger does not say delivered".into())
                } else {
                    None
                };
                (outcome, mismatch)
            }
            Expect::Deduped => {
                let duplicates = after.outcomes(&d.event_id, "duplicate");
                totals.deduped += usize::from(duplicates > 0);
                let (found, _) = at_destination(stack, deliverer, &d.marker, &posts);
                let outcome = format!(
                    "deduped: acknowledged without a call ({destination} holds {found} for it)"
                );
                let mismatch = if duplicates == 0 {
                    Some("no deliverer line says it was a duplicate".into())
                } else if found != 1 {
                    Some(format!("{found} at the destination, expected 1"))
                } else {
                    None
                };
                (outcome, mismatch)
            }
            Expect::DeadLettered { class, reason } => {
                let letter = after.dead_letter(deliverer, &d.event_id);
                if let Some(l) = letter {
                    *totals.dead_lettered.entry(l.class.clone()).or_default() += 1;
                }
                let (found, _) = at_destination(stack, deliverer, &d.marker, &posts);
                match letter {
                    Some(l) => (
                        format!("dead-lettered: {} — {}", l.class, l.reason),
                        (l.class != *class || !l.reason.contains(reason) || found != 0).then(|| {
                            format!("expected {class} with `{reason}` and nothing at the destination")
                        }),
                    ),
                    None => (
                        "not in the DLQ".to_owned(),
                        Some(format!("expected dead-lettered ({class}, {reason})")),
                    ),
                }
            }
            Expect::Replayed { class, reason } => {
                expected_posts += 1;
                let letter = before_replay.dead_letter(deliverer, &d.event_id);
                if let Some(l) = letter {
                    *totals.dead_lettered.entry(l.class.clone()).or_default() += 1;
                }
                let still = after.dead_letter(deliverer, &d.event_id).is_some();
                let (found, what) = at_destination(stack, deliverer, &d.marker, &posts);
                let tries = entry.as_ref().map_or(0, |e| e.attempts);
                let outcome = match letter {
                    Some(l) => format!(
                        "dead-lettered ({} — {}), replayed with the CLI, delivered: {what}{}",
                        l.class,
                        l.reason,
                        attempts(entry.as_ref())
                    ),
                    None => format!("never dead-lettered; {what}"),
                };
                let ok = letter.is_some_and(|l| l.class == *class && l.reason.contains(reason))
                    && !still
                    && found == 1
                    && completed(entry.as_ref())
                    && tries == 2;
                if ok {
                    totals.replayed += 1;
                }
                let mismatch = (!ok).then(|| {
                    format!(
                        "expected dead-lettered ({class}, {reason}), then delivered once after the replay with 2 attempts in the ledger (DLQ still holds it: {still}, at the destination: {found}, attempts: {tries})"
                    )
                });
                (outcome, mismatch)
            }
            Expect::RejectedAtDoor(code) => (
                "accepted".to_owned(),
                Some(format!("expected refused with {code}")),
            ),
        };
        let accounted = completed(entry.as_ref())
            || after.outcomes(&d.event_id, "duplicate") > 0
            || after.dead_letter(deliverer, &d.event_id).is_some();
        if !accounted {
            totals.lost += 1;
        }
        line.outcome = outcome;
        line.mismatch = mismatch;
        lines.push(line);
    }

    if burst_429 == 0 {
        problems.push(format!(
            "the burst of {BURST} issues met no 429: Slack's limit was not reached"
        ));
    }
    if posts.len() != expected_posts {
        problems.push(format!(
            "Slack holds {} messages, the script expects {expected_posts}",
            posts.len()
        ));
    }
    if totals.lost > 0 {
        problems.push(format!("{} accepted event(s) unaccounted for", totals.lost));
    }
    Ok(Report {
        lines,
        totals,
        problems,
    })
}

/// How many things at the destination carry `marker`, and a description of the first.
fn at_destination(
    stack: &LocalStack,
    deliverer: &str,
    marker: &str,
    posts: &[slack::Posted],
) -> (usize, String) {
    if deliverer == "slack-notify" {
        let mine: Vec<_> = posts
            .iter()
            .filter(|p| p.text.as_deref().is_some_and(|t| t.contains(marker)))
            .collect();
        let what = mine.first().map_or_else(
            || "no message".to_owned(),
            |p| format!("message {} in #{}", p.ts, p.channel),
        );
        (mine.len(), what)
    } else {
        match stack.hubspot.contact(marker) {
            Some(c) => (
                1,
                format!(
                    "contact {} ({}{})",
                    c.id,
                    c.email,
                    c.properties
                        .get("hubspot_owner_id")
                        .map_or_else(String::new, |o| format!(", owner {o}"))
                ),
            ),
            None => (0, "no contact".to_owned()),
        }
    }
}

fn completed(entry: Option<&LedgerEntry>) -> bool {
    entry.is_some_and(|e| e.status == switchyard::idempotency::Status::Completed)
}

fn attempts(entry: Option<&LedgerEntry>) -> String {
    match entry.map(|e| e.attempts) {
        Some(1) => "; 1 attempt".to_owned(),
        Some(n) => format!("; {n} attempts"),
        None => String::new(),
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "── 4. Report: what became of each webhook ─────────────────────────────────────"
        )?;
        for line in &self.lines {
            let mark = if line.mismatch.is_none() {
                "✓"
            } else {
                "✗"
            };
            writeln!(f, " {mark} {:<38} {}", line.label, line.path)?;
            writeln!(f, "     {}", line.outcome)?;
            if let Some(m) = &line.mismatch {
                writeln!(f, "     MISMATCH: {m}")?;
            }
        }
        let t = &self.totals;
        let dead: usize = t.dead_lettered.values().sum();
        let classes = t
            .dead_lettered
            .iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        writeln!(f)?;
        writeln!(f, " Totals")?;
        writeln!(
            f,
            "   webhooks sent        {:>3}  ({} accepted, {} rejected at the door)",
            t.sent,
            t.sent - t.rejected,
            t.rejected
        )?;
        writeln!(
            f,
            "   at the destinations  {:>3}  (Slack {} messages, HubSpot {} contact(s))",
            t.slack_messages + t.hubspot_contacts,
            t.slack_messages,
            t.hubspot_contacts
        )?;
        writeln!(f, "   deduped              {:>3}", t.deduped)?;
        writeln!(
            f,
            "   throttled, retried   {:>3}  ({} answer(s) 429 from Slack, honoured; the rest: waits for its own rate limiter)",
            t.retried_after_429, t.answers_429
        )?;
        writeln!(
            f,
            "   dead-lettered        {:>3}  ({classes}; {} replayed and delivered)",
            dead, t.replayed
        )?;
        writeln!(f, "   lost                 {:>3}", t.lost)?;
        writeln!(f)?;
        if self.passed() {
            writeln!(f, " Every outcome matches the script.")
        } else {
            writeln!(f, " MISMATCHES:")?;
            for m in self.mismatches() {
                writeln!(f, "   - {m}")?;
            }
            Ok(())
        }
    }
}
