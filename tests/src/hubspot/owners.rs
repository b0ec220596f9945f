//! `GET /crm/v3/owners/`: the portal's owners, filtered by e-mail and archived flag, a page at a
//! time (`limit`, `after`, `paging.next`).

use serde_json::{Value, json};

use super::answer::{form_pairs, pair};

/// The page size when a query names none, as HubSpot's.
pub const DEFAULT_OWNER_LIMIT: usize = 100;
/// The largest page HubSpot serves.
pub const MAX_OWNER_LIMIT: usize = 500;

/// A HubSpot owner: a user records can be assigned to (`hubspot_owner_id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// The owner id (what `hubspot_owner_id` holds).
    pub id: String,
    /// The user's e-mail; several owners may share one.
    pub email: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// The user id behind the owner.
    pub user_id: u64,
    /// An archived owner is listed only with `archived=true` and cannot be assigned.
    pub archived: bool,
}

impl Owner {
    /// An active owner; its user id is derived from `id`.
    pub fn new(id: &str, email: &str, first_name: &str, last_name: &str) -> Self {
        let user_id = 9_000_000 + id.parse::<u64>().unwrap_or(0);
        Self {
            id: id.to_owned(),
            email: email.to_owned(),
            first_name: first_name.to_owned(),
            last_name: last_name.to_owned(),
            user_id,
            archived: false,
        }
    }

    /// The same owner, archived.
    pub fn archived(mut self) -> Self {
        self.archived = true;
        self
    }

    /// The owner as HubSpot lists it.
    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "email": self.email,
            "type": "PERSON",
            "firstName": self.first_name,
            "lastName": self.last_name,
            "userId": self.user_id,
            "userIdIncludingInactive": self.user_id,
            "createdAt": "2024-01-15T09:00:00.000Z",
            "updatedAt": "2024-01-15T09:00:00.000Z",
            "archived": self.archived,
            "teams": [],
        })
    }
}

/// The owners the stand-in knows unless told otherwise: two, with distinct e-mails.
pub fn default_owners() -> Vec<Owner> {
    vec![
        Owner::new("101", "jane.doe@example.com", "Jane", "Doe"),
        Owner::new("102", "sam.lee@example.com", "Sam", "Lee"),
    ]
}

/// An owners query, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct OwnerQuery {
    pub(super) email: Option<String>,
    limit: usize,
    after: usize,
    archived: bool,
}

impl OwnerQuery {
    /// Parses `email`, `limit` (1–500, default 100), `after` (a cursor from `paging.next`) and
    /// `archived` (`true`/`false`); a malformed value is a message for a 400.
    pub(super) fn parse(query: &str) -> Result<Self, String> {
        let pairs = form_pairs(query);
        let limit = match pair(&pairs, "limit") {
            None => DEFAULT_OWNER_LIMIT,
            Some(raw) => raw
                .parse()
                .ok()
                .filter(|l| (1..=MAX_OWNER_LIMIT).contains(l))
                .ok_or_else(|| format!("limit must be between 1 and {MAX_OWNER_LIMIT}"))?,
        };
        let after = match pair(&pairs, "after") {
            None | Some("") => 0,
            Some(raw) => raw
                .parse()
                .map_err(|_| "after is not a valid paging cursor".to_owned())?,
        };
        let archived = match pair(&pairs, "archived") {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => return Err("archived must be true or false".to_owned()),
        };
        Ok(Self {
            email: pair(&pairs, "email")
                .filter(|e| !e.is_empty())
                .map(str::to_owned),
            limit,
            after,
            archived,
        })
    }

    /// The page of `owners` the query asks for, with `paging.next` (whose `link` is under
    /// `base_url`) when more follow.
    pub(super) fn page(&self, owners: &[Owner], base_url: &str) -> Value {
        let matching: Vec<_> = owners
            .iter()
            .filter(|o| o.archived == self.archived)
            .filter(|o| {
                self.email
                    .as_deref()
                    .is_none_or(|email| o.email.eq_ignore_ascii_case(email))
            })
            .collect();
        let end = (self.after + self.limit).min(matching.len());
        let results: Vec<_> = matching
            .get(self.after..end)
            .unwrap_or_default()
            .iter()
            .map(|o| o.to_json())
            .collect();
        let mut answer = json!({"results": results});
        if end < matching.len() {
            answer["paging"] = json!({"next": {
                "after": end.to_string(),
                "link": self.link(base_url, end),
            }});
        }
        answer
    }

    fn link(&self, base_url: &str, after: usize) -> String {
        let Ok(mut url) = reqwest::Url::parse(&format!("{base_url}/crm/v3/owners/")) else {
            return String::new();
        };
        {
            let mut query = url.query_pairs_mut();
            if let Some(email) = &self.email {
                query.append_pair("email", email);
            }
            query
                .append_pair("limit", &self.limit.to_string())
                .append_pair("after", &after.to_string())
                .append_pair("archived", if self.archived { "true" } else { "false" });
        }
        url.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owners() -> Vec<Owner> {
        vec![
            Owner::new("1", "a@example.com", "A", "One"),
            Owner::new("2", "shared@example.com", "B", "Two"),
            Owner::new("3", "Shared@Example.com", "C", "Three"),
            Owner::new("4", "shared@example.com", "D", "Four").archived(),
        ]
    }

    fn ids(page: &Value) -> Vec<&str> {
        page["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_str().unwrap())
            .collect()
    }

    #[test]
    fn the_email_filter_ignores_case_and_archived_owners() {
        let query = OwnerQuery::parse("email=SHARED%40example.com").unwrap();
        let page = query.page(&owners(), "http://h");
        assert_eq!(ids(&page), ["2", "3"]);
        assert!(page.get("paging").is_none());
        let archived = OwnerQuery::parse("email=shared%40example.com&archived=true").unwrap();
        assert_eq!(ids(&archived.page(&owners(), "http://h")), ["4"]);
    }

    #[test]
    fn pages_follow_the_cursor_to_the_end() {
        let first = OwnerQuery::parse("limit=2")
            .unwrap()
            .page(&owners(), "http://h");
        assert_eq!(ids(&first), ["1", "2"]);
        assert_eq!(first["paging"]["next"]["after"], json!("2"));
        let link = first["paging"]["next"]["link"].as_str().unwrap();
        assert_eq!(
            link,
            "http://h/crm/v3/owners/?limit=2&after=2&archived=false"
        );
        let second = OwnerQuery::parse("limit=2&after=2")
            .unwrap()
            .page(&owners(), "http://h");
        assert_eq!(ids(&second), ["3"]);
        assert!(second.get("paging").is_none());
        let beyond = OwnerQuery::parse("after=9")
            .unwrap()
            .page(&owners(), "http://h");
        assert_eq!(ids(&beyond), Vec::<&str>::new());
    }

    #[test]
    fn malformed_parameters_are_refused() {
        for query in [
            "limit=0",
            "limit=501",
            "limit=ten",
            "after=x",
            "archived=yes",
        ] {
            assert!(OwnerQuery::parse(query).is_err(), "{query}");
        }
        assert_eq!(OwnerQuery::parse("").unwrap().limit, DEFAULT_OWNER_LIMIT);
    }
}
