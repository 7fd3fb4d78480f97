//! One clear line for every AWS error: what was being done, to which resource,
//! what AWS said, and the permission or parameter to fix.

// The SDK crates share these types; STS's re-exports serve for all of them.
use crate::words::ChangeError;
use aws_sdk_sts::config::http::HttpResponse;
use aws_sdk_sts::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// Explains a failed call, and says whether trying again can help. `doing`
/// says what was attempted on which resource ("deregistering targets of
/// arn:..."); `permission` is the IAM action it needs.
pub fn explain<E>(doing: &str, permission: &str, err: &SdkError<E, HttpResponse>) -> ChangeError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let status = service.raw().status().as_u16();
            let Some(code) = e.code() else {
                let message = format!(
                    "{doing} failed: HTTP {status} without an AWS error code (is the endpoint an AWS API?); the call needs {permission}"
                );
                return classify_status(status, message);
            };
            let message = e.message().unwrap_or("no message");
            let line = format!(
                "{doing} failed: {code}: {message}; {}",
                advice(code, permission)
            );
            if transient_code(code) || status >= 500 {
                ChangeError::transient(line)
            } else {
                ChangeError::permanent(line)
            }
        }
        SdkError::TimeoutError(_) => ChangeError::transient(format!(
            "{doing} failed: the call to {} timed out; check the network path to it and retry",
            endpoint(permission)
        )),
        SdkError::DispatchFailure(_) => ChangeError::transient(format!(
            "{doing} failed: could not reach {} ({}); check the endpoint, proxy and network",
            endpoint(permission),
            DisplayErrorContext(err)
        )),
        SdkError::ResponseError(_) => ChangeError::transient(format!(
            "{doing} failed: AWS's answer could not be read ({}); retry",
            DisplayErrorContext(err)
        )),
        _ => ChangeError::permanent(format!(
            "{doing} failed: {}; check the credentials (AWS_PROFILE, --profile) and the region",
            DisplayErrorContext(err)
        )),
    }
}

/// Where a call went, as far as gameday can tell: `AWS_ENDPOINT_URL` when
/// set (a service-specific `AWS_ENDPOINT_URL_*` or a profile's
/// `endpoint_url` would win, and is not visible here), else the service's
/// endpoint in the call's region.
fn endpoint(permission: &str) -> String {
    let service = permission.split(':').next().unwrap_or("aws");
    match std::env::var("AWS_ENDPOINT_URL") {
        Ok(url) => format!(
            "{service} at {} (AWS_ENDPOINT_URL)",
            crate::words::printable(&url)
        ),
        Err(_) => format!("the {service} endpoint of the region"),
    }
}

fn classify_status(status: u16, message: String) -> ChangeError {
    if status >= 500 || status == 429 {
        ChangeError::transient(message)
    } else {
        ChangeError::permanent(message)
    }
}

/// Error codes AWS uses for "not now": throttling, a busy or failing service.
/// Everything else (denied, not found, invalid, a quota) repeats on retry.
fn transient_code(code: &str) -> bool {
    const TRANSIENT: &[&str] = &[
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "EC2ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "SlowDown",
        "PriorRequestNotComplete",
        "TransactionInProgressException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "RequestTimeout",
        "RequestTimeoutException",
        "IDPCommunicationError",
    ];
    TRANSIENT.contains(&code)
}

/// What to do about an error code.
fn advice(code: &str, permission: &str) -> String {
    let lower = code.to_ascii_lowercase();
    if lower.contains("accessdenied")
        || lower.contains("unauthorized")
        || lower.contains("forbidden")
    {
        format!("grant {permission} to the role gameday runs as")
    } else if lower.contains("expired")
        || lower.contains("invalidclienttokenid")
        || lower.contains("signature")
    {
        "refresh the credentials (aws sso login, or the CI role) and retry".into()
    } else if lower.contains("notfound") || lower.contains("nosuch") {
        "check that the id exists in this account and region".into()
    } else if lower.contains("invalidparameter")
        || lower.contains("validation")
        || lower.contains("invalid")
    {
        "check the parameter named in the message, in the scenario".into()
    } else if lower.contains("throttl") || lower.contains("limitexceeded") {
        "AWS kept throttling after retries; run again later or raise the API quota".into()
    } else if lower.contains("invalidstate") || lower.contains("incorrectstate") {
        "the resource is not in a state that allows this; look at it in the console".into()
    } else {
        format!("the call needs {permission}; check the resource and the message above")
    }
}

#[cfg(test)]
mod tests {
    use super::{advice, classify_status, transient_code};

    #[test]
    fn advice_names_the_fix() {
        assert!(advice("AccessDenied", "ec2:StopInstances").contains("grant ec2:StopInstances"));
        assert!(advice("UnauthorizedOperation", "ec2:X").contains("grant ec2:X"));
        assert!(advice("TargetGroupNotFound", "x").contains("exists"));
        assert!(advice("InvalidParameterValue", "x").contains("parameter"));
        assert!(advice("ExpiredToken", "x").contains("refresh"));
        assert!(advice("Throttling", "x").contains("throttling"));
    }

    #[test]
    fn only_not_now_errors_are_retried() {
        for code in [
            "Throttling",
            "ThrottlingException",
            "RequestLimitExceeded",
            "InternalError",
        ] {
            assert!(transient_code(code), "{code}");
        }
        for code in [
            "AccessDenied",
            "UnauthorizedOperation",
            "TargetGroupNotFound",
            "InvalidParameterValue",
            "VpcLimitExceeded",
            "ExpiredToken",
        ] {
            assert!(!transient_code(code), "{code}");
        }
        assert!(classify_status(503, "x".into()).retryable());
        assert!(classify_status(429, "x".into()).retryable());
        assert!(!classify_status(403, "x".into()).retryable());
    }
}
