//! The HubSpot stand-in on its own, with a plain reqwest client: the token exchange and its
//! refusals, expired and unknown tokens, the owners' paging, the batch upsert's 200, 207 and
//! 400s, the rolling window, every fault, the latency; and the kit's `HttpClient` against it.
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use switchyard_e2e::hubspot::{
    CLIENT_ID, CLIENT_SECRET, CORRELATION_ID, Endpoint, Fault, HubSpotConfig, HubSpotStandIn,
    InvalidInputs, MAX_BATCH_INPUTS, Outcome, Owner, PRIVATE_APP_TOKEN, RATE_LIMIT_INTERVAL,
    RATE_LIMIT_MAX, RATE_LIMIT_REMAINING, REFRESH_TOKEN, RollingWindow,
};

/// A client with a short timeout, so a hang shows quickly.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap()
}

#[derive(Debug)]
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// Asserts HubSpot's error body with `category`, whose `correlationId` is the header's.
    fn assert_error(&self, status: u16, category: &str) {
        assert_eq!(self.status.as_u16(), status, "{:?}", self.body);
        assert_eq!(self.body["status"], json!("error"), "{:?}", self.body);
        assert_eq!(self.body["category"], json!(category), "{:?}", self.body);
        self.assert_correlated();
    }

    fn assert_correlated(&self) {
        let id = self.header(CORRELATION_ID).expect("a correlation id");
        assert_eq!(self.body["correlationId"], json!(id));
    }

    fn message(&self) -> &str {
        self.body["message"].as_str().unwrap()
    }
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap();
    Answer {
        status,
        headers,
        body,
    }
}

async fn exchange_form(hubspot: &HubSpotStandIn, form: &[(&str, &str)]) -> Answer {
    let response = client()
        .post(hubspot.token_url())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            form.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&"),
        )
        .send()
        .await
        .unwrap();
    answer(response).await
}

