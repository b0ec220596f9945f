//! Templates: compiled at load (syntax, filters and tests checked), rendered per event with
//! errors reduced to what is safe to report.
//!
//! minijinja reports syntax errors when a template is compiled, but an unknown filter or test
//! only when the template runs — on every event, into the dead-letter queue. So the loader
//! also scans each template's tags for the filters (`| name`, `{% filter name %}`) and tests
//! (`is name`, `is not name`) it uses and checks each against the environment, which makes a
//! typo such as `{{ data.amount | mony(data.currency) }}` a cold-start error.

use std::collections::HashSet;

use minijinja::value::Value as TemplateValue;
use minijinja::{Environment, ErrorKind};

use super::error::{LoadProblem, TemplateError};
use super::filters;

/// Whether text holds template syntax; text without it is a literal and is never rendered.
pub(crate) fn is_template(text: &str) -> bool {
    text.contains("{{") || text.contains("{%") || text.contains("{#")
}

/// The templates of a mapping, compiled into one environment.
pub(crate) struct Templates {
    env: Environment<'static>,
    globals: HashSet<String>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates").finish_non_exhaustive()
    }
}

impl Templates {
    pub(crate) fn new() -> Self {
        let env = filters::environment();
        let globals = env.globals().map(|(name, _)| name.to_owned()).collect();
        Self { env, globals }
    }

    /// Whether `name` is one of minijinja's global functions (`range`, `dict`, …) rather than
    /// something the event must provide.
    pub(crate) fn is_global(&self, name: &str) -> bool {
        self.globals.contains(name)
    }

    /// Compiles `source` as a template named `name` (with `#2`, `#3`, … appended if that name
    /// is taken: rule and field names may contain `/`). Returns the name it got and the
    /// variables it reads, nested attribute lookups included (`data.customer.email`).
    pub(crate) fn add(
        &mut self,
        name: &str,
        source: String,
    ) -> Result<(String, Vec<String>), LoadProblem> {
        let mut unique = name.to_owned();
        let mut n = 1;
        while self.env.get_template(&unique).is_ok() {
            n += 1;
            unique = format!("{name}#{n}");
        }
        let name = unique;
        let (filters, tests) = used_names(&source);
        self.env
            .add_template_owned(name.clone(), source)
            .map_err(|e| LoadProblem::Template {
                message: e
                    .detail()
                    .map_or_else(|| e.kind().to_string(), str::to_owned),
                line: e.line(),
            })?;
        for filter in filters {
            if self.probe(&format!("{{{{ none | {filter} }}}}")) == Some(ErrorKind::UnknownFilter) {
                return Err(LoadProblem::UnknownFilter(filter));
            }
        }
        for test in tests {
            if self.probe(&format!("{{{{ none is {test} }}}}")) == Some(ErrorKind::UnknownTest) {
                return Err(LoadProblem::UnknownTest(test));
            }
        }
        let template = self
            .env
            .get_template(&name)
            .map_err(|e| LoadProblem::Template {
                message: e.kind().to_string(),
                line: None,
            })?;
        let mut variables: Vec<String> = template.undeclared_variables(true).into_iter().collect();
        variables.sort();
        Ok((name, variables))
    }

    /// The kind of error a one-line probe template gives, if any.
    fn probe(&self, source: &str) -> Option<ErrorKind> {
        self.env.render_str(source, ()).err().map(|e| e.kind())
    }

    /// Renders the template `name` with `context`; a failure keeps only what is safe to
    /// report ([`TemplateError`]).
    pub(crate) fn render(
        &self,
        name: &str,
        context: &TemplateValue,
    ) -> Result<String, Box<TemplateError>> {
        let failed = |e: minijinja::Error| Box::new(TemplateError::new(name, &e));
        let template = self.env.get_template(name).map_err(failed)?;
        template.render(context).map_err(failed)
    }
}

/// The filters and tests a (compiled, so well-formed) template uses, by name.
fn used_names(source: &str) -> (Vec<String>, Vec<String>) {
    let mut filters = Vec::new();
    let mut tests = Vec::new();
    let mut rest = source;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let (close, is_block) = match after.as_bytes().first() {
            Some(b'{') => ("}}", false),
            Some(b'%') => ("%}", true),
            Some(b'#') => {
                rest = after.find("#}").map_or("", |end| &after[end + 2..]);
                continue;
            }
            _ => {
                rest = after;
                continue;
            }
        };
        let (tokens, end) = tokens(&after[1..], close);
        rest = &after[1 + end..];
        if is_block && tokens.first() == Some(&Token::Ident("raw")) {
            rest = skip_raw(rest);
            continue;
        }
        let mut previous: Option<&Token<'_>> = None;
        for (i, token) in tokens.iter().enumerate() {
            let next = tokens.get(i + 1);
            match (previous, token, next) {
                (_, Token::Pipe, Some(Token::Ident(name))) => filters.push((*name).to_owned()),
                (None, Token::Ident("filter"), Some(Token::Ident(name))) if is_block => {
                    filters.push((*name).to_owned());
                }
                (p, Token::Ident("is"), Some(Token::Ident(name))) if p != Some(&Token::Dot) => {
                    let name = if *name == "not" {
                        match tokens.get(i + 2) {
                            Some(Token::Ident(name)) => name,
                            _ => continue,
                        }
                    } else {
                        name
                    };
                    tests.push((*name).to_owned());
                }
                _ => {}
            }
            previous = Some(token);
        }
    }
    filters.sort();
    filters.dedup();
    tests.sort();
    tests.dedup();
    (filters, tests)
}

