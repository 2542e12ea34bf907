//! SDK errors for people: the service's code and message (or what went wrong on the
//! way: a refused connection, a timeout), and a hint where one is known. The full
//! error chain goes to the debug log (`-v`), never to the terminal or the results.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::error::Error;

/// One line about an SDK error: `Code: message` with a hint, or the transport failure.
pub fn describe<E, R>(e: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + Error + 'static,
    R: std::fmt::Debug + 'static,
{
    tracing::debug!(
        "SDK error in full: {}",
        aws_smithy_types::error::display::DisplayErrorContext(e)
    );
    match e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            let code = err.code().unwrap_or("error");
            let msg = err.message().unwrap_or("(no message)");
            match hint(code) {
                Some(h) => format!("{code}: {msg} ({h})"),
                None => format!("{code}: {msg}"),
            }
        }
        SdkError::TimeoutError(_) => "timed out (no answer within [target] timeout)".into(),
        SdkError::DispatchFailure(d) if d.is_timeout() => {
            "timed out (no answer within [target] timeout)".into()
        }
        SdkError::DispatchFailure(_) => format!(
            "connection failed: {} (is the target running and reachable at that address?)",
            root_cause(e)
        ),
        SdkError::ResponseError(_) => format!("unreadable response: {}", root_cause(e)),
        SdkError::ConstructionFailure(_) => {
            format!("the request could not be built: {}", root_cause(e))
        }
        _ => root_cause(e),
    }
}

/// An SDK error as the crate's failure: [`describe`]'s sentence.
pub fn failure<E, R>(e: SdkError<E, R>) -> crate::error::Error
where
    E: ProvideErrorMetadata + Error + 'static,
    R: std::fmt::Debug + 'static,
{
    crate::error::Error::Failure(describe(&e))
}

/// The innermost cause's message (the one that names what failed).
pub fn root_cause(e: &(dyn Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// What to do about a service error code, where it is known.
fn hint(code: &str) -> Option<&'static str> {
    Some(match code {
        "NotFoundException" | "KMS.NotFoundException" => {
            "the KMS key does not exist on this target: create it, pass --kms-key ALIAS|ARN of one that does, or give an endpoint target its KMS endpoint"
        }
        "InvalidAccessKeyId"
        | "SignatureDoesNotMatch"
        | "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "InvalidClientTokenId" => {
            "check the credentials for this target: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, --profile"
        }
        "AccessDenied" | "AccessDeniedException" | "KMS.AccessDeniedException" => {
            "the credentials lack a permission: docs/targets.md lists the IAM policy the tool needs"
        }
        "NoSuchBucket" => "the bucket does not exist",
        "DisabledException" | "KMS.DisabledException" => {
            "the KMS key is disabled: enable it or use another"
        }
        "KMSInvalidStateException" | "KMS.KMSInvalidStateException" => {
            "the KMS key is pending deletion or unavailable: use another"
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_carry_a_hint() {
        assert!(hint("NotFoundException").is_some_and(|h| h.contains("--kms-key")));
        assert!(hint("SlowDown").is_none());
    }
}
