//! What a record does when a lookup does not resolve to one match: [`OnUnresolved`], chosen per
//! field, and the reason it reports ([`Unresolved`]), worded from a [`Subject`].

use std::fmt;

use super::Resolution;
use crate::error::Error;

/// What a lookup looks for, by what, in the words its reasons use.
///
/// Reasons are built from these static words and a count only — never from the key — so the
/// e-mail (or any other value looked up) cannot reach logs, the ledger or dead-letter
/// attributes through them.
///
/// ```
/// use switchyard::lookup::Subject;
///
/// const OWNER_BY_EMAIL: Subject = Subject::new("owner", "owners", "the e-mail");
/// assert_eq!(OWNER_BY_EMAIL.not_found(), "owner not found for the e-mail");
/// assert_eq!(OWNER_BY_EMAIL.ambiguous(2), "2 owners share the e-mail");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject {
    thing: &'static str,
    things: &'static str,
    key: &'static str,
}

impl Subject {
    /// `thing` and its plural `things` (`"owner"`, `"owners"`) looked up by `key` (`"the
    /// e-mail"`: a description of the key, not its value).
    pub const fn new(thing: &'static str, things: &'static str, key: &'static str) -> Self {
        Subject { thing, things, key }
    }

    /// What is looked up, singular: also the `lookup` field of the cache's log lines.
    pub const fn thing(&self) -> &'static str {
        self.thing
    }

    /// The reason for no match: `owner not found for the e-mail`.
    pub fn not_found(&self) -> String {
        format!("{} not found for {}", self.thing, self.key)
    }

    /// The reason for `count` matches: `2 owners share the e-mail`.
    pub fn ambiguous(&self, count: usize) -> String {
        format!("{count} {} share {}", self.things, self.key)
    }
}

/// Why a lookup left its field unset: the note a caller hands to the ledger (or, under
/// [`OnUnresolved::Fail`], the reason the record failed).
///
/// Its `Display` is the reason ([`Unresolved::reason`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unresolved {
    subject: Subject,
    /// `None` for no match, `Some(n)` for `n` matches.
    ambiguous: Option<usize>,
}

impl Unresolved {
    /// The note for `resolution`, or `None` when it found exactly one match.
    pub fn of<V>(subject: Subject, resolution: &Resolution<V>) -> Option<Self> {
        let ambiguous = match resolution {
            Resolution::Found(_) => return None,
            Resolution::NotFound => None,
            Resolution::Ambiguous { count } => Some(*count),
        };
        Some(Unresolved { subject, ambiguous })
    }

    /// What was looked up.
    pub fn subject(&self) -> Subject {
        self.subject
    }

    /// `not_found` or `ambiguous`: a stable name for logs and ledger fields.
    pub fn kind(&self) -> &'static str {
        match self.ambiguous {
            None => "not_found",
            Some(_) => "ambiguous",
        }
    }

    /// How many matched: 0 when nothing did.
    pub fn count(&self) -> usize {
        self.ambiguous.unwrap_or(0)
    }

    /// The reason in words: `owner not found for the e-mail`, `2 owners share the e-mail`.
    pub fn reason(&self) -> String {
        match self.ambiguous {
            None => self.subject.not_found(),
            Some(count) => self.subject.ambiguous(count),
        }
    }
}

impl fmt::Display for Unresolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason())
    }
}

/// What a record does when a lookup finds nothing or several matches: chosen per field by the
/// mapping or the caller.
///
/// Deserialises from `"leave_unset"` / `"fail"`, so a mapping file can say it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnUnresolved {
    /// The field is left unset and the record goes on; the reason is reported (the default:
    /// a contact without an owner is better than no contact).
    #[default]
    LeaveUnset,
    /// The record fails as permanent with the reason (dead-lettered: retrying cannot find an
    /// owner that is not there; the cache would answer the same for a TTL anyway).
    Fail,
}

/// A lookup's value under a policy: the match, or nothing and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved<V> {
    /// The field's value: the single match, else `None` (leave the field unset).
    pub value: Option<V>,
    /// Why `value` is `None`, for the ledger; `None` when there was a match.
    pub note: Option<Unresolved>,
}