#[derive(Debug, PartialEq, Eq)]
enum Token<'a> {
    Ident(&'a str),
    Pipe,
    Dot,
    Other,
}

/// The tokens of a tag's content up to `close` (outside string literals), and the offset just
/// past `close` (or the end).
fn tokens<'a>(content: &'a str, close: &str) -> (Vec<Token<'a>>, usize) {
    let bytes = content.as_bytes();
    let mut tokens = Vec::new();
    // Whitespace control (`{%-`, `{{+`) is not part of the tag's content.
    let mut i = usize::from(matches!(bytes.first(), Some(b'-' | b'+')));
    while i < bytes.len() {
        // Bytes, not `str` slices: `i` may sit inside a multi-byte character.
        if bytes[i..].starts_with(close.as_bytes()) {
            return (tokens, i + close.len());
        }
        let b = bytes[i];
        if b == b'"' || b == b'\'' {
            i += 1;
            while i < bytes.len() && bytes[i] != b {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            tokens.push(Token::Other);
        } else if b.is_ascii_alphabetic() || b == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            tokens.push(Token::Ident(&content[start..i]));
        } else {
            if !b.is_ascii_whitespace() {
                tokens.push(match b {
                    b'|' => Token::Pipe,
                    b'.' => Token::Dot,
                    _ => Token::Other,
                });
            }
            i += 1;
        }
    }
    (tokens, bytes.len())
}

/// What follows `{% endraw %}`.
fn skip_raw(mut rest: &str) -> &str {
    while let Some(open) = rest.find("{%") {
        let (tokens, end) = tokens(&rest[open + 2..], "%}");
        rest = &rest[open + 2 + end..];
        if tokens.first() == Some(&Token::Ident("endraw")) {
            return rest;
        }
    }
    ""
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(source: &str) -> (Vec<String>, Vec<String>) {
        used_names(source)
    }

    #[test]
    fn filters_and_tests_are_found() {
        let (filters, tests) = names(
            "{{ data.a | money(data.c) | upper }} {% if x is defined and y is not none %}\
             {% filter lower %}X{% endfilter %}{% endif %}{{ a|trim }}",
        );
        assert_eq!(filters, ["lower", "money", "trim", "upper"]);
        assert_eq!(tests, ["defined", "none"]);
    }

    #[test]
    fn strings_comments_raw_blocks_and_attributes_are_not_names() {
        let (filters, tests) = names(
            "{{ 'a | fake' ~ \"b is fake\" ~ 'it\\'s | fake' }}{# {{ x | fake }} #}\
             {% raw %}{{ x | fake }}{% endraw %}{{ data.is }}{{ y | real }}",
        );
        assert_eq!(filters, ["real"]);
        assert!(tests.is_empty());
        let (filters, _) = names("{%- raw -%}{{ x | fake }}{%- endraw -%}{{ x | after }}");
        assert_eq!(filters, ["after"]);
    }

    #[test]
    fn literal_text_is_not_a_template() {
        assert!(!is_template("Invoice paid"));
        assert!(is_template("{{ id }}"));
        assert!(is_template("{% if x %}a{% endif %}"));
        assert!(is_template("{# note #}"));
    }

    #[test]
    fn compiling_reports_variables_and_refuses_bad_templates() {
        let mut templates = Templates::new();
        let (name, vars) = templates
            .add(
                "t",
                "{{ data.amount | money(data.currency) }} {{ id }} {{ range(2) | join(',') }}"
                    .into(),
            )
            .unwrap();
        assert_eq!(name, "t");
        assert_eq!(vars, ["data.amount", "data.currency", "id", "range"]);
        let (name, _) = templates.add("t", "{{ id }}".into()).unwrap();
        assert_eq!(name, "t#2");
        assert!(templates.is_global("range"));
        assert!(!templates.is_global("id"));

        match templates.add("bad", "ok\n{{ data.x | }}".into()) {
            Err(LoadProblem::Template { line, message }) => {
                assert_eq!(line, Some(2));
                assert!(message.contains("expected identifier"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            templates.add("f", "{{ data.x | mony('usd') }}".into()),
            Err(LoadProblem::UnknownFilter(f)) if f == "mony"
        ));
        assert!(matches!(
            templates.add("t2", "{% if data.x is definedd %}{% endif %}".into()),
            Err(LoadProblem::UnknownTest(t)) if t == "definedd"
        ));
        // Built-in filters and tests are known.
        templates
            .add(
                "ok",
                "{{ data.x | default('-') | length }}{% if data.x is none %}{% endif %}".into(),
            )
            .unwrap();
    }

    #[test]
    fn run_time_failures_keep_kind_line_and_filter_error_only() {
        let mut templates = Templates::new();
        templates
            .add("t", "line one\n{{ data.x | money('usd') }}".into())
            .unwrap();
        let context =
            minijinja::context! { data => minijinja::context! { x => "jane@example.com" } };
        let failure = templates.render("t", &context).unwrap_err();
        assert_eq!(failure.template(), "t");
        assert_eq!(failure.line(), Some(2));
        assert_eq!(failure.kind(), "invalid operation");
        assert!(matches!(
            failure.filter(),
            Some(crate::mapping::TransformError::Input {
                transform: "money",
                ..
            })
        ));
        assert!(!format!("{failure:?}").contains("jane"));

        templates.add("op", "{{ data.x + 1 }}".into()).unwrap();
        let failure = templates.render("op", &context).unwrap_err();
        assert_eq!(failure.filter(), None);
        assert!(!format!("{failure:?}").contains("jane"));
    }
}
