//! The handler: a batch of events → the mapping → owners resolved → one batch upsert per SQS
//! batch → one outcome per record.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures::future::join_all;
use reqwest::Method;
use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use switchyard::batch::{BatchHandler, Outcome, Record};
use switchyard::http::{CircuitBreaker, Destination, HttpClient, HttpError, RateLimiter};
use switchyard::invocation::Invocation;
use switchyard::lookup::{LookupCache, OnUnresolved};
use switchyard::mapping::Mapping;
use switchyard::oauth::{TokenEndpoint, TokenProvider};
use switchyard::secrets::Secrets;
use switchyard::telemetry::metrics::Metrics;
use switchyard::{Classify, Error};

use crate::config::{BASE_URL_ENV, Config, DEFAULT_BASE_URL};
use crate::contact::{Contact, schema};
use crate::owners::{OWNER_BY_EMAIL, Owners};
use crate::upsert::{self, InputRejection, InputResult, MAX_INPUTS, UpsertInput, UpsertReply};

/// The circuit breaker's variable (see `switchyard::http::circuit_breaker`).
pub const CIRCUIT_BREAKER_ENV: &str = "CIRCUIT_BREAKER";

/// Why the function could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The function's own configuration.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The mapping file.
    #[error(transparent)]
    Mapping(#[from] switchyard::mapping::LoadError),
    /// The HubSpot destination (base URL) or HTTP client.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The circuit breaker's configuration.
    #[error(transparent)]
    CircuitBreaker(#[from] switchyard::http::circuit_breaker::CircuitBreakerEnvError),
    /// The owner cache's configuration.
    #[error(transparent)]
    Lookup(#[from] switchyard::lookup::LookupConfigError),
}

/// The `hubspot-contacts` handler, built once at cold start.
pub struct HubSpotContacts {
    http: HttpClient,
    hubspot: Destination,
    tokens: TokenProvider,
    mapping: Mapping,
    owners: Owners,
}

/// A record ready to write: its position in the batch, its contact, and a note for the ledger.
struct Prepared {
    index: usize,
    contact: Contact,
    note: Option<String>,
}

impl HubSpotContacts {
    /// The handler the environment describes (see [`crate::config`]). The token is fetched now,
    /// so a bad secret shows in the logs before the first batch; that failure is not fatal:
    /// records are then handed back as failures of the function until it is fixed.
    ///
    /// # Errors
    /// Invalid configuration or mapping (named in the message): the function does not start.
    pub async fn from_env(
        aws: &aws_config::SdkConfig,
        metrics: &Metrics,
    ) -> Result<Self, StartError> {
        let config = Config::from_env()?;
        let mapping = Mapping::from_env(crate::MAPPING, "mapping.toml", &schema())?;
        let base = std::env::var(BASE_URL_ENV)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
        let breaker = switchyard::http::CircuitBreakerConfig::from_env(CIRCUIT_BREAKER_ENV)?;
        let owners = LookupCache::from_env(OWNER_BY_EMAIL)?.with_metrics(metrics.clone());
        let handler = Self::new(
            config,
            mapping,
            Secrets::from_sdk_config(aws),
            &base,
            breaker.map(|b| CircuitBreaker::new(b).with_metrics(metrics.clone())),
            owners,
        )?;
        if let Err(e) = handler.tokens.token().await {
            tracing::error!(
                error = %e,
                "no HubSpot token yet; records will be handed back until there is one"
            );
        }
        tracing::info!(
            rules = handler.mapping.rule_names().count(),
            mapping = handler.mapping.file(),
            "hubspot-contacts ready"
        );
        Ok(handler)
    }

    /// A handler from parts (tests, benchmarks).
    ///
    /// # Errors
    /// An unusable base URL.
    pub fn new(
        config: Config,
        mapping: Mapping,
        secrets: Secrets,
        base_url: &str,
        breaker: Option<CircuitBreaker>,
        owners: LookupCache<String, String>,
    ) -> Result<Self, StartError> {
        let http = HttpClient::from_env(crate::INTEGRATION)?;
        // The breaker is outermost: while the circuit is open a call is refused at once,
        // without spending a slot of the rate or waiting for one.
        let mut hubspot = Destination::new("hubspot", base_url)?;
        if let Some(breaker) = breaker {
            hubspot = hubspot.with_policy(Arc::new(breaker));
        }
        let hubspot = hubspot.with_policy(Arc::new(RateLimiter::new(config.rate_limit)));
        // Token requests neither wait for the CRM's rate nor trip its breaker.
        let oauth = Destination::new("hubspot-oauth", base_url)?;
        let tokens = TokenProvider::new(
            http.clone(),
            secrets,
            config.secret_id.clone(),
            TokenEndpoint::new(oauth, "oauth/v1/token"),
        );
        Ok(Self {
            http,
            hubspot,
            tokens,
            mapping,
            owners: Owners::new(owners),
        })
    }

    /// Maps one record: `Ok(None)` when no rule selects its event.
    fn map(&self, record: &Record<'_>) -> Result<Option<Contact>, Error> {
        let event = record.envelope()?;
        match self.mapping.apply(event)? {
            None => Ok(None),
            Some(mapped) => {
                // What the rule made, for an operator debugging the mapping: the fields its
                // rule marks personal (`mask` in mapping.toml) masked. Written only at DEBUG.
                // A batch handler runs outside the runner's per-record span: the ids are here.
                tracing::debug!(
                    message_id = record.message_id().unwrap_or("-"),
                    event_id = record.event_id().unwrap_or("-"),
                    rule = mapped.rule(),
                    fields = %mapped.for_log(),
                    "mapped"
                );
                Contact::from_mapped(mapped).map(Some)
            }
        }
    }

    /// Resolves the contact's owner, if it names one; the note says why it stays unset.
    async fn resolve_owner(&self, contact: &mut Contact) -> Result<Option<String>, Error> {
        let Some(email) = contact.owner_email.clone() else {
            return Ok(None);
        };
        let resolution = self
            .owners
            .resolve(&email, &self.http, &self.hubspot, &self.tokens)
            .await?;
        let policy = if contact.owner_required {
            OnUnresolved::Fail
        } else {
            OnUnresolved::LeaveUnset
        };
        let resolved = policy.apply(OWNER_BY_EMAIL, resolution)?;
        if let Some(id) = &resolved.value {
            contact.set_owner(id);
        }
        Ok(resolved
            .note
            .map(|n| format!("hubspot_owner_id left unset: {}", n.reason())))
    }

    /// One upsert call for `batch` (distinct e-mails, at most [`MAX_INPUTS`]): a result per
    /// input. A whole-batch 400 that names its bad inputs rejects those and sends the rest
    /// again; one that names none is split in halves until it does or an input stands alone.
    async fn write(&self, batch: &[&Prepared]) -> Vec<Result<Outcome, Error>> {
        let mut results: Vec<Option<Result<Outcome, Error>>> = batch.iter().map(|_| None).collect();
        let mut work: Vec<Vec<usize>> = vec![(0..batch.len()).collect()];
        while let Some(part) = work.pop() {
            if part.is_empty() {
                continue;
            }
            let ids: Vec<&str> = part
                .iter()
                .map(|&i| batch[i].contact.email.as_str())
                .collect();
            let rejection = InputRejection::new(&ids);
            match self.upsert(&part, batch, &rejection).await {
                Ok(reply) => {
                    for (&i, result) in part.iter().zip(upsert::results(&ids, &reply)) {
                        results[i] = Some(outcome(result, batch[i].note.as_deref()));
                    }
                }
                Err(Error::Http(e)) if e.status_code() == Some(StatusCode::BAD_REQUEST) => {
                    let named = rejection.named();
                    if !named.is_empty() {
                        let bad: HashSet<usize> = named.iter().map(|(j, _)| part[*j]).collect();
                        for (j, reason) in named {
                            results[part[j]] = Some(Err(Error::permanent(reason)));
                        }
                        work.push(part.into_iter().filter(|i| !bad.contains(i)).collect());
                    } else if part.len() == 1 {
                        results[part[0]] = Some(Err(e.into()));
                    } else {
                        let (left, right) = part.split_at(part.len() / 2);
                        work.push(right.to_vec());
                        work.push(left.to_vec());
                    }
                }
                Err(e) => {
                    let (classification, message) = (e.classification(), e.to_string());
                    for &i in &part {
                        results[i] = Some(Err(Error::classified(classification, message.clone())));
                    }
                }
            }
        }
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(Error::transient(
                        "the upsert gave no answer for this contact",
                    ))
                })
            })
            .collect()
    }

    /// The call itself, with a token renewed once on a 401.
    async fn upsert(
        &self,
        part: &[usize],
        batch: &[&Prepared],
        rejection: &InputRejection<'_>,
    ) -> Result<UpsertReply, Error> {
        let body = upsert::UpsertRequest {
            inputs: part
                .iter()
                .map(|&i| {
                    UpsertInput::by_email(&batch[i].contact.email, &batch[i].contact.properties)
                })
                .collect(),
        };
        let body = serde_json::to_vec(&body).map_err(|e| {
            HttpError::refused(
                self.hubspot.name(),
                switchyard::Classification::permanent(),
                format!(
                    "cannot encode the upsert: {}",
                    switchyard::redact::json_error_summary(&e)
                ),
            )
        })?;
        self.tokens
            .with_token(|token| {
                let body = body.clone();
                async move {
                    let request = self
                        .http
                        .request(Method::POST, &self.hubspot, upsert::PATH)?
                        .bearer_auth(token.expose())
                        .header(CONTENT_TYPE, "application/json")
                        .body(body);
                    Ok::<_, Error>(
                        self.http
                            .send_json::<UpsertReply>(&self.hubspot, request, Some(rejection))
                            .await?,
                    )
                }
            })
            .await
    }
}

