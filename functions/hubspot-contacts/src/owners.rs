//! Owners by e-mail: `GET /crm/v3/owners/?email=`, every page, through the kit's lookup cache.
//!
//! HubSpot's contact property `hubspot_owner_id` takes an owner's *id*; events carry the owner's
//! *e-mail*. Several owners can share one e-mail (HubSpot allows it), and an e-mail may match
//! none: [`Resolution`] says which, and the record's mapping decides what that means
//! (`owner_required`). Answers are cached per execution environment (`LOOKUP_TTL`, 5 minutes),
//! one fetch per e-mail at a time, so a batch of records for one owner calls HubSpot once.

use reqwest::Method;
use serde::Deserialize;
use switchyard::Error;
use switchyard::http::{Destination, HttpClient};
use switchyard::lookup::{LookupCache, Resolution, Subject};
use switchyard::oauth::TokenProvider;

use crate::api_errors::HubSpotErrors;

/// How the lookup names itself in reasons and metrics; never the e-mail.
pub const OWNER_BY_EMAIL: Subject = Subject::new("owner", "owners", "the e-mail");
/// The endpoint, under the base URL.
pub const PATH: &str = "crm/v3/owners/";
/// Owners per page (HubSpot's maximum).
const PAGE_SIZE: &str = "100";
/// Pages read at most: 1,000 owners with one e-mail would be a broken portal, not a lookup.
const MAX_PAGES: usize = 10;

#[derive(Deserialize)]
struct OwnersPage {
    #[serde(default)]
    results: Vec<Owner>,
    #[serde(default)]
    paging: Option<Paging>,
}

#[derive(Deserialize)]
struct Owner {
    id: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    archived: bool,
}

#[derive(Deserialize)]
struct Paging {
    next: Option<NextPage>,
}

#[derive(Deserialize)]
struct NextPage {
    after: String,
}

/// Resolves owners' e-mails to ids.
pub struct Owners {
    cache: LookupCache<String, String>,
}

impl Owners {
    /// Over `cache` (built at cold start).
    pub fn new(cache: LookupCache<String, String>) -> Self {
        Self { cache }
    }

    /// The owner with this e-mail (compared case-insensitively), from the cache or HubSpot.
    ///
    /// # Errors
    /// The call's classified failure (not cached: the record is retried).
    pub async fn resolve(
        &self,
        email: &str,
        http: &HttpClient,
        hubspot: &Destination,
        tokens: &TokenProvider,
    ) -> Result<Resolution<String>, Error> {
        let email = email.trim().to_ascii_lowercase();
        // The fetch is shared by every lookup of the e-mail, so it owns what it uses (clones
        // share the connection pool, the destination's policies and the token).
        let (http, hubspot, tokens) = (http.clone(), hubspot.clone(), tokens.clone());
        self.cache
            .resolve(&email, move |email| async move {
                fetch(&email, &http, &hubspot, &tokens).await
            })
            .await
    }
}

/// Every page of owners with `email`, their ids collected.
async fn fetch(
    email: &str,
    http: &HttpClient,
    hubspot: &Destination,
    tokens: &TokenProvider,
) -> Result<Resolution<String>, Error> {
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page: OwnersPage = tokens
            .with_token(|token| {
                let after = after.clone();
                async move {
                    let mut query = vec![
                        ("email", email.to_owned()),
                        ("limit", PAGE_SIZE.to_owned()),
                        ("archived", "false".to_owned()),
                    ];
                    if let Some(after) = after {
                        query.push(("after", after));
                    }
                    let request = http
                        .request(Method::GET, hubspot, PATH)?
                        .query(&query)
                        .bearer_auth(token.expose());
                    Ok::<_, Error>(
                        http.send_json(hubspot, request, Some(&HubSpotErrors))
                            .await?,
                    )
                }
            })
            .await?;
        ids.extend(
            page.results
                .into_iter()
                .filter(|o| !o.archived)
                .filter(|o| {
                    o.email
                        .as_deref()
                        .is_none_or(|e| e.eq_ignore_ascii_case(email))
                })
                .map(|o| o.id),
        );
        match page.paging.and_then(|p| p.next) {
            Some(next) => after = Some(next.after),
            None => return Ok(Resolution::from_matches(ids)),
        }
    }
    tracing::warn!(
        pages = MAX_PAGES,
        "owner lookup stopped after its page limit"
    );
    Ok(Resolution::from_matches(ids))
}
