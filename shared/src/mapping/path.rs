//! Paths into an event, written as the envelope travels in JSON: `data.customer.email`,
//! `data.items.0.sku`, `id`, `type`, `time`, an extension such as `deliveryid`.
//!
//! The first segment names a context attribute, `data`, or an extension attribute (whose
//! names are lower-case `a-z0-9`, as CloudEvents requires). Attributes are strings (or, for an
//! extension, a string, boolean or integer), so only `data` takes further segments; those name
//! object members, or array elements when the segment is a number and the value an array.

use std::fmt;

/// The envelope attribute a path (or a template variable) starts from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Root {
    Id,
    Source,
    Type,
    Subject,
    Time,
    SpecVersion,
    DataContentType,
    DataSchema,
    Data,
    Extension(String),
}

impl Root {
    /// The root named `name`, if it can be one: a context attribute, `data`, or a valid
    /// extension name.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "id" => Root::Id,
            "source" => Root::Source,
            "type" => Root::Type,
            "subject" => Root::Subject,
            "time" => Root::Time,
            "specversion" => Root::SpecVersion,
            "datacontenttype" => Root::DataContentType,
            "dataschema" => Root::DataSchema,
            "data" => Root::Data,
            "data_base64" => return None,
            _ if is_extension_name(name) => Root::Extension(name.to_owned()),
            _ => return None,
        })
    }

    /// The attribute's name, as in the envelope.
    pub(crate) fn name(&self) -> &str {
        match self {
            Root::Id => "id",
            Root::Source => "source",
            Root::Type => "type",
            Root::Subject => "subject",
            Root::Time => "time",
            Root::SpecVersion => "specversion",
            Root::DataContentType => "datacontenttype",
            Root::DataSchema => "dataschema",
            Root::Data => "data",
            Root::Extension(name) => name,
        }
    }
}

/// CloudEvents extension names: lower-case letters and digits.
fn is_extension_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Path {
    root: Root,
    /// The segments after `data` (empty for every other root).
    segments: Vec<String>,
}

/// Why a path is refused; messages quote the path, which comes from the mapping file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PathError {
    #[error("the path is empty")]
    Empty,
    #[error("path `{0}` has an empty segment")]
    EmptySegment(String),
    #[error(
        "path `{0}` does not start with an envelope attribute (`data`, `id`, `source`, `type`, \
         `subject`, `time`, …) or an extension name (lower-case a-z0-9)"
    )]
    UnknownRoot(String),
    #[error("path `{0}` goes into `{1}`, which is text: only `data` has members")]
    IntoScalar(String, String),
}

impl Path {
    /// Parses a dotted path.
    pub(crate) fn parse(text: &str) -> Result<Self, PathError> {
        if text.is_empty() {
            return Err(PathError::Empty);
        }
        let mut segments = text.split('.');
        let first = segments.next().unwrap_or_default();
        let rest: Vec<String> = segments.map(str::to_owned).collect();
        if first.is_empty() || rest.iter().any(String::is_empty) {
            return Err(PathError::EmptySegment(text.to_owned()));
        }
        let root = Root::from_name(first).ok_or_else(|| PathError::UnknownRoot(text.to_owned()))?;
        if root != Root::Data && !rest.is_empty() {
            return Err(PathError::IntoScalar(
                text.to_owned(),
                root.name().to_owned(),
            ));
        }
        Ok(Self {
            root,
            segments: rest,
        })
    }

    /// The attribute the path starts from.
    pub(crate) fn root(&self) -> &Root {
        &self.root
    }

    /// The segments after `data`.
    pub(crate) fn segments(&self) -> &[String] {
        &self.segments
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.root.name())?;
        for segment in &self.segments {
            write!(f, ".{segment}")?;
        }
        Ok(())
    }
}

/// The value at `segments` below `value`: object members by name, array elements by index.
pub(crate) fn lookup<'v>(
    value: &'v serde_json::Value,
    segments: &[String],
) -> Option<&'v serde_json::Value> {
    segments.iter().try_fold(value, |node, segment| match node {
        serde_json::Value::Object(members) => members.get(segment),
        serde_json::Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn data_paths_keep_their_segments() {
        let path = Path::parse("data.items.0.sku").unwrap();
        assert_eq!(path.root(), &Root::Data);
        assert_eq!(path.segments(), ["items", "0", "sku"]);
        assert_eq!(path.to_string(), "data.items.0.sku");
        assert_eq!(Path::parse("data").unwrap().segments().len(), 0);
    }

    #[test]
    fn attributes_and_extensions() {
        assert_eq!(Path::parse("id").unwrap().root(), &Root::Id);
        assert_eq!(Path::parse("type").unwrap().root(), &Root::Type);
        assert_eq!(Path::parse("time").unwrap().root(), &Root::Time);
        assert_eq!(
            Path::parse("deliveryid").unwrap().root(),
            &Root::Extension("deliveryid".into())
        );
    }

    #[test]
    fn invalid_paths_are_refused() {
        assert_eq!(Path::parse(""), Err(PathError::Empty));
        assert!(matches!(
            Path::parse("data..x"),
            Err(PathError::EmptySegment(_))
        ));
        assert!(matches!(
            Path::parse("data.x."),
            Err(PathError::EmptySegment(_))
        ));
        assert!(matches!(Path::parse(".x"), Err(PathError::EmptySegment(_))));
        assert!(matches!(
            Path::parse("Data.x"),
            Err(PathError::UnknownRoot(_))
        ));
        assert!(matches!(
            Path::parse("data_base64"),
            Err(PathError::UnknownRoot(_))
        ));
        assert!(matches!(
            Path::parse("delivery-id"),
            Err(PathError::UnknownRoot(_))
        ));
        assert_eq!(
            Path::parse("subject.x").unwrap_err().to_string(),
            "path `subject.x` goes into `subject`, which is text: only `data` has members"
        );
    }

    #[test]
    fn lookup_follows_members_and_indexes() {
        let data = json!({"customer": {"email": "a"}, "items": [{"sku": "s1"}, {"sku": "s2"}],
                          "0": {"x": 1}});
        let at = |p: &str| {
            let segments: Vec<String> = p.split('.').map(str::to_owned).collect();
            lookup(&data, &segments).cloned()
        };
        assert_eq!(at("customer.email"), Some(json!("a")));
        assert_eq!(at("items.1.sku"), Some(json!("s2")));
        assert_eq!(at("0.x"), Some(json!(1)));
        assert_eq!(at("items.2.sku"), None);
        assert_eq!(at("items.first"), None);
        assert_eq!(at("customer.email.x"), None);
    }
}