async fn refresh_with(hubspot: &HubSpotStandIn, refresh_token: &str) -> Answer {
    exchange_form(
        hubspot,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

/// A fresh access token.
async fn access_token(hubspot: &HubSpotStandIn) -> String {
    let grant = refresh_with(hubspot, REFRESH_TOKEN).await;
    assert_eq!(grant.status, StatusCode::OK, "{:?}", grant.body);
    grant.body["access_token"].as_str().unwrap().to_owned()
}

async fn try_owners(
    hubspot: &HubSpotStandIn,
    token: &str,
    query: &str,
) -> Result<Answer, reqwest::Error> {
    let response = client()
        .get(format!("{}?{query}", hubspot.owners_url()))
        .bearer_auth(token)
        .send()
        .await?;
    Ok(answer(response).await)
}

async fn owners(hubspot: &HubSpotStandIn, token: &str, query: &str) -> Answer {
    try_owners(hubspot, token, query).await.unwrap()
}

async fn try_upsert(
    hubspot: &HubSpotStandIn,
    token: &str,
    body: &Value,
) -> Result<Answer, reqwest::Error> {
    let response = client()
        .post(hubspot.upsert_url())
        .bearer_auth(token)
        .json(body)
        .send()
        .await?;
    Ok(answer(response).await)
}

async fn upsert(hubspot: &HubSpotStandIn, body: &Value) -> Answer {
    try_upsert(hubspot, PRIVATE_APP_TOKEN, body).await.unwrap()
}

fn input(email: &str, properties: Value) -> Value {
    json!({"id": email, "idProperty": "email", "properties": properties})
}

fn batch(inputs: impl IntoIterator<Item = Value>) -> Value {
    json!({"inputs": inputs.into_iter().collect::<Vec<_>>()})
}

fn jane() -> Value {
    input(
        "jane@example.com",
        json!({"firstname": "Jane", "lifecyclestage": "customer"}),
    )
}

fn ids(answer: &Value) -> Vec<&str> {
    answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect()
}

// --- OAuth ---------------------------------------------------------------------------------

#[tokio::test]
async fn a_refresh_issues_a_new_access_token_each_time() {
    let hubspot = HubSpotStandIn::start().await;
    let first = refresh_with(&hubspot, REFRESH_TOKEN).await;
    let second = refresh_with(&hubspot, REFRESH_TOKEN).await;

    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.body["token_type"], json!("bearer"));
    assert_eq!(first.body["expires_in"], json!(1800));
    assert_eq!(
        first.body["refresh_token"],
        json!(REFRESH_TOKEN),
        "no rotation"
    );
    assert!(first.header(CORRELATION_ID).is_some());
    assert!(
        first.header(RATE_LIMIT_MAX).is_none(),
        "the token endpoint is outside the CRM window"
    );
    assert_ne!(first.body["access_token"], second.body["access_token"]);
    assert_eq!(hubspot.token_calls(), 2);
    assert_eq!(hubspot.access_tokens_issued(), 2);

    // Both are valid until they expire.
    for grant in [&first, &second] {
        let token = grant.body["access_token"].as_str().unwrap();
        assert_eq!(owners(&hubspot, token, "").await.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn a_wrong_grant_is_refused_with_hubspots_status_and_oauths_error() {
    let hubspot = HubSpotStandIn::start().await;
    let bad_refresh = refresh_with(&hubspot, "na1-not-the-one").await;
    assert_eq!(bad_refresh.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_refresh.body["status"], json!("BAD_REFRESH_TOKEN"));
    assert_eq!(bad_refresh.body["error"], json!("invalid_grant"));
    assert!(bad_refresh.message().contains("refresh token"));
    bad_refresh.assert_correlated();

    let cases = [
        (
            "grant_type",
            "authorization_code",
            "BAD_GRANT_TYPE",
            "unsupported_grant_type",
        ),
        (
            "client_id",
            "someone-else",
            "BAD_CLIENT_ID",
            "invalid_client",
        ),
        (
            "client_secret",
            "wrong",
            "BAD_CLIENT_SECRET",
            "invalid_client",
        ),
    ];
    for (field, value, status, error) in cases {
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("refresh_token", REFRESH_TOKEN),
        ];
        form.iter_mut().find(|(k, _)| *k == field).unwrap().1 = value;
        let refused = exchange_form(&hubspot, &form).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{field}");
        assert_eq!(refused.body["status"], json!(status));
        assert_eq!(refused.body["error"], json!(error));
    }
    let missing = exchange_form(&hubspot, &[("grant_type", "refresh_token")]).await;
    assert_eq!(missing.body["status"], json!("BAD_CLIENT_ID"));

    hubspot.revoke_refresh_token();
    assert_eq!(hubspot.refresh_token(), None);
    let revoked = refresh_with(&hubspot, REFRESH_TOKEN).await;
    assert_eq!(revoked.body["status"], json!("BAD_REFRESH_TOKEN"));

    assert_eq!(hubspot.access_tokens_issued(), 0);
    assert_eq!(hubspot.token_calls(), 6);
    assert_eq!(
        hubspot.count(&Outcome::TokenRefused("BAD_REFRESH_TOKEN".into())),
        2
    );
}

#[tokio::test]
async fn with_rotation_each_refresh_token_is_good_for_one_refresh() {
    let hubspot = HubSpotStandIn::start_with(HubSpotConfig {
        rotate_refresh_token: true,
        expires_in: 600,
        ..HubSpotConfig::default()
    })
    .await;
    let first = refresh_with(&hubspot, REFRESH_TOKEN).await;
    assert_eq!(first.body["expires_in"], json!(600));
    let rotated = first.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rotated, REFRESH_TOKEN);
    assert_eq!(hubspot.refresh_token().as_deref(), Some(rotated.as_str()));

    let stale = refresh_with(&hubspot, REFRESH_TOKEN).await;
    assert_eq!(stale.body["status"], json!("BAD_REFRESH_TOKEN"));
    let second = refresh_with(&hubspot, &rotated).await;
    assert_eq!(second.status, StatusCode::OK);
    assert_ne!(second.body["refresh_token"], json!(rotated));

    // Switched off: the current one stays.
    hubspot.set_rotate_refresh_token(false);
    let current = hubspot.refresh_token().unwrap();
    let third = refresh_with(&hubspot, &current).await;
    assert_eq!(third.body["refresh_token"], json!(current));
}

#[tokio::test]
async fn an_expired_token_is_401_expired_and_an_unknown_one_401_invalid() {
    let hubspot = HubSpotStandIn::start().await;
    let token = access_token(&hubspot).await;
    assert_eq!(owners(&hubspot, &token, "").await.status, StatusCode::OK);

    hubspot.expire_tokens();
    let expired = owners(&hubspot, &token, "").await;
    expired.assert_error(401, "EXPIRED_AUTHENTICATION");
    assert!(
        expired.message().contains("expired"),
        "{}",
        expired.message()
    );
    assert!(expired.header(RATE_LIMIT_MAX).is_some());
    // The private-app token does not expire; a token issued afterwards is valid.
    assert_eq!(
        owners(&hubspot, PRIVATE_APP_TOKEN, "").await.status,
        StatusCode::OK
    );
    let fresh = access_token(&hubspot).await;
    assert_eq!(owners(&hubspot, &fresh, "").await.status, StatusCode::OK);

    owners(&hubspot, "hs-standin-access-999999", "")
        .await
        .assert_error(401, "INVALID_AUTHENTICATION");
    let anonymous = answer(client().get(hubspot.owners_url()).send().await.unwrap()).await;
    anonymous.assert_error(401, "INVALID_AUTHENTICATION");
    let upsert = try_upsert(&hubspot, &token, &batch([jane()]))
        .await
        .unwrap();
    upsert.assert_error(401, "EXPIRED_AUTHENTICATION");
    assert!(hubspot.contacts().is_empty());

    assert_eq!(
        hubspot.count(&Outcome::Unauthorized("EXPIRED_AUTHENTICATION".into())),
        2
    );
    assert_eq!(
        hubspot.count(&Outcome::Unauthorized("INVALID_AUTHENTICATION".into())),
        2
    );
}

#[tokio::test]
async fn a_token_lives_for_expires_in() {
    let hubspot = HubSpotStandIn::start().await;
    hubspot.set_expires_in(0);
    let token = access_token(&hubspot).await;
    owners(&hubspot, &token, "")
        .await
        .assert_error(401, "EXPIRED_AUTHENTICATION");
    hubspot.set_expires_in(3600);
    let token = access_token(&hubspot).await;
    assert_eq!(owners(&hubspot, &token, "").await.status, StatusCode::OK);
}

// --- Owners --------------------------------------------------------------------------------

fn team() -> Vec<Owner> {
    vec![
        Owner::new("201", "ana@example.com", "Ana", "One"),
        Owner::new("202", "sales@example.com", "Ben", "Two"),
        Owner::new("203", "sales@example.com", "Cleo", "Three"),
        Owner::new("204", "dan@example.com", "Dan", "Four"),
        Owner::new("205", "eve@example.com", "Eve", "Five"),
        Owner::new("206", "sales@example.com", "Fay", "Six").archived(),
    ]
}

#[tokio::test]
async fn owners_come_a_page_at_a_time_following_the_next_link() {
    let hubspot = HubSpotStandIn::start_with(HubSpotConfig {
        owners: team(),
        ..HubSpotConfig::default()
    })
    .await;
    let first = owners(&hubspot, PRIVATE_APP_TOKEN, "limit=2&archived=false").await;
    assert_eq!(ids(&first.body), ["201", "202"]);
    let owner = &first.body["results"][0];
    assert_eq!(owner["email"], json!("ana@example.com"));
    assert_eq!(owner["firstName"], json!("Ana"));
    assert_eq!(owner["lastName"], json!("One"));
    assert_eq!(owner["userId"], json!(9_000_201));
    assert_eq!(owner["archived"], json!(false));

    let mut seen: Vec<String> = ids(&first.body).iter().map(|s| s.to_string()).collect();
    let mut next = first.body["paging"]["next"].clone();
    let mut pages = 1;
    while !next.is_null() {
        assert!(next["after"].is_string());
        let link = next["link"].as_str().unwrap();
        assert!(link.starts_with(&hubspot.owners_url()), "{link}");
        let page = answer(
            client()
                .get(link)
                .bearer_auth(PRIVATE_APP_TOKEN)
                .send()
                .await
                .unwrap(),
        )
        .await;
        seen.extend(ids(&page.body).iter().map(|s| s.to_string()));
        next = page.body["paging"]["next"].clone();
        pages += 1;
    }
    assert_eq!(pages, 3);
    assert_eq!(
        seen,
        ["201", "202", "203", "204", "205"],
        "archived excluded"
    );

    // The default page holds them all, without paging.
    let all = owners(&hubspot, PRIVATE_APP_TOKEN, "").await;
    assert_eq!(ids(&all.body).len(), 5);
    assert!(all.body.get("paging").is_none());
    let archived = owners(&hubspot, PRIVATE_APP_TOKEN, "archived=true").await;
    assert_eq!(ids(&archived.body), ["206"]);
}

#[tokio::test]
async fn several_owners_can_share_an_email_and_lookups_are_counted_per_email() {
    let hubspot = HubSpotStandIn::start_with(HubSpotConfig {
        owners: team(),
        ..HubSpotConfig::default()
    })
    .await;
    let shared = owners(&hubspot, PRIVATE_APP_TOKEN, "email=sales%40example.com").await;
    assert_eq!(ids(&shared.body), ["202", "203"]);
    let one = owners(
        &hubspot,
        PRIVATE_APP_TOKEN,
        "email=ANA%40example.com&limit=1",
    )
    .await;
    assert_eq!(ids(&one.body), ["201"]);
    assert!(one.body.get("paging").is_none());
    let none = owners(&hubspot, PRIVATE_APP_TOKEN, "email=nobody%40example.com").await;
    assert_eq!(none.body, json!({"results": []}));
    // Without the trailing slash too.
    let bare = answer(
        client()
            .get(format!(
                "{}/crm/v3/owners?email=sales@example.com",
                hubspot.base_url()
            ))
            .bearer_auth(PRIVATE_APP_TOKEN)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(ids(&bare.body), ["202", "203"]);

    assert_eq!(hubspot.owner_calls("sales@example.com"), 2);
    assert_eq!(hubspot.owner_calls("ana@example.com"), 1);
    assert_eq!(hubspot.owner_calls("eve@example.com"), 0);
    assert_eq!(hubspot.count(&Outcome::OwnersListed), 4);

    hubspot.add_owner(Owner::new("207", "eve@example.com", "Eve", "Again"));
    let eves = owners(&hubspot, PRIVATE_APP_TOKEN, "email=eve%40example.com").await;
    assert_eq!(ids(&eves.body), ["205", "207"]);
    hubspot.set_owners(Vec::new());
    assert!(hubspot.owners().is_empty());
}

#[tokio::test]
async fn malformed_owner_queries_are_validation_errors() {
    let hubspot = HubSpotStandIn::start().await;
    for query in [
        "limit=0",
        "limit=501",
        "limit=all",
        "after=xyz",
        "archived=maybe",
    ] {
        owners(&hubspot, PRIVATE_APP_TOKEN, query)
            .await
            .assert_error(400, "VALIDATION_ERROR");
    }
    assert_eq!(hubspot.count(&Outcome::Invalid), 5);
}

// --- Batch upsert --------------------------------------------------------------------------

#[tokio::test]
async fn an_upsert_creates_then_updates_the_same_contact() {
    let hubspot = HubSpotStandIn::start().await;
    let sam = input("sam@example.com", json!({"hubspot_owner_id": "102"}));
    let created = upsert(&hubspot, &batch([jane(), sam])).await;
    assert_eq!(created.status, StatusCode::OK, "{:?}", created.body);
    assert_eq!(created.body["status"], json!("COMPLETE"));
    assert!(created.body.get("errors").is_none());
    let results = created.body["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["new"], json!(true));
    assert_eq!(results[0]["properties"]["email"], json!("jane@example.com"));
    assert_eq!(results[0]["properties"]["firstname"], json!("Jane"));
    assert_eq!(results[0]["properties"]["hs_object_id"], results[0]["id"]);
    assert!(results[0]["createdAt"].is_string() && results[0]["updatedAt"].is_string());
    assert!(created.header(CORRELATION_ID).is_some());
    let jane_id = results[0]["id"].as_str().unwrap().to_owned();
    assert_ne!(results[1]["id"], results[0]["id"]);

    // E-mails match whatever their case.
    let update = input(
        "JANE@example.com",
        json!({"lastname": "Doe", "firstname": "Janet"}),
    );
    let updated = upsert(&hubspot, &batch([update])).await;
    assert_eq!(updated.status, StatusCode::OK);
    assert_eq!(ids(&updated.body), [jane_id.as_str()]);
    assert_eq!(updated.body["results"][0]["new"], json!(false));

    let contact = hubspot.contact("jane@example.com").unwrap();
    assert_eq!(contact.id, jane_id);
    assert_eq!(contact.writes, 2);
    assert_eq!(contact.properties["firstname"], "Janet");
    assert_eq!(contact.properties["lastname"], "Doe");
    assert_eq!(contact.properties["lifecyclestage"], "customer");
    assert_eq!(
        hubspot.contact("sam@example.com").unwrap().properties["hubspot_owner_id"],
        "102"
    );
    assert_eq!(hubspot.contacts().len(), 2);
    assert_eq!(hubspot.upsert_calls(), 2);
    assert_eq!(hubspot.upsert_batch_sizes(), [2, 1]);
    assert_eq!(hubspot.count(&Outcome::Upserted), 2);
}

#[tokio::test]
async fn one_invalid_email_fails_that_input_with_207_and_the_rest_is_written() {
    let hubspot = HubSpotStandIn::start().await;
    let bad = input("not-an-email", json!({"firstname": "X"}));
    let answer = upsert(&hubspot, &batch([jane(), bad])).await;

    assert_eq!(answer.status, StatusCode::MULTI_STATUS, "{:?}", answer.body);
    assert_eq!(answer.body["status"], json!("COMPLETE"));
    assert_eq!(answer.body["numErrors"], json!(1));
    assert_eq!(answer.body["results"].as_array().unwrap().len(), 1);
    assert_eq!(
        answer.body["results"][0]["properties"]["email"],
        json!("jane@example.com")
    );
    let error = &answer.body["errors"][0];
    assert_eq!(error["status"], json!("error"));
    assert_eq!(error["category"], json!("VALIDATION_ERROR"));
    assert_eq!(error["context"]["ids"], json!(["not-an-email"]));
    let message = error["message"].as_str().unwrap();
    assert!(
        message.starts_with("Property values were not valid: ")
            && message.contains("INVALID_EMAIL"),
        "{message}"
    );
    assert_eq!(error["errors"][0]["code"], json!("INVALID_EMAIL"));

    assert!(hubspot.contact("jane@example.com").is_some());
    assert!(hubspot.contact("not-an-email").is_none());
    assert_eq!(hubspot.count(&Outcome::PartlyUpserted), 1);
}

#[tokio::test]
async fn an_unknown_or_archived_owner_fails_that_input() {
    let hubspot = HubSpotStandIn::start().await;
    hubspot.add_owner(Owner::new("103", "gone@example.com", "Gone", "Away").archived());
    let inputs = [
        input("a@example.com", json!({"hubspot_owner_id": "101"})),
        input("b@example.com", json!({"hubspot_owner_id": "999"})),
        input("c@example.com", json!({"hubspot_owner_id": "103"})),
        input("d@example.com", json!({"hubspot_owner_id": ""})),
    ];
    let answer = upsert(&hubspot, &batch(inputs)).await;
    assert_eq!(answer.status, StatusCode::MULTI_STATUS);
    assert_eq!(answer.body["numErrors"], json!(2));
    let failed: Vec<_> = answer.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["errors"][0]["code"], json!("INVALID_OWNER_ID"));
            e["context"]["ids"][0].as_str().unwrap()
        })
        .collect();
    assert_eq!(failed, ["b@example.com", "c@example.com"]);
    let written: Vec<_> = hubspot.contacts().into_iter().map(|c| c.email).collect();
    assert_eq!(
        written,
        ["a@example.com", "d@example.com"],
        "an empty owner clears"
    );
}

#[tokio::test]
async fn the_whole_batch_switch_answers_400_naming_the_bad_inputs_and_writes_nothing() {
    let hubspot = HubSpotStandIn::start_with(HubSpotConfig {
        invalid_inputs: InvalidInputs::WholeBatch,
        ..HubSpotConfig::default()
    })
    .await;
    let inputs = [
        jane(),
        input("bad@", json!({})),
        input("x@example.com", json!({"hubspot_owner_id": "7"})),
    ];
    let refused = upsert(&hubspot, &batch(inputs)).await;
    refused.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(
        refused.body["context"]["ids"],
        json!(["bad@", "x@example.com"])
    );
    assert!(refused.message().contains("INVALID_EMAIL"));
    assert!(refused.message().contains("bad@"));
    assert_eq!(refused.body["errors"].as_array().unwrap().len(), 2);
    assert!(hubspot.contacts().is_empty());
    assert_eq!(hubspot.count(&Outcome::Invalid), 1);

    // A valid batch is still written, and the switch goes back.
    assert_eq!(
        upsert(&hubspot, &batch([jane()])).await.status,
        StatusCode::OK
    );
    hubspot.set_invalid_inputs(InvalidInputs::MultiStatus);
    let partial = upsert(&hubspot, &batch([input("bad@", json!({}))])).await;
    assert_eq!(partial.status, StatusCode::MULTI_STATUS);
    assert_eq!(partial.body["results"], json!([]));
}

#[tokio::test]
async fn the_same_email_twice_in_a_batch_is_refused_whole() {
    let hubspot = HubSpotStandIn::start().await;
    let twice = batch([
        jane(),
        input("sam@example.com", json!({})),
        input("Jane@Example.com", json!({"firstname": "J"})),
    ]);
    let refused = upsert(&hubspot, &twice).await;
    refused.assert_error(400, "VALIDATION_ERROR");
    assert!(
        refused.message().contains("Duplicate IDs"),
        "{}",
        refused.message()
    );
    assert_eq!(refused.body["context"]["ids"], json!(["Jane@Example.com"]));
    assert!(hubspot.contacts().is_empty());
}

#[tokio::test]
async fn more_than_a_hundred_inputs_are_refused_whole() {
    let hubspot = HubSpotStandIn::start().await;
    let inputs = |n: usize| batch((0..n).map(|i| input(&format!("c{i}@example.com"), json!({}))));
    let refused = upsert(&hubspot, &inputs(MAX_BATCH_INPUTS + 1)).await;
    refused.assert_error(400, "VALIDATION_ERROR");
    assert!(hubspot.contacts().is_empty());
    let full = upsert(&hubspot, &inputs(MAX_BATCH_INPUTS)).await;
    assert_eq!(full.status, StatusCode::OK);
    assert_eq!(hubspot.contacts().len(), MAX_BATCH_INPUTS);
    assert_eq!(hubspot.upsert_batch_sizes(), [101, 100]);
}

#[tokio::test]
async fn malformed_batches_are_refused_whole() {
    let hubspot = HubSpotStandIn::start().await;
    let bad = [
        json!({"firstname": "no inputs"}),
        json!({"inputs": {"id": "jane@example.com"}}),
        batch([json!("jane@example.com")]),
        batch([json!({"idProperty": "email", "properties": {}})]),
        batch([json!({"id": "jane@example.com", "properties": {}})]),
        batch([json!({"id": "1001", "idProperty": "hs_object_id", "properties": {}})]),
        batch([json!({"id": "jane@example.com", "idProperty": "email"})]),
        batch([input("jane@example.com", json!({"age": 42}))]),
        batch([input("jane@example.com", json!({"opted_in": true}))]),
        batch([input("jane@example.com", json!({"tags": ["a"]}))]),
    ];
    for body in &bad {
        upsert(&hubspot, body)
            .await
            .assert_error(400, "VALIDATION_ERROR");
    }
    let garbled = answer(
        client()
            .post(hubspot.upsert_url())
            .bearer_auth(PRIVATE_APP_TOKEN)
            .header("content-type", "application/json")
            .body("{\"inputs\": [")
            .send()
            .await
            .unwrap(),
    )
    .await;
    garbled.assert_error(400, "VALIDATION_ERROR");
    assert!(hubspot.contacts().is_empty());
    assert_eq!(hubspot.count(&Outcome::Invalid), bad.len() + 1);

    // A null is allowed, and an empty batch is answered with no results.
    let null = upsert(
        &hubspot,
        &batch([input("jane@example.com", json!({"phone": null}))]),
    )
    .await;
    assert_eq!(null.status, StatusCode::OK);
    let empty = upsert(&hubspot, &batch([])).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(empty.body["results"], json!([]));
}

// --- Rate limit ----------------------------------------------------------------------------

#[tokio::test]
async fn past_the_window_hubspot_answers_429_with_its_headers_and_no_retry_after() {
    // Three a minute: the fourth is limited however slow the machine.
    let hubspot = HubSpotStandIn::start_with(HubSpotConfig {
        rate: Some(RollingWindow::new(3, Duration::from_secs(60))),
        ..HubSpotConfig::default()
    })
    .await;
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let listed = owners(&hubspot, PRIVATE_APP_TOKEN, "").await;
        assert_eq!(listed.status, StatusCode::OK);
        assert_eq!(listed.header(RATE_LIMIT_MAX), Some("3"));
        assert_eq!(listed.header(RATE_LIMIT_INTERVAL), Some("60000"));
        remaining.push(listed.header(RATE_LIMIT_REMAINING).unwrap().to_owned());
    }
    assert_eq!(remaining, ["2", "1", "0"]);

    let limited = upsert(&hubspot, &batch([jane()])).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.body["errorType"], json!("RATE_LIMIT"));
    assert_eq!(limited.body["policyName"], json!("TEN_SECONDLY_ROLLING"));
    assert_eq!(
        limited.message(),
        "You have reached your ten_secondly_rolling limit."
    );
    assert!(limited.body["groupName"].is_string());
    limited.assert_correlated();
    assert_eq!(limited.header("retry-after"), None);
    assert_eq!(limited.header(RATE_LIMIT_MAX), Some("3"));
    assert_eq!(limited.header(RATE_LIMIT_REMAINING), Some("0"));
    assert_eq!(limited.header(RATE_LIMIT_INTERVAL), Some("60000"));
    assert!(
        hubspot.contacts().is_empty(),
        "a limited batch is not written"
    );

    // The token endpoint is not limited; a refused token does not reach the window.
    let token = access_token(&hubspot).await;
    owners(&hubspot, "nope", "")
        .await
        .assert_error(401, "INVALID_AUTHENTICATION");
    assert_eq!(
        owners(&hubspot, &token, "").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );

    // Raised for a load test: an empty window, a higher limit.
    hubspot.set_rate(Some(RollingWindow::new(1000, Duration::from_secs(10))));
    for _ in 0..20 {
        assert_eq!(owners(&hubspot, &token, "").await.status, StatusCode::OK);
    }
    hubspot.set_rate(None);
    let unlimited = owners(&hubspot, &token, "").await;
    assert_eq!(unlimited.status, StatusCode::OK);
    assert_eq!(unlimited.header(RATE_LIMIT_MAX), None);
    assert_eq!(hubspot.count(&Outcome::RateLimited), 2);
}

