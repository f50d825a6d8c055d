//! Exit codes, and the one error line.

use quickrouter::{ApiErrorKind, Error};

/// The documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Ok = 0,
    SomeFailed = 1,
    Usage = 2,
    Auth = 3,
    RateLimit = 4,
    ClientError = 5,
    ServerError = 6,
    Network = 7,
    StreamBroken = 8,
    Media = 9,
    Interrupted = 130,
}

/// A failure: what to print, and the exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: Code,
    pub message: String,
    /// The relay reported an error inside a stream (`data: {"error": …}`).
    pub error_event: bool,
}

impl Failure {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            error_event: false,
        }
    }

    /// Bad local input: exit 2.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Code::Usage, message)
    }

    /// The code for an API's HTTP status.
    fn code_for_status(status: u16) -> Code {
        match status {
            401 | 403 => Code::Auth,
            429 => Code::RateLimit,
            400..=499 => Code::ClientError,
            _ => Code::ServerError,
        }
    }

    /// Map a client error (the request id is on the error already: the library attaches it).
    pub fn from_error(error: &Error) -> Self {
        let code = match error.inner() {
            _ if error.kind() == Some(ApiErrorKind::Quota) => Code::RateLimit,
            Error::Api(api) => match api.status {
                Some(status) => Self::code_for_status(status),
                None => Code::ServerError,
            },
            Error::Stream(_) => Code::StreamBroken,
            Error::Connect { .. } | Error::Network { .. } | Error::Timeout(_) => Code::Network,
            Error::Decode { .. } => Code::ServerError,
            Error::Config(_) => Code::Usage,
            Error::Redirect { .. } => Code::Network,
            Error::Media { .. } => Code::Media,
            _ => Code::ServerError,
        };
        // The server's error as the contract prints it: MESSAGE (status S, type T, code C,
        // request id R); a create that may have been billed says why it was not sent again.
        let message = match (error, error.api()) {
            (Error::Unconfirmed(_), Some(api)) => format!(
                "{api}; the request may have been accepted (and billed), so it was not sent again"
            ),
            (_, Some(api)) => api.to_string(),
            (_, None) => error.to_string(),
        };
        let mut failure = Self::new(code, message);
        failure.error_event = matches!(
            error.inner(),
            Error::Stream(quickrouter::StreamError::ErrorEvent(_))
        );
        failure
    }
}

/// The error line: `error: MESSAGE`, folded to one line.
pub fn error_line(message: &str) -> String {
    format!(
        "error: {}",
        message.split_whitespace().collect::<Vec<_>>().join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickrouter::ApiError;

    fn api(status: Option<u16>, body: &str) -> Error {
        Error::Api(Box::new(ApiError::from_body(status, body.as_bytes())))
    }

    #[test]
    fn codes_follow_the_contract() {
        let code = |e: &Error| Failure::from_error(e).code;
        assert_eq!(code(&api(Some(401), "{}")), Code::Auth);
        assert_eq!(code(&api(Some(403), "{}")), Code::Auth);
        assert_eq!(code(&api(Some(429), "{}")), Code::RateLimit);
        assert_eq!(
            code(&api(
                Some(403),
                r#"{"error":{"message":"m","code":"insufficient_user_quota"}}"#
            )),
            Code::RateLimit
        );
        assert_eq!(code(&api(Some(404), "{}")), Code::ClientError);
        assert_eq!(code(&api(Some(502), "<html>")), Code::ServerError);
        assert_eq!(
            code(&Error::Timeout(quickrouter::TimeoutKind::Idle)),
            Code::Network
        );
        assert_eq!(
            code(&Error::Stream(quickrouter::StreamError::EndedWithoutDone)),
            Code::StreamBroken
        );
        // A media host's 403 (an expired link) never blames the key.
        let media = Error::Media {
            message: "the media host answered 403".into(),
            status: Some(403),
            source: None,
        };
        assert_eq!(code(&media), Code::Media);
        // A create that may have been billed keeps its cause's code and says why it was not resent.
        let unconfirmed = Error::Unconfirmed(Box::new(api(Some(500), "{}")));
        let failure = Failure::from_error(&unconfirmed);
        assert_eq!(failure.code, Code::ServerError);
        assert!(
            failure.message.contains("not sent again"),
            "{}",
            failure.message
        );
    }

    #[test]
    fn the_error_line_has_no_nulls_and_one_line() {
        let mut error = ApiError::from_body(
            Some(400),
            br#"{"error":{"message":"bad\nthing","type":null,"code":null}}"#,
        );
        error.request_id = Some("rid".into());
        let failure = Failure::from_error(&Error::Api(Box::new(error)));
        assert_eq!(
            error_line(&failure.message),
            "error: bad thing (status 400, request id rid)"
        );
    }
}
