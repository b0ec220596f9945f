//! AWS SDK failures → the kit's classification, for every AWS client of the kit (Secrets
//! Manager, SQS, ...).
//!
//! As smithy-rs's own classifiers do, the service's error code decides first (it is specific),
//! and the HTTP status second ([`crate::http::classify::classify_status`], the same table as for SaaS
//! APIs). Transport failures (time-outs, connection errors, unreadable responses) are transient;
//! a request the SDK could not even build is permanent.

use aws_sdk_sqs::config::http::HttpResponse;
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};

use crate::http::classify::classify_status;
use crate::taxonomy::Classification;

/// Codes meaning "your credentials or permissions were refused".
const DENIED: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "DecryptionFailure",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredTokenException",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "MissingAuthenticationToken",
];

/// Codes meaning "slow down".
const THROTTLED: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "OverLimit",
    "KmsThrottled",
];

/// Codes meaning "a fault on AWS's side that may pass".
const TRANSIENT: &[&str] = &[
    "InternalServiceError",
    "InternalFailure",
    "InternalError",
    "ServiceUnavailable",
];

/// The class of a service error from its code (if any) and HTTP status.
pub fn service_classification(code: Option<&str>, status: u16) -> Classification {
    match code {
        Some(c) if DENIED.contains(&c) => Classification::auth(),
        Some(c) if THROTTLED.contains(&c) => Classification::throttled(None),
        Some(c) if TRANSIENT.contains(&c) => Classification::transient(),
        _ => reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| classify_status(s, None))
            .unwrap_or_else(Classification::permanent),
    }
}

/// The class of any failed SDK call (`SdkError` is the same type in every AWS SDK crate).
pub fn sdk_classification<E: ProvideErrorMetadata>(
    error: &SdkError<E, HttpResponse>,
) -> Classification {
    match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            Classification::transient()
        }
        SdkError::ConstructionFailure(_) => Classification::permanent(),
        SdkError::ServiceError(context) => {
            service_classification(context.err().code(), context.raw().status().as_u16())
        }
        _ => Classification::transient(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorClass;

    #[test]
    fn codes_decide_before_status() {
        let class = |code, status| service_classification(code, status).class;
        assert_eq!(class(Some("AccessDeniedException"), 400), ErrorClass::Auth);
        assert_eq!(class(Some("AccessDenied"), 403), ErrorClass::Auth);
        assert_eq!(
            class(Some("ThrottlingException"), 400),
            ErrorClass::Throttled
        );
        assert_eq!(class(Some("RequestThrottled"), 403), ErrorClass::Throttled);
        assert_eq!(class(Some("KmsThrottled"), 400), ErrorClass::Throttled);
        assert_eq!(class(Some("InternalError"), 400), ErrorClass::Transient);
        assert_eq!(
            class(Some("ServiceUnavailable"), 400),
            ErrorClass::Transient
        );
    }

    #[test]
    fn unknown_codes_fall_back_to_the_status_table() {
        let class = |code, status| service_classification(code, status).class;
        assert_eq!(class(Some("QueueDoesNotExist"), 400), ErrorClass::Permanent);
        assert_eq!(
            class(Some("InvalidParameterValue"), 400),
            ErrorClass::Permanent
        );
        assert_eq!(class(None, 429), ErrorClass::Throttled);
        assert_eq!(class(None, 401), ErrorClass::Auth);
        assert_eq!(class(None, 403), ErrorClass::Auth);
        assert_eq!(class(None, 500), ErrorClass::Transient);
        assert_eq!(class(None, 503), ErrorClass::Transient);
        assert_eq!(class(None, 404), ErrorClass::Permanent);
        assert_eq!(
            class(None, 200),
            ErrorClass::Permanent,
            "an error is never 'no error'"
        );
    }
}