#[tokio::test]
async fn the_window_rolls_on() {
    let hubspot = HubSpotStandIn::start_with(HubSpotConfig {
        rate: Some(RollingWindow::new(2, Duration::from_millis(300))),
        ..HubSpotConfig::default()
    })
    .await;
    let started = Instant::now();
    for _ in 0..2 {
        assert_eq!(
            owners(&hubspot, PRIVATE_APP_TOKEN, "").await.status,
            StatusCode::OK
        );
    }
    let limited = owners(&hubspot, PRIVATE_APP_TOKEN, "").await;
    // Only meaningful while the window has not rolled; a machine this slow proves nothing.
    if started.elapsed() < Duration::from_millis(300) {
        assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    }
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(
        owners(&hubspot, PRIVATE_APP_TOKEN, "").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_default_window_is_a_hundred_per_ten_seconds() {
    let hubspot = HubSpotStandIn::start().await;
    let listed = owners(&hubspot, PRIVATE_APP_TOKEN, "").await;
    assert_eq!(listed.header(RATE_LIMIT_MAX), Some("100"));
    assert_eq!(listed.header(RATE_LIMIT_REMAINING), Some("99"));
    assert_eq!(listed.header(RATE_LIMIT_INTERVAL), Some("10000"));
}

// --- Faults --------------------------------------------------------------------------------

#[tokio::test]
async fn injected_statuses_have_hubspots_json_body() {
    let hubspot = HubSpotStandIn::start().await;
    let cases = [
        (Fault::status(500), 500, "INTERNAL_ERROR", None),
        (Fault::status(503), 503, "INTERNAL_ERROR", None),
        (
            Fault::status_retry_after(503, 7),
            503,
            "INTERNAL_ERROR",
            Some("7"),
        ),
        (Fault::status(423), 423, "LOCKED", None),
        (Fault::status(477), 477, "MIGRATION_IN_PROGRESS", None),
        (
            Fault::status_category(403, "MISSING_SCOPES"),
            403,
            "MISSING_SCOPES",
            None,
        ),
        (Fault::Expired, 401, "EXPIRED_AUTHENTICATION", None),
    ];
    hubspot.push_faults(cases.iter().map(|(fault, ..)| fault.clone()));
    for (_, status, category, retry_after) in cases {
        let answer = upsert(&hubspot, &batch([jane()])).await;
        answer.assert_error(status, category);
        assert_eq!(answer.header("retry-after"), retry_after, "{status}");
        assert!(answer.header(RATE_LIMIT_MAX).is_some());
    }
    assert!(
        hubspot.contacts().is_empty(),
        "a faulted request writes nothing"
    );
    assert_eq!(hubspot.count(&Outcome::Status(503)), 2);
    assert_eq!(hubspot.count(&Outcome::Status(401)), 1);
}

#[tokio::test]
async fn an_injected_proxy_error_is_an_html_page() {
    let hubspot = HubSpotStandIn::start().await;
    hubspot.push_faults([Fault::html(502), Fault::html(520)]);
    for status in [502, 520] {
        let response = client()
            .post(hubspot.upsert_url())
            .bearer_auth(PRIVATE_APP_TOKEN)
            .json(&batch([jane()]))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status);
        let content_type = response.headers()["content-type"].to_str().unwrap();
        assert!(content_type.starts_with("text/html"), "{content_type}");
        assert!(response.headers().contains_key(CORRELATION_ID));
        assert!(response.text().await.unwrap().contains("<html>"));
    }
    assert!(hubspot.contacts().is_empty());
}

#[tokio::test]
async fn injected_429s_come_with_or_without_retry_after() {
    let hubspot = HubSpotStandIn::start().await;
    hubspot.push_faults([
        Fault::rate_limited(),
        Fault::rate_limited_retry_after(3),
        Fault::daily_limit(),
    ]);
    let plain = owners(&hubspot, PRIVATE_APP_TOKEN, "").await;
    assert_eq!(plain.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(plain.body["policyName"], json!("TEN_SECONDLY_ROLLING"));
    assert_eq!(plain.header("retry-after"), None);
    let with = owners(&hubspot, PRIVATE_APP_TOKEN, "").await;
    assert_eq!(with.header("retry-after"), Some("3"));
    let daily = owners(&hubspot, PRIVATE_APP_TOKEN, "").await;
    assert_eq!(daily.body["policyName"], json!("DAILY"));
    assert_eq!(daily.body["errorType"], json!("RATE_LIMIT"));
    assert_eq!(hubspot.count(&Outcome::Status(429)), 3);
    assert_eq!(
        hubspot.count(&Outcome::RateLimited),
        0,
        "injected, not counted"
    );
}

#[tokio::test]
async fn a_fault_for_one_endpoint_waits_for_it() {
    let hubspot = HubSpotStandIn::start().await;
    hubspot.push_fault_for(Endpoint::Upsert, Fault::status(503));
    hubspot.push_fault_for(Endpoint::Token, Fault::status(502));
    assert_eq!(hubspot.pending_faults(), 2);
    assert_eq!(
        owners(&hubspot, PRIVATE_APP_TOKEN, "").await.status,
        StatusCode::OK
    );
    assert_eq!(hubspot.pending_faults(), 2);
    assert_eq!(
        upsert(&hubspot, &batch([jane()])).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        upsert(&hubspot, &batch([jane()])).await.status,
        StatusCode::OK
    );
    let token = refresh_with(&hubspot, REFRESH_TOKEN).await;
    assert_eq!(token.status, StatusCode::BAD_GATEWAY);
    assert_eq!(hubspot.pending_faults(), 0);
    assert_eq!(
        hubspot.counts(),
        BTreeMap::from([
            (Outcome::OwnersListed, 1),
            (Outcome::Status(503), 1),
            (Outcome::Upserted, 1),
            (Outcome::Status(502), 1),
        ])
    );
}

#[tokio::test]
async fn a_hang_runs_into_the_clients_timeout() {
    let hubspot = HubSpotStandIn::start().await;
    hubspot.push_fault(Fault::Hang);
    let err = try_upsert(&hubspot, PRIVATE_APP_TOKEN, &batch([jane()]))
        .await
        .expect_err("no answer");
    assert!(err.is_timeout(), "{err:?}");
    assert!(hubspot.contacts().is_empty());
    assert_eq!(hubspot.count(&Outcome::Hung), 1);
    assert_eq!(
        upsert(&hubspot, &batch([jane()])).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_dropped_connection_is_a_transport_error_and_writes_nothing() {
    let hubspot = HubSpotStandIn::start().await;
    hubspot.push_fault(Fault::Drop);
    let err = try_upsert(&hubspot, PRIVATE_APP_TOKEN, &batch([jane()]))
        .await
        .expect_err("no answer");
    assert!(!err.is_timeout() && err.status().is_none(), "{err:?}");
    assert!(err.is_request(), "{err:?}");
    assert!(hubspot.contacts().is_empty());
    assert_eq!(hubspot.count(&Outcome::Dropped), 1);
    assert_eq!(hubspot.upsert_batch_sizes(), [1]);
}

#[tokio::test]
async fn a_lost_answer_writes_the_batch_and_a_retry_updates_it() {
    let hubspot = HubSpotStandIn::start().await;
    hubspot.push_fault(Fault::LoseAnswer);
    let err = try_upsert(&hubspot, PRIVATE_APP_TOKEN, &batch([jane()]))
        .await
        .expect_err("the answer is lost");
    assert!(!err.is_timeout() && err.status().is_none(), "{err:?}");
    let contact = hubspot
        .contact("jane@example.com")
        .expect("written all the same");
    assert_eq!(contact.writes, 1);
    assert_eq!(hubspot.count(&Outcome::AnswerLost), 1);

    // The upsert is idempotent by e-mail: the retry finds the contact.
    let retry = upsert(&hubspot, &batch([jane()])).await;
    assert_eq!(retry.body["results"][0]["new"], json!(false));
    assert_eq!(retry.body["results"][0]["id"], json!(contact.id));
    assert_eq!(hubspot.contacts().len(), 1);
    assert_eq!(hubspot.contact("jane@example.com").unwrap().writes, 2);
}

#[tokio::test]
async fn a_lost_token_answer_still_rotates_the_refresh_token() {
    let hubspot = HubSpotStandIn::start().await;
    hubspot.set_rotate_refresh_token(true);
    hubspot.push_fault_for(Endpoint::Token, Fault::LoseAnswer);
    let lost = client()
        .post(hubspot.token_url())
        .body(format!(
            "grant_type=refresh_token&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}\
             &refresh_token={REFRESH_TOKEN}"
        ))
        .send()
        .await;
    assert!(lost.is_err());
    assert_eq!(hubspot.access_tokens_issued(), 1);
    assert_ne!(hubspot.refresh_token().as_deref(), Some(REFRESH_TOKEN));
    // The client, which never saw the new one, is locked out.
    let retry = refresh_with(&hubspot, REFRESH_TOKEN).await;
    assert_eq!(retry.body["status"], json!("BAD_REFRESH_TOKEN"));
}

#[tokio::test]
async fn a_lost_answer_to_an_invalid_batch_writes_nothing() {
    let hubspot = HubSpotStandIn::start().await;
    hubspot.push_fault(Fault::LoseAnswer);
    assert!(
        try_upsert(&hubspot, "wrong-token", &batch([jane()]))
            .await
            .is_err()
    );
    assert!(hubspot.contacts().is_empty());
}

// --- Latency, correlation, unknown paths -----------------------------------------------------

#[tokio::test]
async fn the_latency_is_added_to_every_crm_answer() {
    let latency = Duration::from_millis(300);
    let hubspot = HubSpotStandIn::start_with(HubSpotConfig {
        latency,
        ..HubSpotConfig::default()
    })
    .await;
    let client = reqwest::Client::new();
    let timed = |request: reqwest::RequestBuilder| async move {
        let started = Instant::now();
        let status = request.send().await.unwrap().status();
        (status, started.elapsed())
    };
    let upsert = client
        .post(hubspot.upsert_url())
        .bearer_auth(PRIVATE_APP_TOKEN)
        .json(&batch([jane()]));
    let (status, took) = timed(upsert).await;
    assert_eq!(status, StatusCode::OK);
    assert!(took >= latency, "{took:?}");
    let listing = client
        .get(hubspot.owners_url())
        .bearer_auth(PRIVATE_APP_TOKEN);
    assert!(timed(listing).await.1 >= latency);
    hubspot.push_fault(Fault::status(503));
    let faulted = client
        .get(hubspot.owners_url())
        .bearer_auth(PRIVATE_APP_TOKEN);
    assert!(timed(faulted).await.1 >= latency);

    hubspot.set_latency(Duration::ZERO);
    let (status, _) = timed(
        client
            .get(hubspot.owners_url())
            .bearer_auth(PRIVATE_APP_TOKEN),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn every_answer_has_its_own_correlation_id() {
    let hubspot = HubSpotStandIn::start().await;
    let a = owners(&hubspot, PRIVATE_APP_TOKEN, "").await;
    let b = owners(&hubspot, "nope", "").await;
    let id_a = a.header(CORRELATION_ID).unwrap();
    let id_b = b.header(CORRELATION_ID).unwrap();
    assert_ne!(id_a, id_b);
    b.assert_correlated();
    let requests = hubspot.requests();
    assert_eq!(requests[0].correlation_id, id_a);
    assert_eq!(requests[1].correlation_id, id_b);
    assert!(requests[1].at >= requests[0].at);

    let unknown = answer(
        client()
            .get(format!("{}/crm/v3/objects/deals", hubspot.base_url()))
            .bearer_auth(PRIVATE_APP_TOKEN)
            .send()
            .await
            .unwrap(),
    )
    .await;
    unknown.assert_error(404, "OBJECT_NOT_FOUND");
    assert_eq!(
        hubspot.requests().len(),
        2,
        "unknown paths are not recorded"
    );
}

// --- The kit's client ----------------------------------------------------------------------

#[tokio::test]
async fn the_kits_client_classifies_hubspots_answers() {
    use switchyard::Classify;
    use switchyard::http::{Destination, Failure, HttpClient};
    use switchyard::taxonomy::ErrorClass;

    let hubspot = HubSpotStandIn::start().await;
    let dest = Destination::new("hubspot", hubspot.base_url()).unwrap();
    let http = HttpClient::new("hubspot-test").unwrap();
    let send = |body: Value| {
        let request = http
            .request(
                reqwest::Method::POST,
                &dest,
                "crm/v3/objects/contacts/batch/upsert",
            )
            .unwrap()
            .bearer_auth(PRIVATE_APP_TOKEN)
            .json(&body);
        http.send(&dest, request)
    };
    hubspot.push_faults([
        Fault::LoseAnswer,
        Fault::rate_limited(),
        Fault::Expired,
        Fault::html(502),
    ]);

    let lost = send(batch([jane()])).await.unwrap_err();
    assert_eq!(lost.class(), ErrorClass::Transient, "{lost}");
    assert!(
        matches!(lost.failure(), Failure::Transport { .. }),
        "{lost}"
    );
    assert_eq!(hubspot.contacts().len(), 1, "written all the same");

    let limited = send(batch([jane()])).await.unwrap_err();
    assert_eq!(limited.class(), ErrorClass::Throttled, "{limited}");
    assert_eq!(limited.retry_after(), None, "HubSpot sends no Retry-After");

    let expired = send(batch([jane()])).await.unwrap_err();
    assert_eq!(expired.class(), ErrorClass::Auth, "{expired}");
    assert_eq!(expired.error_code(), Some("EXPIRED_AUTHENTICATION"));

    let proxy = send(batch([jane()])).await.unwrap_err();
    assert_eq!(proxy.class(), ErrorClass::Transient, "{proxy}");

    let invalid = send(batch([jane(), jane()])).await.unwrap_err();
    assert_eq!(invalid.class(), ErrorClass::Permanent, "{invalid}");
    assert_eq!(invalid.error_code(), Some("VALIDATION_ERROR"));

    // A 207 is a success to the client: the deliverer must read its errors.
    let partial = send(batch([input("bad", json!({}))])).await.unwrap();
    assert_eq!(partial.status(), StatusCode::MULTI_STATUS);
}

/// `make dev`'s control endpoint: a fault ordered over HTTP for one endpoint answers the next
/// upsert and lets the token request by; a bad order is refused with what is wrong; the
/// contacts written can be read back.
#[tokio::test]
async fn faults_can_be_ordered_and_contacts_read_over_http() {
    let hubspot = HubSpotStandIn::start().await;
    let control = format!("{}/_standin", hubspot.base_url());
    let http = client();
    let order: Value = http
        .post(format!("{control}/faults"))
        .body(r#"{"fault":"status","status":502,"endpoint":"upsert"}"#)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(order, json!({"queued": 1, "pending": 1}));
    let bad = http
        .post(format!("{control}/faults"))
        .body(r#"{"fault":"hang","endpoint":"deals"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(bad.text().await.unwrap().contains("unknown endpoint"));

    let body = json!({"inputs": [{"id": "ada@example.com", "idProperty": "email",
        "properties": {"firstname": "Ada"}}]});
    upsert(&hubspot, &body)
        .await
        .assert_error(502, "INTERNAL_ERROR");
    assert_eq!(upsert(&hubspot, &body).await.status, StatusCode::OK);
    let contacts: Value = http
        .get(format!("{control}/contacts"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(contacts[0]["email"], "ada@example.com", "{contacts}");
    assert_eq!(contacts[0]["properties"]["firstname"], "Ada", "{contacts}");
    let pending: Value = http
        .get(format!("{control}/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pending, json!({"pending": 0}));
}