impl OnUnresolved {
    /// Applies the policy to `resolution`: the match as `Some`; otherwise, under
    /// [`OnUnresolved::LeaveUnset`], `None` with the [`Unresolved`] note, and under
    /// [`OnUnresolved::Fail`], a permanent [`Error`] whose message is the note's reason.
    ///
    /// ```
    /// use switchyard::lookup::{OnUnresolved, Resolution, Subject};
    /// use switchyard::{Classify, ErrorClass};
    ///
    /// const OWNER_BY_EMAIL: Subject = Subject::new("owner", "owners", "the e-mail");
    /// let two: Resolution<String> = Resolution::Ambiguous { count: 2 };
    ///
    /// let owner = OnUnresolved::LeaveUnset.apply(OWNER_BY_EMAIL, two.clone())?;
    /// assert_eq!(owner.value, None);
    /// assert_eq!(owner.note.map(|n| n.reason()).as_deref(), Some("2 owners share the e-mail"));
    ///
    /// let error = OnUnresolved::Fail.apply(OWNER_BY_EMAIL, two).unwrap_err();
    /// assert_eq!(error.class(), ErrorClass::Permanent);
    /// assert_eq!(error.to_string(), "2 owners share the e-mail");
    /// # Ok::<(), switchyard::Error>(())
    /// ```
    ///
    /// # Errors
    /// Under [`OnUnresolved::Fail`], when `resolution` is not [`Resolution::Found`].
    pub fn apply<V>(
        self,
        subject: Subject,
        resolution: Resolution<V>,
    ) -> Result<Resolved<V>, Error> {
        let note = Unresolved::of(subject, &resolution);
        match (self, note) {
            (_, None) => Ok(Resolved {
                value: resolution.into_found(),
                note: None,
            }),
            (OnUnresolved::LeaveUnset, Some(note)) => Ok(Resolved {
                value: None,
                note: Some(note),
            }),
            (OnUnresolved::Fail, Some(note)) => Err(Error::permanent(note.reason())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taxonomy::{Classify, ErrorClass};

    const OWNER: Subject = Subject::new("owner", "owners", "the e-mail");

    #[test]
    fn a_match_is_the_value_under_either_policy() {
        for policy in [OnUnresolved::LeaveUnset, OnUnresolved::Fail] {
            let resolved = policy.apply(OWNER, Resolution::Found(42)).unwrap();
            assert_eq!(
                resolved,
                Resolved {
                    value: Some(42),
                    note: None
                }
            );
        }
    }

    #[test]
    fn leave_unset_leaves_the_field_unset_with_the_reason() {
        let resolved = OnUnresolved::LeaveUnset
            .apply(OWNER, Resolution::<u64>::NotFound)
            .unwrap();
        assert_eq!(resolved.value, None);
        let note = resolved.note.unwrap();
        assert_eq!(note.reason(), "owner not found for the e-mail");
        assert_eq!(note.kind(), "not_found");
        assert_eq!(note.count(), 0);
        assert_eq!(note.subject(), OWNER);

        let resolved = OnUnresolved::LeaveUnset
            .apply(OWNER, Resolution::<u64>::Ambiguous { count: 3 })
            .unwrap();
        assert_eq!(resolved.value, None);
        let note = resolved.note.unwrap();
        assert_eq!(note.to_string(), "3 owners share the e-mail");
        assert_eq!(note.kind(), "ambiguous");
        assert_eq!(note.count(), 3);
    }

    #[test]
    fn fail_is_a_permanent_error_naming_the_reason() {
        let error = OnUnresolved::Fail
            .apply(OWNER, Resolution::<u64>::NotFound)
            .unwrap_err();
        assert_eq!(error.class(), ErrorClass::Permanent);
        assert_eq!(error.to_string(), "owner not found for the e-mail");

        let error = OnUnresolved::Fail
            .apply(OWNER, Resolution::<u64>::Ambiguous { count: 2 })
            .unwrap_err();
        assert_eq!(error.class(), ErrorClass::Permanent);
        assert_eq!(error.to_string(), "2 owners share the e-mail");
    }

    #[test]
    fn leave_unset_is_the_default_and_both_read_from_configuration() {
        assert_eq!(OnUnresolved::default(), OnUnresolved::LeaveUnset);
        #[derive(serde::Deserialize)]
        struct Field {
            on_unresolved: OnUnresolved,
        }
        let field: Field = toml::from_str(r#"on_unresolved = "fail""#).unwrap();
        assert_eq!(field.on_unresolved, OnUnresolved::Fail);
        let field: Field = toml::from_str(r#"on_unresolved = "leave_unset""#).unwrap();
        assert_eq!(field.on_unresolved, OnUnresolved::LeaveUnset);
        assert!(toml::from_str::<Field>(r#"on_unresolved = "guess""#).is_err());
    }

    #[test]
    fn a_match_has_no_note() {
        assert_eq!(Unresolved::of(OWNER, &Resolution::Found("x")), None);
    }
}
