//! Why a secret could not be read: classified, naming the secret, never showing its content.
//!
//! # A secret that cannot be used is a failure of the function, not of the record
//!
//! A deliverer reads the same secret for every record. When that secret is missing, refused,
//! malformed, or refused by Secrets Manager as it stands (scheduled for deletion), every record
//! fails alike, and nothing about any record is wrong: the function is. Calling that
//! [`ErrorClass::Permanent`] would dead-letter the whole backlog within minutes, and fixing the
//! secret would heal nothing. So these are [`ErrorClass::Auth`] — "the function's credentials
//! were refused or are missing" ([`crate::taxonomy`]) — whose records the batch runner hands
//! back to SQS on the long end of its redelivery schedule with an alarm metric, dead-lettering
//! them as auth only when the retry period runs out: once someone fixes the secret, the next read succeeds (failed reads are not
//! cached) and the backlog drains. Throttling and unavailability keep their own classes: they
//! pass without anyone acting.
//!
//! Only a failure the kit cannot name (an unknown 4xx code) stays permanent. A connector that
//! derives the secret id from the record (one secret per tenant), and wants a missing tenant's
//! records dead-lettered at once, maps [`SecretError::NotFound`] to its own permanent error.

use aws_sdk_secretsmanager::config::http::HttpResponse;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use serde_json::error::Category;

use crate::aws::errors::service_classification;
use crate::taxonomy::{Classification, Classify, ErrorClass};

/// A secret could not be read or parsed.
///
/// Every variant names the secret id (name or ARN) so the log line or dead-letter reason says
/// which configuration to fix, and none ever holds the secret's content: parse errors keep only
/// line and column, never serde's message (which can quote the input).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// Secrets Manager has no such secret (`ResourceNotFoundException`): the function's
    /// configuration is wrong, or the secret is not created yet; auth (see the module docs).
    #[error("secret `{id}` was not found in Secrets Manager: check its name or ARN and the region")]
    NotFound {
        /// The secret id that was asked for.
        id: String,
    },
    /// The secret exists but its content is not what the caller expects (not JSON, the wrong
    /// JSON shape, or binary only): auth, until someone fixes the secret.
    #[error("secret `{id}` is malformed: {reason}")]
    Malformed {
        /// The secret id that was read.
        id: String,
        /// What is wrong, in words that never quote the content.
        reason: String,
    },
    /// The function may not read the secret or its KMS key (`AccessDeniedException`,
    /// `DecryptionFailure`, bad or expired credentials): auth, until someone fixes the policy.
    #[error(
        "reading secret `{id}` was refused ({code}): check the function's IAM policy and the KMS key policy"
    )]
    Denied {
        /// The secret id that was asked for.
        id: String,
        /// The service's error code.
        code: String,
    },
    /// Secrets Manager asked us to slow down (`ThrottlingException`, HTTP 429).
    #[error("Secrets Manager throttled the read of secret `{id}`")]
    Throttled {
        /// The secret id that was asked for.
        id: String,
    },
    /// Secrets Manager could not be reached or failed on its side (timeout, connection error,
    /// `InternalServiceError`, 5xx): transient.
    #[error("Secrets Manager is unavailable for secret `{id}`: {detail}")]
    Unavailable {
        /// The secret id that was asked for.
        id: String,
        /// The transport or service error, without any response body.
        detail: String,
    },
    /// Secrets Manager refused the request itself.
    ///
    /// The configuration kinds are auth, like a missing secret: `InvalidRequestException`
    /// (e.g. the secret is scheduled for deletion), `InvalidParameterException` (the id is not
    /// a valid secret id) and a request the SDK could not build (`code` is `None`). Any other
    /// 4xx code is permanent: the kit cannot tell it is the function's fault.
    #[error("Secrets Manager rejected the read of secret `{id}`: {detail}")]
    Rejected {
        /// The secret id that was asked for.
        id: String,
        /// The service's error code; `None` when the SDK could not build the request.
        code: Option<String>,
        /// The service's error code and message, or why the request could not be built.
        detail: String,
    },
}

impl SecretError {
    /// The id of the secret this error is about, e.g. for a metric dimension.
    pub fn secret_id(&self) -> &str {
        match self {
            SecretError::NotFound { id }
            | SecretError::Malformed { id, .. }
            | SecretError::Denied { id, .. }
            | SecretError::Throttled { id }
            | SecretError::Unavailable { id, .. }
            | SecretError::Rejected { id, .. } => id,
        }
    }

    /// A secret whose content is not what was expected. `reason` must not quote the content.
    pub fn malformed(id: &str, reason: impl Into<String>) -> Self {
        SecretError::Malformed {
            id: id.to_owned(),
            reason: reason.into(),
        }
    }

