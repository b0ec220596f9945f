//! AWS SDK failures → the kit's classification, for every AWS client of the kit (Secrets
//! Manager, SQS, ...).
//!
//! As smithy-rs's own classifiers do, the service's error code decides first (it is specific),
//! and the HTTP status second ([`crate::http::classify::classify_status`], the same table as for SaaS
//! APIs). Transport failures (time-outs, connection errors, unreadable responses) are transient;
//! a request the SDK could not even build is permanent.
//!
//! # Whose lists
//!
//! Throttling and transient codes come from the SDK itself:
//! [`THROTTLING_ERRORS`] and [`TRANSIENT_ERRORS`] are the lists the SDK's own retry classifier
//! uses (`aws_runtime::retries::classifiers`), so the kit calls "throttled" exactly what the
//! SDK backs off on — DynamoDB's `ProvisionedThroughputExceededException` (HTTP 400),
//! `TransactionInProgressException`, EC2's `RequestLimitExceeded`, S3's `SlowDown`, ... — and
//! follows the SDK when it learns a new code. A hand-kept copy would drift from it.
//!
//! The kit keeps its own short lists only where the SDK has none:
//!
//! - [`DENIED`]: credentials or permissions refused. The SDK never retries these and so has no
//!   list; the kit needs them as [`ErrorClass::Auth`](crate::ErrorClass::Auth), a failure of the
//!   function rather than of the record.
//! - [`SERVER_FAULTS`]: AWS-side faults that may pass. The SDK retries them by their 5xx status,
//!   not by code; naming them keeps them transient if a service ever sends one with another
//!   status.
//! - [`SERVICE_THROTTLING`]: throttling codes of services the kit calls that the SDK's list
//!   lacks (SQS's `KmsThrottled`).

use aws_runtime::retries::classifiers::{THROTTLING_ERRORS, TRANSIENT_ERRORS};
use aws_sdk_sqs::config::http::HttpResponse;
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};

use crate::http::classify::classify_status;
use crate::taxonomy::Classification;

/// Codes meaning "your credentials or permissions were refused": the function's identity or
/// its access to a key, not the request's content.
pub const DENIED: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "DecryptionFailure",
    "KmsAccessDenied",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredTokenException",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "MissingAuthenticationToken",
];

/// Codes of faults on AWS's side that may pass (the SDK retries these by their 5xx status).
pub const SERVER_FAULTS: &[&str] = &[
    "InternalServiceError",
    "InternalServerError",
    "InternalFailure",
    "InternalError",
    "ServiceUnavailable",
];

/// Throttling codes of services the kit calls that are missing from the SDK's
/// [`THROTTLING_ERRORS`]: SQS answers `KmsThrottled` (HTTP 400) when the KMS key of an
/// encrypted queue is throttled.
pub const SERVICE_THROTTLING: &[&str] = &["KmsThrottled"];

/// The class of a service error from its code (if any) and HTTP status.
pub fn service_classification(code: Option<&str>, status: u16) -> Classification {
    let listed = |lists: &[&[&str]]| code.is_some_and(|c| lists.iter().any(|l| l.contains(&c)));
    if listed(&[DENIED]) {
        Classification::auth()
    } else if listed(&[THROTTLING_ERRORS, SERVICE_THROTTLING]) {
        Classification::throttled(None)
    } else if listed(&[TRANSIENT_ERRORS, SERVER_FAULTS]) {
        Classification::transient()
    } else {
        reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| classify_status(s, None))
            .unwrap_or_else(Classification::permanent)
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
    // The SDK's lists by their full path, so a local table of the same name cannot stand in.
    use aws_runtime::retries::classifiers as sdk;

    fn class(code: Option<&str>, status: u16) -> ErrorClass {
        service_classification(code, status).class
    }

    #[test]
    fn dynamodb_provisioned_throughput_is_throttling_despite_its_400() {
        assert_eq!(
            class(Some("ProvisionedThroughputExceededException"), 400),
            ErrorClass::Throttled
        );
        assert_eq!(
            class(Some("TransactionInProgressException"), 400),
            ErrorClass::Throttled
        );
    }

    #[test]
    fn throttling_and_timeout_codes_are_classified_as_the_sdk_retries_them() {
        assert_eq!(
            class(Some("ThrottlingException"), 400),
            ErrorClass::Throttled
        );
        assert_eq!(
            class(Some("RequestLimitExceeded"), 400),
            ErrorClass::Throttled
        );
        assert_eq!(class(Some("SlowDown"), 503), ErrorClass::Throttled);
        assert_eq!(class(Some("RequestThrottled"), 403), ErrorClass::Throttled);
        assert_eq!(class(Some("RequestTimeout"), 400), ErrorClass::Transient);
        assert_eq!(
            class(Some("RequestTimeoutException"), 408),
            ErrorClass::Transient
        );
    }

    /// Whatever the SDK's lists hold (today's or a later version's), the kit agrees with them,
    /// even for a status that alone would say otherwise. A hand-kept table that drifts from the
    /// SDK's, or a kit list that shadows an SDK code with another class, fails here.
    #[test]
    fn every_code_of_the_sdk_lists_is_classified_as_the_sdk_says() {
        assert!(sdk::THROTTLING_ERRORS.contains(&"ProvisionedThroughputExceededException"));
        assert!(sdk::TRANSIENT_ERRORS.contains(&"RequestTimeout"));
        for status in [400, 403, 404, 500] {
            for code in sdk::THROTTLING_ERRORS {
                assert_eq!(
                    class(Some(code), status),
                    ErrorClass::Throttled,
                    "{code} {status}"
                );
            }
            for code in sdk::TRANSIENT_ERRORS {
                assert_eq!(
                    class(Some(code), status),
                    ErrorClass::Transient,
                    "{code} {status}"
                );
            }
        }
    }

    #[test]
    fn the_kit_lists_cover_only_what_the_sdk_lists_do_not() {
        for code in DENIED.iter().chain(SERVER_FAULTS).chain(SERVICE_THROTTLING) {
            assert!(
                !sdk::THROTTLING_ERRORS.contains(code) && !sdk::TRANSIENT_ERRORS.contains(code),
                "{code} is the SDK's to classify"
            );
        }
    }

    #[test]
    fn the_kit_lists_decide_before_status() {
        assert_eq!(class(Some("AccessDeniedException"), 400), ErrorClass::Auth);
        assert_eq!(class(Some("AccessDenied"), 403), ErrorClass::Auth);
        assert_eq!(class(Some("KmsAccessDenied"), 400), ErrorClass::Auth);
        assert_eq!(class(Some("ExpiredTokenException"), 400), ErrorClass::Auth);
        assert_eq!(class(Some("KmsThrottled"), 400), ErrorClass::Throttled);
        assert_eq!(class(Some("InternalError"), 400), ErrorClass::Transient);
        assert_eq!(
            class(Some("InternalServerError"), 400),
            ErrorClass::Transient
        );
        assert_eq!(
            class(Some("ServiceUnavailable"), 400),
            ErrorClass::Transient
        );
    }

    #[test]
    fn unknown_codes_fall_back_to_the_status_table() {
        assert_eq!(class(Some("QueueDoesNotExist"), 400), ErrorClass::Permanent);
        assert_eq!(
            class(Some("InvalidParameterValue"), 400),
            ErrorClass::Permanent
        );
        assert_eq!(class(Some("SomethingNew"), 503), ErrorClass::Transient);
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
