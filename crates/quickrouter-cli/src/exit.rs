//! Exit codes, and the one error line.

use quickrouter::{ApiErrorKind, Error};

/// The documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Ok = 0,
    Usage = 2,
    Auth = 3,
    RateLimit = 4,
    ClientError = 5,
    ServerError = 6,
    Network = 7,
    StreamBroken = 8,
}

/// A failure: what to print, and the exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: Code,
    pub message: String,
}

impl Failure {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// Bad local input: exit 2.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Code::Usage, message)
    }

    /// The code for an HTTP status (for media downloads too).
    pub fn code_for_status(status: u16) -> Code {
        match status {
            401 | 403 => Code::Auth,
            429 => Code::RateLimit,
            400..=499 => Code::ClientError,
            _ => Code::ServerError,
        }
    }

    /// Map a client error; `request_id` fills in the id when the error itself has none (an error
    /// event inside a stream whose response head carried it).
    pub fn from_error(error: &Error, request_id: Option<&str>) -> Self {
        let code = match error {
            _ if error.kind() == Some(ApiErrorKind::Quota) => Code::RateLimit,
            Error::Api(api) => match api.status {
                Some(status) => Self::code_for_status(status),
                None => Code::ServerError,
            },
            Error::Stream(_) => Code::StreamBroken,
            Error::Connect { .. } | Error::Timeout(_) => Code::Network,
            Error::Decode { .. } => Code::ServerError,
            Error::Config(_) => Code::Usage,
            _ => Code::ServerError,
        };
        let message = match error.api() {
            Some(api) => {
                let mut api = api.clone();
                if api.request_id.is_none() {
                    api.request_id = request_id.map(str::to_owned);
                }
                api.to_string()
            }
            None => error.to_string(),
        };
        Self::new(code, message)
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Failure::new(Code::ServerError, format!("i/o error: {error}"))
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
        assert_eq!(
            Failure::from_error(&api(Some(401), "{}"), None).code,
            Code::Auth
        );
        assert_eq!(
            Failure::from_error(&api(Some(403), "{}"), None).code,
            Code::Auth
        );
        assert_eq!(
            Failure::from_error(&api(Some(429), "{}"), None).code,
            Code::RateLimit
        );
        assert_eq!(
            Failure::from_error(
                &api(
                    Some(403),
                    r#"{"error":{"message":"m","code":"insufficient_user_quota"}}"#
                ),
                None
            )
            .code,
            Code::RateLimit
        );
        assert_eq!(
            Failure::from_error(&api(Some(404), "{}"), None).code,
            Code::ClientError
        );
        assert_eq!(
            Failure::from_error(&api(Some(502), "<html>"), None).code,
            Code::ServerError
        );
        assert_eq!(
            Failure::from_error(&Error::Timeout(quickrouter::TimeoutKind::Idle), None).code,
            Code::Network
        );
        assert_eq!(
            Failure::from_error(
                &Error::Stream(quickrouter::StreamError::EndedWithoutDone),
                None
            )
            .code,
            Code::StreamBroken
        );
    }

    #[test]
    fn the_error_line_has_no_nulls_and_one_line() {
        let failure = Failure::from_error(
            &api(
                Some(400),
                r#"{"error":{"message":"bad\nthing","type":null,"code":null}}"#,
            ),
            Some("rid"),
        );
        assert_eq!(
            error_line(&failure.message),
            "error: bad thing (status 400, request id rid)"
        );
    }
}