    /// A secret that did not decode as JSON of type `T`, described by position only.
    ///
    /// serde_json's messages can quote the input (`invalid type: string "hunter2", expected
    /// u64`), so only the error category, line and column are kept, plus the name of a missing
    /// field (which comes from `T`, never from the content).
    pub(crate) fn from_json<T>(id: &str, error: &serde_json::Error) -> Self {
        let target = std::any::type_name::<T>();
        let at = format!("line {}, column {}", error.line(), error.column());
        let reason = match error.classify() {
            Category::Syntax | Category::Eof => format!("it is not valid JSON ({at})"),
            Category::Data => match missing_field(error) {
                Some(field) => format!("its JSON has no field `{field}` required by `{target}`"),
                None => format!("its JSON does not have the shape of `{target}` ({at})"),
            },
            Category::Io => format!("its JSON could not be read ({at})"),
        };
        Self::malformed(id, reason)
    }

    /// Maps a failed `GetSecretValue` call to its class, as the module docs describe.
    pub(crate) fn from_sdk(id: &str, error: SdkError<GetSecretValueError, HttpResponse>) -> Self {
        let id = id.to_owned();
        match error {
            SdkError::TimeoutError(_) => SecretError::Unavailable {
                id,
                detail: chain(&error),
            },
            SdkError::DispatchFailure(_) => SecretError::Unavailable {
                id,
                detail: chain(&error),
            },
            // A response that did not parse: the body may hold the secret, so no details.
            SdkError::ResponseError(_) => SecretError::Unavailable {
                id,
                detail: "the response could not be read".to_owned(),
            },
            SdkError::ConstructionFailure(_) => SecretError::Rejected {
                id,
                code: None,
                detail: format!("the request could not be built: {}", chain(&error)),
            },
            SdkError::ServiceError(context) => {
                let status = context.raw().status().as_u16();
                let service_error = context.into_err();
                let code = service_error.code().unwrap_or("unknown").to_owned();
                let detail = match service_error.message() {
                    Some(message) => format!("{code} (HTTP {status}): {message}"),
                    None => format!("{code} (HTTP {status})"),
                };
                if service_error.code() == Some("ResourceNotFoundException") {
                    return SecretError::NotFound { id };
                }
                match service_classification(service_error.code(), status).class {
                    ErrorClass::Auth => SecretError::Denied { id, code },
                    ErrorClass::Throttled => SecretError::Throttled { id },
                    ErrorClass::Transient => SecretError::Unavailable { id, detail },
                    ErrorClass::Permanent => SecretError::Rejected {
                        id,
                        code: Some(code),
                        detail,
                    },
                }
            }
            other => SecretError::Unavailable {
                id,
                detail: chain(&other),
            },
        }
    }
}

/// `Rejected` codes that mean "the secret or its id, as configured, cannot be served".
const CONFIGURATION_CODES: &[&str] = &["InvalidRequestException", "InvalidParameterException"];

impl Classify for SecretError {
    /// A secret the function cannot use is [`ErrorClass::Auth`], a failure of the function
    /// that fixing the secret heals (see the module docs); throttling and unavailability pass
    /// by themselves; only an unknown rejection is permanent.
    fn classification(&self) -> Classification {
        match self {
            SecretError::NotFound { .. }
            | SecretError::Malformed { .. }
            | SecretError::Denied { .. } => Classification::auth(),
            SecretError::Rejected { code, .. } => match code.as_deref() {
                None => Classification::auth(),
                Some(code) if CONFIGURATION_CODES.contains(&code) => Classification::auth(),
                Some(_) => Classification::permanent(),
            },
            SecretError::Throttled { .. } => Classification::throttled(None),
            SecretError::Unavailable { .. } => Classification::transient(),
        }
    }
}

/// The name in serde's "missing field `name`" message: it comes from the target type.
fn missing_field(error: &serde_json::Error) -> Option<String> {
    let message = error.to_string();
    let rest = message.strip_prefix("missing field `")?;
    rest.split_once('`').map(|(field, _)| field.to_owned())
}

