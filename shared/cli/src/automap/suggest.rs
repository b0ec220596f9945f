//! Which sample leaf fills which destination field, and how sure that is.
//!
//! Every (field, leaf) pair gets a confidence from 0 to 1: the names' similarity
//! ([`names::similarity`], the label's too), raised when the value has the shape the field
//! wants (an e-mail for `email`), lowered when it has another shape or no value to check. A
//! field with no similar name may still be matched by shape alone (0.55). A first or last name
//! field may take the first or the rest of a whole name (`name`: "Ada Lovelace"), split.
//! Pairs are then taken greedily, best first (ties: the shallower leaf), each field once and
//! each leaf once (a whole name may feed both halves); pairs under the threshold are dropped.

use serde_json::Value;

use super::fields::DestinationField;
use super::names;
use super::sample::{Leaf, Sample};
use super::shapes::{self, Shape};

/// Confidence of a match by value shape alone.
const SHAPE_ONLY: f64 = 0.55;
/// Confidence of half of a split whole name.
const SPLIT_NAME: f64 = 0.65;

/// How a field's value is computed.
#[derive(Debug, Clone, PartialEq)]
pub enum Extraction {
    /// The leaf's value.
    Value,
    /// The first word of a whole name.
    FirstWord,
    /// The words after the first.
    RestWords,
}

/// One suggested field.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    /// The destination field.
    pub field: String,
    /// The path into the event.
    pub path: String,
    /// How its value is taken.
    pub extraction: Extraction,
    /// 0 to 1.
    pub confidence: f64,
    /// Why, in a few words.
    pub why: String,
    /// The shape the value has, if recognised.
    pub shape: Option<Shape>,
    /// Whether the value is text (so trimming applies).
    pub text: bool,
    /// Whether the field is required.
    pub required: bool,
}

/// What [`suggest`] found.
#[derive(Debug, Clone, Default)]
pub struct Suggestions {
    /// Matched fields, in the destination list's order.
    pub matched: Vec<Suggestion>,
    /// Destination fields nothing matched, in the list's order.
    pub unmatched: Vec<DestinationField>,
}

/// Matches `fields` against `sample`, keeping suggestions of at least `threshold`.
pub fn suggest(fields: &[DestinationField], sample: &Sample, threshold: f64) -> Suggestions {
    let mut candidates: Vec<(usize, usize, Suggestion, usize)> = Vec::new();
    for (fi, field) in fields.iter().enumerate() {
        for (li, leaf) in sample.leaves.iter().enumerate() {
            if let Some(s) = direct(field, leaf) {
                candidates.push((fi, li, s, leaf.depth));
            }
            candidates.extend(split_name(field, leaf).map(|s| (fi, usize::MAX, s, leaf.depth)));
        }
    }
    candidates.retain(|c| c.2.confidence >= threshold);
    candidates.sort_by(|a, b| {
        b.2.confidence
            .total_cmp(&a.2.confidence)
            .then(a.3.cmp(&b.3))
            .then(a.2.path.cmp(&b.2.path))
    });
    let mut by_field: Vec<Option<Suggestion>> = vec![None; fields.len()];
    let mut used_leaves = Vec::new();
    for (fi, li, suggestion, _) in candidates {
        if by_field[fi].is_some() || (li != usize::MAX && used_leaves.contains(&li)) {
            continue;
        }
        if li != usize::MAX {
            used_leaves.push(li);
        }
        by_field[fi] = Some(suggestion);
    }
    let mut out = Suggestions::default();
    for (field, suggestion) in fields.iter().zip(by_field) {
        match suggestion {
            Some(s) => out.matched.push(s),
            None => out.unmatched.push(field.clone()),
        }
    }
    out
}

fn round(x: f64) -> f64 {
    (x.clamp(0.0, 1.0) * 100.0).round() / 100.0
}

/// The leaf's value as the field's, if the names or the value's shape say so.
fn direct(field: &DestinationField, leaf: &Leaf) -> Option<Suggestion> {
    let by_name = names::similarity(&field.name, &leaf.name);
    let by_label = field
        .label
        .as_deref()
        .map_or(0.0, |label| names::similarity(label, &leaf.name) * 0.95);
    let name_score = by_name.max(by_label);
    let wanted = shapes::wanted(&field.name, field.declared_type.as_deref());
    let have = shapes::of_value(&leaf.name, &leaf.value);
    let (mut score, mut why) = match name_score {
        s if s >= 1.0 => (1.0, "same name".to_owned()),
        s if s >= 0.85 => (s, "synonym".to_owned()),
        s if s > 0.0 => (s, "name contains the other".to_owned()),
        _ => match (wanted, have) {
            (Some(w), Some(h)) if w == h => {
                (SHAPE_ONLY, format!("value looks like {}", h.describe()))
            }
            _ => return None,
        },
    };
    if name_score > 0.0 {
        match (wanted, have) {
            (Some(w), Some(h)) if w == h => {
                score += 0.1;
                why.push_str(&format!("; value looks like {}", h.describe()));
            }
            (Some(w), Some(h)) => {
                score -= 0.4;
                why.push_str(&format!(
                    "; but the value looks like {}, not {}",
                    h.describe(),
                    w.describe()
                ));
            }
            (Some(w), None) if leaf.value.is_null() => {
                score -= 0.1;
                why.push_str(&format!(
                    "; no value in the sample to check it is {}",
                    w.describe()
                ));
            }
            (Some(w), None) => {
                score -= 0.3;
                why.push_str(&format!(
                    "; but the value does not look like {}",
                    w.describe()
                ));
            }
            (None, _) => {}
        }
    }
    Some(Suggestion {
        field: field.name.clone(),
        path: leaf.path.clone(),
        extraction: Extraction::Value,
        confidence: round(score),
        why: format!("`{}`: {why}", leaf.name),
        shape: have.or(wanted.filter(|_| leaf.value.is_null())),
        text: leaf.value.is_string(),
        required: field.required,
    })
}

