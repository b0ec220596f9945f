//! `*` globs for `replay --type`: the dialect of the mapping files' rules (`customer.*`,
//! `*.failed`), where `*` matches any run of characters, dots included.
//!
//! Written here rather than taken from a crate: the kit's own matcher is private to the mapping
//! module, and a full glob crate would treat `?`, `[` and `{` as special where event types
//! never need them.

/// Whether `text` matches `pattern`, `*` matching any run of characters (possibly none).
pub fn matches(pattern: &str, text: &str) -> bool {
    let mut pieces = pattern.split('*');
    let Some(first) = pieces.next() else {
        return text.is_empty();
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = pieces.collect();
    let Some((last, middle)) = pieces.split_last() else {
        return rest.is_empty(); // no `*`: exact text
    };
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_match_any_run_and_the_rest_is_exact() {
        assert!(matches("customer.*", "customer.created"));
        assert!(matches("customer.*", "customer.subscription.updated"));
        assert!(matches("customer.*", "customer."));
        assert!(!matches("customer.*", "invoice.paid"));
        assert!(!matches("*.failed", "invoice.payment_failed"));
        assert!(matches("*_failed", "invoice.payment_failed"));
        assert!(matches("*", ""));
        assert!(matches("a*b*c", "abc"));
        assert!(matches("a*b*c", "a-b-b-c"));
        assert!(!matches("a*b*c", "a-c"));
        assert!(!matches("ab*ba", "aba"), "pieces may not overlap");
        assert!(matches("invoice.paid", "invoice.paid"));
        assert!(!matches("invoice.paid", "invoice.paid.x"));
    }
}
