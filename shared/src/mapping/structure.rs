//! Structured field values: a TOML table or array (Slack Block Kit `blocks`, a CRM's nested
//! object) whose strings are templates, rendered into JSON of the same shape.
//!
//! Strings without template syntax stay literal and are never rendered, and a subtree with no
//! template in it is kept as one ready JSON value, so a mostly static `blocks` array costs a
//! clone plus the few renders it needs.

use minijinja::value::Value as TemplateValue;
use serde_json::{Map, Value};

use super::error::{LoadProblem, TemplateError};
use super::template::{Templates, is_template};

/// A compiled structured value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    /// A subtree without templates.
    Literal(Value),
    /// A string rendered by the template of this name.
    Template(String),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

impl Node {
    /// Compiles `value`, whose templates are named `name/<position>` (`rule/blocks/0/text`);
    /// `variables` receives what each template reads.
    pub(crate) fn compile(
        value: Value,
        name: &str,
        templates: &mut Templates,
        variables: &mut Vec<String>,
    ) -> Result<Node, LoadProblem> {
        let node = match value {
            Value::String(text) if is_template(&text) => {
                let (name, used) = templates.add(name, text)?;
                variables.extend(used);
                Node::Template(name)
            }
            Value::Array(items) => {
                let mut nodes = Vec::with_capacity(items.len());
                for (i, item) in items.into_iter().enumerate() {
                    nodes.push(Node::compile(
                        item,
                        &format!("{name}/{i}"),
                        templates,
                        variables,
                    )?);
                }
                match literals(&nodes) {
                    Some(values) => Node::Literal(Value::Array(values)),
                    None => Node::Array(nodes),
                }
            }
            Value::Object(members) => {
                let mut nodes = Vec::with_capacity(members.len());
                for (key, member) in members {
                    let node =
                        Node::compile(member, &format!("{name}/{key}"), templates, variables)?;
                    nodes.push((key, node));
                }
                let (keys, values): (Vec<String>, Vec<Node>) = nodes.iter().cloned().unzip();
                match literals(&values) {
                    Some(values) => {
                        Node::Literal(Value::Object(keys.into_iter().zip(values).collect()))
                    }
                    None => Node::Object(nodes),
                }
            }
            literal => Node::Literal(literal),
        };
        Ok(node)
    }

    /// The JSON value for one event.
    pub(crate) fn render(
        &self,
        templates: &Templates,
        context: &TemplateValue,
    ) -> Result<Value, Box<TemplateError>> {
        Ok(match self {
            Node::Literal(value) => value.clone(),
            Node::Template(name) => Value::String(templates.render(name, context)?),
            Node::Array(nodes) => Value::Array(
                nodes
                    .iter()
                    .map(|node| node.render(templates, context))
                    .collect::<Result<_, _>>()?,
            ),
            Node::Object(nodes) => {
                let mut members = Map::new();
                for (key, node) in nodes {
                    members.insert(key.clone(), node.render(templates, context)?);
                }
                Value::Object(members)
            }
        })
    }
}

/// The values of `nodes` if every one is a literal.
fn literals(nodes: &[Node]) -> Option<Vec<Value>> {
    nodes
        .iter()
        .map(|node| match node {
            Node::Literal(value) => Some(value.clone()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn templates_inside_structures_are_rendered_in_place() {
        let mut templates = Templates::new();
        let mut variables = Vec::new();
        let blocks = json!([
            {"type": "header", "text": {"type": "plain_text", "text": "Payment failed"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "*Invoice* {{ data.id }}"},
             "fields": [{"type": "mrkdwn", "text": "{{ data.amount | money('usd') }}"}]},
            {"type": "divider"}
        ]);
        let node = Node::compile(blocks, "r/blocks", &mut templates, &mut variables).unwrap();
        variables.sort();
        assert_eq!(variables, ["data.amount", "data.id"]);
        let Node::Array(items) = &node else {
            panic!("{node:?}")
        };
        assert!(matches!(items[0], Node::Literal(_)));
        assert!(matches!(items[2], Node::Literal(_)));
        let context =
            minijinja::context! { data => minijinja::context! { id => "in_1", amount => 1234 } };
        assert_eq!(
            node.render(&templates, &context).unwrap(),
            json!([
                {"type": "header", "text": {"type": "plain_text", "text": "Payment failed"}},
                {"type": "section", "text": {"type": "mrkdwn", "text": "*Invoice* in_1"},
                 "fields": [{"type": "mrkdwn", "text": "12.34 USD"}]},
                {"type": "divider"}
            ])
        );
    }

    #[test]
    fn a_structure_without_templates_is_one_literal() {
        let mut templates = Templates::new();
        let value = json!({"a": [1, "two", {"b": true}]});
        let node = Node::compile(value.clone(), "r/f", &mut templates, &mut Vec::new()).unwrap();
        assert_eq!(node, Node::Literal(value));
    }

    #[test]
    fn failures_name_the_template_inside_the_structure() {
        let mut templates = Templates::new();
        let value = json!([{"text": "{{ data.x | money('usd') }}"}]);
        let node = Node::compile(value, "r/blocks", &mut templates, &mut Vec::new()).unwrap();
        let context =
            minijinja::context! { data => minijinja::context! { x => "jane@example.com" } };
        let failure = node.render(&templates, &context).unwrap_err();
        assert_eq!(failure.template(), "r/blocks/0/text");
        let e = Node::compile(
            json!({"t": "{{ x | }}"}),
            "r/f",
            &mut templates,
            &mut Vec::new(),
        );
        assert!(matches!(e, Err(LoadProblem::Template { .. })));
    }
}
