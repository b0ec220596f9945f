//! Field names compared the way people write them: `firstName`, `first_name`, `First Name` and
//! `firstname` are one name, and `e-mail`, `mail` and `email` are one meaning.

/// Groups of names that mean the same field, each written normalised ([`joined`]). The first of
/// each group names it.
const SYNONYMS: &[&[&str]] = &[
    &[
        "email",
        "emailaddress",
        "mail",
        "mailaddress",
        "customeremail",
        "contactemail",
    ],
    &["zip", "zipcode", "postalcode", "postcode", "postal"],
    &[
        "phone",
        "phonenumber",
        "telephone",
        "tel",
        "mobile",
        "mobilephone",
        "cell",
        "cellphone",
    ],
    &["firstname", "givenname", "forename", "first"],
    &["lastname", "familyname", "surname", "last"],
    &[
        "company",
        "companyname",
        "organization",
        "organisation",
        "org",
        "business",
        "employer",
    ],
    &["city", "town", "locality"],
    &["state", "region", "province", "county"],
    &["country", "countrycode", "countryname"],
    &[
        "address",
        "street",
        "streetaddress",
        "line1",
        "addressline1",
    ],
    &["website", "url", "homepage", "web", "site"],
    &["jobtitle", "title", "position", "role"],
    &["currency", "currencycode"],
];

/// Words too general to match on alone: `Company Name` does not contain a customer's `name`.
const GENERIC: &[&str] = &[
    "name", "id", "number", "no", "code", "type", "value", "data", "object", "text", "label", "key",
];

/// Names that hold a whole personal name, which splits into first and last.
const FULL_NAMES: &[&str] = &[
    "name",
    "fullname",
    "customername",
    "contactname",
    "displayname",
];

/// The words of a name: split at `_`, `-`, `.`, spaces and lower-to-upper case changes, lower-cased.
pub fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            previous_lower = false;
            continue;
        }
        if c.is_uppercase() && previous_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// A name normalised for comparison: its [`words`] run together (`First Name` → `firstname`).
pub fn joined(name: &str) -> String {
    words(name).concat()
}

/// The synonym group `name` belongs to (by the group's first entry), if any.
pub fn group(name: &str) -> Option<&'static str> {
    let joined = joined(name);
    SYNONYMS
        .iter()
        .find(|g| g.contains(&joined.as_str()))
        .map(|g| g[0])
}

/// Whether `name` holds a whole personal name.
pub fn is_full_name(name: &str) -> bool {
    FULL_NAMES.contains(&joined(name).as_str())
}

/// How alike two names are, 0 to 1: the same name 1.0, synonyms 0.85, one's words containing
/// all of the other's (`customer_email` and `email`) 0.7, else 0.
pub fn similarity(destination: &str, source: &str) -> f64 {
    let (d, s) = (joined(destination), joined(source));
    if d.is_empty() || s.is_empty() {
        return 0.0;
    }
    if d == s {
        return 1.0;
    }
    if let (Some(a), Some(b)) = (group(destination), group(source))
        && a == b
    {
        return 0.85;
    }
    let (dw, sw) = (words(destination), words(source));
    // `b`'s words all in `a`, and at least one of them telling.
    let contains = |a: &[String], b: &[String]| {
        b.iter().all(|w| a.contains(w)) && b.iter().any(|w| !GENERIC.contains(&w.as_str()))
    };
    if contains(&sw, &dw) || contains(&dw, &sw) {
        return 0.7;
    }
    0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_separators_do_not_matter() {
        for name in [
            "firstName",
            "first_name",
            "First Name",
            "first-name",
            "FIRST_NAME",
        ] {
            assert_eq!(joined(name), "firstname", "{name}");
        }
        assert_eq!(words("postalCode"), ["postal", "code"]);
        assert_eq!(words("address.line1"), ["address", "line1"]);
    }

    #[test]
    fn synonyms_are_one_field() {
        assert_eq!(similarity("email", "e-mail"), 1.0);
        assert_eq!(similarity("email", "mail"), 0.85);
        assert_eq!(similarity("zip", "postal_code"), 0.85);
        assert_eq!(similarity("zip", "postcode"), 0.85);
        assert_eq!(similarity("phone", "telephone"), 0.85);
        assert_eq!(similarity("phone", "mobile"), 0.85);
        assert_eq!(similarity("firstname", "given_name"), 0.85);
        assert_eq!(similarity("lastname", "familyName"), 0.85);
        assert_eq!(similarity("lastname", "surname"), 0.85);
        assert_eq!(similarity("company", "organization"), 0.85);
    }

    #[test]
    fn a_name_inside_another_is_a_weaker_match() {
        assert_eq!(
            similarity("email", "customer_email"),
            0.85,
            "a synonym listed"
        );
        assert_eq!(similarity("city", "billing_city"), 0.7);
        assert_eq!(similarity("email", "phone"), 0.0);
        assert_eq!(
            similarity("Company Name", "name"),
            0.0,
            "a generic word alone"
        );
        assert_eq!(similarity("customer_id", "id"), 0.0);
        assert_eq!(similarity("", "x"), 0.0);
    }

    #[test]
    fn whole_names_are_recognised() {
        assert!(is_full_name("name"));
        assert!(is_full_name("Full Name"));
        assert!(!is_full_name("first_name"));
    }
}