/// Half of a whole name for a first or last name field.
fn split_name(field: &DestinationField, leaf: &Leaf) -> Option<Suggestion> {
    let extraction = match names::group(&field.name) {
        Some("firstname") => Extraction::FirstWord,
        Some("lastname") => Extraction::RestWords,
        _ => return None,
    };
    let Value::String(text) = &leaf.value else {
        return None;
    };
    if !names::is_full_name(&leaf.name) {
        return None;
    }
    let two_words = text.trim().contains(' ');
    let half = if extraction == Extraction::FirstWord {
        "first word"
    } else {
        "words after the first"
    };
    Some(Suggestion {
        field: field.name.clone(),
        path: leaf.path.clone(),
        extraction,
        confidence: if two_words {
            SPLIT_NAME + 0.05
        } else {
            SPLIT_NAME
        },
        why: format!("`{}`: the {half} of a whole name", leaf.name),
        shape: None,
        text: true,
        required: field.required,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::automap::sample;
    use serde_json::json;

    fn fields(names: &[&str]) -> Vec<DestinationField> {
        names
            .iter()
            .map(|n| DestinationField {
                name: n.to_string(),
                label: None,
                declared_type: None,
                required: false,
            })
            .collect()
    }

    fn matched<'a>(s: &'a Suggestions, field: &str) -> Option<&'a Suggestion> {
        s.matched.iter().find(|m| m.field == field)
    }

    #[test]
    fn names_synonyms_and_shapes_choose_the_leaf() {
        let sample = sample::read(&json!({
            "First Name": "Ada", "familyName": "Lovelace", "e-mail": "ada@example.com",
            "telephone": "+44 20 7946 0958", "address": {"postal_code": "N1 9GU"},
            "billing": {"address": {"postal_code": "EC1"}}, "organization": "Analytical Engines",
        }));
        let s = suggest(
            &fields(&[
                "firstname",
                "lastname",
                "email",
                "phone",
                "zip",
                "company",
                "website",
            ]),
            &sample,
            0.5,
        );
        assert_eq!(matched(&s, "firstname").unwrap().path, "data.First Name");
        assert_eq!(matched(&s, "lastname").unwrap().path, "data.familyName");
        let email = matched(&s, "email").unwrap();
        assert_eq!(
            (email.path.as_str(), email.confidence),
            ("data.e-mail", 1.0)
        );
        assert_eq!(email.shape, Some(Shape::Email));
        assert_eq!(matched(&s, "phone").unwrap().confidence, 0.95);
        assert_eq!(
            matched(&s, "zip").unwrap().path,
            "data.address.postal_code",
            "shallower wins"
        );
        assert_eq!(matched(&s, "company").unwrap().path, "data.organization");
        assert_eq!(
            s.unmatched
                .iter()
                .map(|f| f.name.as_str())
                .collect::<Vec<_>>(),
            ["website"]
        );
    }

    #[test]
    fn a_value_of_the_wrong_shape_lowers_the_match() {
        let sample =
            sample::read(&json!({"email": "not an address", "contact": "ada@example.com"}));
        let s = suggest(&fields(&["email"]), &sample, 0.5);
        let email = matched(&s, "email").unwrap();
        assert_eq!(email.path, "data.email");
        assert_eq!(email.confidence, 0.7);
        let strict = suggest(&fields(&["email"]), &sample, 0.75);
        assert!(matched(&strict, "email").is_none(), "under the threshold");
    }

    #[test]
    fn a_shape_alone_can_match() {
        let sample = sample::read(&json!({"contact": "ada@example.com"}));
        let s = suggest(&fields(&["email"]), &sample, 0.5);
        assert_eq!(matched(&s, "email").unwrap().confidence, SHAPE_ONLY);
    }

    #[test]
    fn a_whole_name_feeds_first_and_last() {
        let sample = sample::read(&json!({"name": "Ada King Lovelace"}));
        let s = suggest(&fields(&["firstname", "lastname"]), &sample, 0.5);
        assert_eq!(
            matched(&s, "firstname").unwrap().extraction,
            Extraction::FirstWord
        );
        assert_eq!(
            matched(&s, "lastname").unwrap().extraction,
            Extraction::RestWords
        );
        assert_eq!(matched(&s, "lastname").unwrap().path, "data.name");
    }

    #[test]
    fn one_leaf_fills_one_field() {
        let sample = sample::read(&json!({"phone": "+1 555 010 9999"}));
        let s = suggest(&fields(&["phone", "mobilephone"]), &sample, 0.5);
        assert_eq!(matched(&s, "phone").unwrap().confidence, 1.0);
        assert!(matched(&s, "mobilephone").is_none());
    }
}
