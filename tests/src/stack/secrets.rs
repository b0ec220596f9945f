//! The local values of the template's secrets: each receiver's test signing secret (what the
//! demo's and tests' signed webhooks use) and the deliverers' credentials the stand-ins accept.
//! Test values only, never real ones; written to a file for `local_stack.py --secret-values`.

use serde_json::{Map, Value, json};

use super::description::pascal_case;
use crate::{hubspot, providers, slack};

/// The secret values by the template's logical ids: `<Name>SigningSecret` for every receiver,
/// `SlackNotifyBotToken` and `HubspotContactsOAuthSecret`.
pub fn local_secret_values() -> Value {
    let mut values = Map::new();
    for receiver in providers::RECEIVERS {
        values.insert(
            format!("{}SigningSecret", pascal_case(receiver)),
            json!(providers::test_secret(receiver)),
        );
    }
    values.insert(
        "SlackNotifyBotToken".into(),
        json!({"bot_token": slack::TOKEN}),
    );
    values.insert(
        "HubspotContactsOAuthSecret".into(),
        json!({
            "client_id": hubspot::CLIENT_ID,
            "client_secret": hubspot::CLIENT_SECRET,
            "refresh_token": hubspot::REFRESH_TOKEN,
        }),
    );
    Value::Object(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_secret_of_the_template_gets_a_value() {
        // local_stack.py refuses a key that names no secret, and a secret without a value here
        // would get a placeholder the stand-ins refuse: the names must match the template's.
        let template =
            std::fs::read_to_string(crate::moto::workspace_root().join("infra/template.yaml"))
                .unwrap();
        let values = local_secret_values();
        let values = values.as_object().unwrap();
        for name in values.keys() {
            assert!(
                template.contains(&format!(
                    "\n  {name}:\n    Type: AWS::SecretsManager::Secret"
                )),
                "{name} is not a secret of infra/template.yaml"
            );
        }
        let secrets = template
            .matches("Type: AWS::SecretsManager::Secret")
            .count();
        assert_eq!(
            values.len(),
            secrets,
            "a secret of the template has no local value"
        );
    }
}
