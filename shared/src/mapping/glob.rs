//! Which events a rule selects: exact text or a `*` glob on the envelope's `source` and `type`.
//!
//! Only `*` (any run of characters, dots included, possibly none) is special: event types are
//! dotted words (`customer.subscription.updated`), and `customer.*` is the one shape rules
//! need. `?`, `[`, `]`, `{` and `}` are refused rather than taken literally, so that a pattern
//! written for a richer glob dialect fails at load instead of silently matching nothing.

/// A parsed pattern: text to compare, or the literal pieces between `*`s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    text: String,
    /// `None` for exact text; else the pieces around each `*` (`customer.*` → `["customer.",
    /// ""]`).
    pieces: Option<Vec<String>>,
}

/// Why a pattern is refused; the message quotes the pattern, which comes from the mapping
/// file, not from an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PatternError {
    #[error("an empty pattern matches nothing; use `*` to match anything")]
    Empty,
    #[error("pattern `{0}` uses `{1}`: only `*` is a wildcard")]
    Reserved(String, char),
    #[error("pattern `{0}` contains whitespace or a control character")]
    Whitespace(String),
    #[error("pattern `{0}` has `**`: a single `*` already matches any run of characters")]
    DoubleStar(String),
}

impl Pattern {
    /// Parses `text`.
    pub(crate) fn parse(text: &str) -> Result<Self, PatternError> {
        if text.is_empty() {
            return Err(PatternError::Empty);
        }
        if let Some(c) = text.chars().find(|c| "?[]{}".contains(*c)) {
            return Err(PatternError::Reserved(text.to_owned(), c));
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(PatternError::Whitespace(text.to_owned()));
        }
        if text.contains("**") {
            return Err(PatternError::DoubleStar(text.to_owned()));
        }
        let pieces = text
            .contains('*')
            .then(|| text.split('*').map(str::to_owned).collect());
        Ok(Self {
            text: text.to_owned(),
            pieces,
        })
    }

    /// Whether `value` matches the whole pattern.
    pub(crate) fn matches(&self, value: &str) -> bool {
        let Some(pieces) = &self.pieces else {
            return self.text == value;
        };
        // pieces has at least two elements: the text contains a `*`.
        let (Some((first, rest)), Some(last)) = (pieces.split_first(), pieces.last()) else {
            return false;
        };
        let Some(mut remaining) = value.strip_prefix(first.as_str()) else {
            return false;
        };
        let middle = &rest[..rest.len().saturating_sub(1)];
        for piece in middle {
            match remaining.find(piece.as_str()) {
                Some(at) => remaining = &remaining[at + piece.len()..],
                None => return false,
            }
        }
        remaining.ends_with(last.as_str())
    }
}

/// One or more patterns: a rule's `source` or `type` (`"stripe"` or `["a.*", "b"]`), matching
/// when any of them does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Patterns(pub(crate) Vec<Pattern>);

impl Patterns {
    /// Whether any of the patterns matches `value`.
    pub(crate) fn matches(&self, value: &str) -> bool {
        self.0.iter().any(|p| p.matches(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, value: &str) -> bool {
        Pattern::parse(pattern).unwrap().matches(value)
    }

    #[test]
    fn exact_patterns_match_only_themselves() {
        assert!(matches("invoice.paid", "invoice.paid"));
        assert!(!matches("invoice.paid", "invoice.paid.x"));
        assert!(!matches("invoice.paid", "Invoice.paid"));
    }

    #[test]
    fn a_star_matches_any_run_including_dots_and_nothing() {
        assert!(matches("customer.*", "customer.created"));
        assert!(matches("customer.*", "customer.subscription.updated"));
        assert!(matches("customer.*", "customer."));
        assert!(!matches("customer.*", "customer"));
        assert!(!matches("customer.*", "invoice.customer.x"));
        assert!(matches("*", "anything at all"));
        assert!(matches("*.failed", "invoice.payment_failed.failed"));
        assert!(!matches("*.failed", "invoice.payment_failed"));
        assert!(matches("*payment*", "invoice.payment_failed"));
        assert!(matches("a*b*c", "abc"));
        assert!(matches("a*b*c", "a-x-b-y-c"));
        assert!(!matches("a*b*c", "a-x-c"));
        // The last piece must not overlap with a middle piece.
        assert!(!matches("a*bc*c", "abc"));
    }

    #[test]
    fn invalid_patterns_are_refused() {
        assert_eq!(Pattern::parse(""), Err(PatternError::Empty));
        assert_eq!(
            Pattern::parse("invoice.?"),
            Err(PatternError::Reserved("invoice.?".into(), '?'))
        );
        assert!(matches!(
            Pattern::parse("invoice.[ab]"),
            Err(PatternError::Reserved(_, '['))
        ));
        assert!(matches!(
            Pattern::parse("invoice.{a,b}"),
            Err(PatternError::Reserved(_, '{'))
        ));
        assert!(matches!(
            Pattern::parse("invoice paid"),
            Err(PatternError::Whitespace(_))
        ));
        assert!(matches!(
            Pattern::parse("invoice.**"),
            Err(PatternError::DoubleStar(_))
        ));
        assert_eq!(
            Pattern::parse("a?").unwrap_err().to_string(),
            "pattern `a?` uses `?`: only `*` is a wildcard"
        );
    }

    #[test]
    fn any_of_several_patterns() {
        let patterns = Patterns(vec![
            Pattern::parse("invoice.payment_failed").unwrap(),
            Pattern::parse("charge.*").unwrap(),
        ]);
        assert!(patterns.matches("charge.failed"));
        assert!(patterns.matches("invoice.payment_failed"));
        assert!(!patterns.matches("invoice.paid"));
    }
}