/// A written input's outcome: delivered, with HubSpot's contact id and the owner note.
fn outcome(result: InputResult, note: Option<&str>) -> Result<Outcome, Error> {
    match result {
        InputResult::Written { contact_id } => {
            let delivered = match contact_id {
                Some(id) => Outcome::delivered_as(id),
                None => Outcome::delivered(),
            };
            Ok(match note {
                Some(note) => delivered.with_note(note.to_owned()),
                None => delivered,
            })
        }
        InputResult::Rejected { reason } => Err(Error::permanent(reason)),
        InputResult::Unknown => Err(Error::transient(
            "HubSpot reported an error it did not pin on an input; sending the contact again",
        )),
    }
}

impl BatchHandler for HubSpotContacts {
    fn max_batch_size(&self) -> usize {
        MAX_INPUTS
    }

    async fn handle_batch(
        &self,
        records: &[&Record<'_>],
        _: &Invocation,
    ) -> Vec<Result<Outcome, Error>> {
        let mut results: Vec<Option<Result<Outcome, Error>>> =
            records.iter().map(|_| None).collect();
        let mut prepared = Vec::new();
        for (index, record) in records.iter().enumerate() {
            match self.map(record) {
                Ok(Some(contact)) => prepared.push(Prepared {
                    index,
                    contact,
                    note: None,
                }),
                Ok(None) => {
                    let reason = match record.envelope() {
                        Ok(e) => format!(
                            "no mapping rule selects source `{}`, type `{}`",
                            switchyard::redact::name_for_message(e.source()),
                            switchyard::redact::name_for_message(e.ty())
                        ),
                        Err(_) => "no mapping rule selects the event".to_owned(),
                    };
                    results[index] = Some(Ok(Outcome::skipped(reason)));
                }
                Err(e) => results[index] = Some(Err(e)),
            }
        }

        // Owners, all at once: the cache sends one request per distinct e-mail.
        let notes = join_all(
            prepared
                .iter_mut()
                .map(|p| self.resolve_owner(&mut p.contact)),
        )
        .await;
        let mut ready = Vec::with_capacity(prepared.len());
        for (mut p, note) in prepared.into_iter().zip(notes) {
            match note {
                Ok(note) => {
                    p.note = note;
                    ready.push(p);
                }
                Err(e) => results[p.index] = Some(Err(e)),
            }
        }

        // Rounds: one e-mail at most once per call (HubSpot refuses a batch naming an id
        // twice), in the batch's order, so a later event for a contact is written after an
        // earlier one.
        for round in rounds(&ready) {
            for chunk in round.chunks(MAX_INPUTS) {
                let written = self.write(chunk).await;
                for (p, result) in chunk.iter().zip(written) {
                    results[p.index] = Some(result);
                }
            }
        }

        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(Error::transient("the record was not processed"))))
            .collect()
    }
}

