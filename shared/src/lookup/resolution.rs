//! [`Resolution`]: what a lookup found — one match, none, or several — as a value, never a
//! guess and never a crash.

/// The answer to a lookup: exactly one match, none, or several.
///
/// A lookup that finds nothing or finds several is an answer about the destination's data, not
/// a failure of the call: it is cached like a match (so a batch of records with one unknown
/// e-mail asks once), and the caller's [`OnUnresolved`](super::OnUnresolved) policy decides
/// what the record does about it. Failures of the call itself (timeouts, 5xx, 429) are the
/// kit's [`Error`](crate::Error) instead, and are never cached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution<V> {
    /// Exactly one match.
    Found(V),
    /// No match.
    NotFound,
    /// Several matches (e.g. several HubSpot owners share one e-mail): picking one would be a
    /// guess, so none is picked.
    Ambiguous {
        /// How many matched.
        count: usize,
    },
}

impl<V> Resolution<V> {
    /// The resolution of a complete list of matches: none → [`Resolution::NotFound`], one →
    /// [`Resolution::Found`], more → [`Resolution::Ambiguous`] with their number.
    ///
    /// Give it every match, from every page of a paged answer: the first page holding one
    /// match does not mean the answer holds one. Duplicates (the same record listed twice) are
    /// the caller's to remove first.
    ///
    /// ```
    /// use switchyard::lookup::Resolution;
    ///
    /// assert_eq!(Resolution::from_matches(Vec::<u64>::new()), Resolution::NotFound);
    /// assert_eq!(Resolution::from_matches([7]), Resolution::Found(7));
    /// assert_eq!(Resolution::from_matches([7, 9]), Resolution::Ambiguous { count: 2 });
    /// ```
    pub fn from_matches(matches: impl IntoIterator<Item = V>) -> Self {
        let mut matches = matches.into_iter();
        match (matches.next(), matches.next()) {
            (None, _) => Resolution::NotFound,
            (Some(only), None) => Resolution::Found(only),
            (Some(_), Some(_)) => Resolution::Ambiguous {
                count: 2 + matches.count(),
            },
        }
    }

    /// The match, if there is exactly one.
    pub fn found(&self) -> Option<&V> {
        match self {
            Resolution::Found(value) => Some(value),
            Resolution::NotFound | Resolution::Ambiguous { .. } => None,
        }
    }

    /// The match, if there is exactly one, by value.
    pub fn into_found(self) -> Option<V> {
        match self {
            Resolution::Found(value) => Some(value),
            Resolution::NotFound | Resolution::Ambiguous { .. } => None,
        }
    }

    /// The same resolution with the match converted (e.g. a whole owner record to its id).
    pub fn map<U>(self, f: impl FnOnce(V) -> U) -> Resolution<U> {
        match self {
            Resolution::Found(value) => Resolution::Found(f(value)),
            Resolution::NotFound => Resolution::NotFound,
            Resolution::Ambiguous { count } => Resolution::Ambiguous { count },
        }
    }

    /// `found`, `not_found` or `ambiguous`: a stable name for logs and ledger fields.
    pub fn kind(&self) -> &'static str {
        match self {
            Resolution::Found(_) => "found",
            Resolution::NotFound => "not_found",
            Resolution::Ambiguous { .. } => "ambiguous",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_of_matches_resolves_by_its_length() {
        assert_eq!(
            Resolution::from_matches(std::iter::empty::<&str>()),
            Resolution::NotFound
        );
        assert_eq!(Resolution::from_matches(["a"]), Resolution::Found("a"));
        assert_eq!(
            Resolution::from_matches(["a", "b"]),
            Resolution::Ambiguous { count: 2 }
        );
        assert_eq!(
            Resolution::from_matches(["a", "b", "c", "d"]),
            Resolution::Ambiguous { count: 4 }
        );
    }

    #[test]
    fn only_a_single_match_is_found() {
        assert_eq!(Resolution::Found(3).found(), Some(&3));
        assert_eq!(Resolution::<u8>::NotFound.found(), None);
        assert_eq!(Resolution::<u8>::Ambiguous { count: 2 }.into_found(), None);
        assert_eq!(Resolution::Found(3).into_found(), Some(3));
    }

    #[test]
    fn map_converts_the_match_and_keeps_the_rest() {
        assert_eq!(Resolution::Found(3).map(|n| n * 2), Resolution::Found(6));
        assert_eq!(
            Resolution::<u8>::Ambiguous { count: 3 }.map(|n| n * 2),
            Resolution::Ambiguous { count: 3 }
        );
        assert_eq!(
            Resolution::<u8>::NotFound.map(|n| n * 2),
            Resolution::NotFound
        );
    }

    #[test]
    fn kinds_are_stable_names() {
        assert_eq!(Resolution::Found(()).kind(), "found");
        assert_eq!(Resolution::<()>::NotFound.kind(), "not_found");
        assert_eq!(Resolution::<()>::Ambiguous { count: 2 }.kind(), "ambiguous");
    }
}