/// An error and its sources, by `Display` only (the SDK's `Debug` can include the raw response).
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taxonomy::ErrorClass;
    use aws_sdk_secretsmanager::error::{ConnectorError, ErrorMetadata};

    const VALUE: &str = "s3cr3t-value";

    fn service_error(code: &str, status: u16) -> SecretError {
        let meta = ErrorMetadata::builder()
            .code(code)
            .message("service says no")
            .build();
        let raw = HttpResponse::new(status.try_into().unwrap(), "".into());
        SecretError::from_sdk(
            "app/slack",
            SdkError::service_error(GetSecretValueError::generic(meta), raw),
        )
    }

    #[test]
    fn service_errors_are_classified_by_code_then_status() {
        let cases = [
            ("ResourceNotFoundException", 400, ErrorClass::Auth),
            ("AccessDeniedException", 400, ErrorClass::Auth),
            ("DecryptionFailure", 400, ErrorClass::Auth),
            ("UnrecognizedClientException", 400, ErrorClass::Auth),
            ("ThrottlingException", 400, ErrorClass::Throttled),
            ("InternalServiceError", 500, ErrorClass::Transient),
            ("InvalidRequestException", 400, ErrorClass::Auth),
            ("InvalidParameterException", 400, ErrorClass::Auth),
            ("LimitExceededException", 400, ErrorClass::Throttled),
            ("SomethingNew", 503, ErrorClass::Transient),
            ("SomethingNew", 429, ErrorClass::Throttled),
            ("SomethingNew", 403, ErrorClass::Auth),
            ("SomethingNew", 404, ErrorClass::Permanent),
        ];
        for (code, status, class) in cases {
            let error = service_error(code, status);
            assert_eq!(error.class(), class, "{code} {status}");
            assert!(error.to_string().contains("app/slack"), "{error}");
        }
    }

    #[test]
    fn not_found_is_a_failure_of_the_function_naming_the_secret() {
        let error = service_error("ResourceNotFoundException", 400);
        assert!(matches!(error, SecretError::NotFound { .. }));
        assert_eq!(error.class(), ErrorClass::Auth);
        assert_eq!(error.secret_id(), "app/slack");
        assert!(error.to_string().contains("`app/slack` was not found"));
    }

    #[test]
    fn a_secret_scheduled_for_deletion_is_a_failure_of_the_function() {
        let error = service_error("InvalidRequestException", 400);
        match &error {
            SecretError::Rejected { code, detail, .. } => {
                assert_eq!(code.as_deref(), Some("InvalidRequestException"));
                assert!(detail.contains("service says no"), "{detail}");
            }
            other => panic!("expected Rejected, got {other:?}"),
        }
        assert_eq!(error.class(), ErrorClass::Auth);
    }

    #[test]
    fn only_an_unknown_rejection_is_permanent() {
        let unknown = service_error("SomethingNew", 400);
        assert!(
            matches!(unknown, SecretError::Rejected { .. }),
            "{unknown:?}"
        );
        assert_eq!(unknown.class(), ErrorClass::Permanent);

        let unbuildable: SdkError<GetSecretValueError, HttpResponse> =
            SdkError::construction_failure("secret_id was not specified");
        let error = SecretError::from_sdk("app/slack", unbuildable);
        assert!(
            matches!(error, SecretError::Rejected { code: None, .. }),
            "{error:?}"
        );
        assert_eq!(
            error.class(),
            ErrorClass::Auth,
            "the function's configuration"
        );
    }

    #[test]
    fn transport_failures_are_transient() {
        let timeout: SdkError<GetSecretValueError, HttpResponse> =
            SdkError::timeout_error("operation timeout (all attempts including retries)");
        let error = SecretError::from_sdk("app/slack", timeout);
        assert_eq!(error.class(), ErrorClass::Transient);
        assert!(error.to_string().contains("timeout"), "{error}");

        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let dispatch: SdkError<GetSecretValueError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::io(Box::new(refused)));
        let error = SecretError::from_sdk("app/slack", dispatch);
        assert_eq!(error.class(), ErrorClass::Transient);
        assert!(error.to_string().contains("refused"), "{error}");
    }

    #[test]
    fn unreadable_responses_never_carry_the_body() {
        let raw = HttpResponse::new(200u16.try_into().unwrap(), VALUE.into());
        let error = SecretError::from_sdk(
            "app/slack",
            SdkError::response_error(format!("bad json near {VALUE}"), raw),
        );
        assert_eq!(error.class(), ErrorClass::Transient);
        assert!(!error.to_string().contains(VALUE));
        assert!(!format!("{error:?}").contains(VALUE));
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Shape {
        signing_secret: String,
        retries: u32,
    }

    fn json_error(input: &str) -> SecretError {
        let error = serde_json::from_str::<Shape>(input).unwrap_err();
        SecretError::from_json::<Shape>("app/slack", &error)
    }

    #[test]
    fn json_errors_name_the_secret_and_never_quote_it() {
        let inputs = [
            VALUE.to_owned(),
            format!("{{\"signing_secret\": \"{VALUE}\""),
            format!("{{\"signing_secret\": \"x\", \"retries\": \"{VALUE}\"}}"),
            format!("{{\"signing_secret\": [\"{VALUE}\"], \"retries\": 1}}"),
            format!("\"{VALUE}\""),
        ];
        for input in inputs {
            let error = json_error(&input);
            let (text, debug) = (error.to_string(), format!("{error:?}"));
            assert_eq!(error.class(), ErrorClass::Auth);
            assert!(
                text.starts_with("secret `app/slack` is malformed"),
                "{text}"
            );
            assert!(
                !text.contains(VALUE) && !debug.contains(VALUE),
                "{text} / {debug}"
            );
        }
        assert!(
            json_error(VALUE)
                .to_string()
                .contains("not valid JSON (line 1")
        );
    }

    #[test]
    fn a_missing_field_is_named() {
        let error = json_error(r#"{"signing_secret": "x"}"#);
        assert!(
            error.to_string().contains("no field `retries` required by"),
            "{error}"
        );
    }

    #[test]
    fn the_error_chain_is_joined_without_repeats() {
        let inner = std::io::Error::other("connection refused");
        let outer = ConnectorError::io(Box::new(inner));
        assert_eq!(chain(&outer), "io error: connection refused");
    }
}