/// Splits `ready` into rounds in which no e-mail appears twice, keeping the batch's order.
fn rounds(ready: &[Prepared]) -> Vec<Vec<&Prepared>> {
    let mut rounds: Vec<Vec<&Prepared>> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for p in ready {
        let key = p.contact.email.to_ascii_lowercase();
        let round = seen.get(&key).map_or(0, |r| r + 1);
        seen.insert(key, round);
        if rounds.len() <= round {
            rounds.push(Vec::new());
        }
        rounds[round].push(p);
    }
    rounds
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    fn prepared(index: usize, email: &str) -> Prepared {
        let mut properties = Map::new();
        properties.insert("email".into(), email.into());
        Prepared {
            index,
            contact: Contact {
                email: email.into(),
                properties,
                owner_email: None,
                owner_required: false,
            },
            note: None,
        }
    }

    #[test]
    fn one_email_is_written_once_per_call_in_the_batchs_order() {
        let ready = vec![
            prepared(0, "a@x.co"),
            prepared(1, "b@x.co"),
            prepared(2, "A@x.co"),
            prepared(3, "a@x.co"),
        ];
        let rounds: Vec<Vec<usize>> = rounds(&ready)
            .iter()
            .map(|r| r.iter().map(|p| p.index).collect())
            .collect();
        assert_eq!(rounds, [vec![0, 1], vec![2], vec![3]]);
    }

    #[test]
    fn outcomes_carry_the_contact_id_and_the_note() {
        let delivered = outcome(
            InputResult::Written {
                contact_id: Some("101".into()),
            },
            Some("hubspot_owner_id left unset: owner not found for the e-mail"),
        )
        .unwrap();
        assert_eq!(delivered.destination_id(), Some("101"));
        assert!(delivered.note().unwrap().contains("owner not found"));
        let rejected = outcome(InputResult::Rejected { reason: "r".into() }, None).unwrap_err();
        assert_eq!(rejected.class(), switchyard::ErrorClass::Permanent);
        let unknown = outcome(InputResult::Unknown, None).unwrap_err();
        assert_eq!(unknown.class(), switchyard::ErrorClass::Transient);
    }
}
