//! The retry policy, modelled on openai-python's.
//!
//! - **How many**: 2 retries after the first try by default (`max_retries`); 0 turns retries off.
//! - **What**: HTTP 408, 409, 429 and 5xx, connection failures and timeouts, and only before any
//!   of the response body was handed to the caller. A stream that breaks (reset, or closed) before
//!   its first event is sent again; one that broke after it started never is: the caller already
//!   has part of the answer.
//! - **Never**: 400, 401, 403, 404, and an exhausted quota (`insufficient_quota`,
//!   `insufficient_user_quota`, ...) whatever its status.
//! - **`x-should-retry`**: a server's `true` or `false` overrides the status rule (but never makes
//!   400/401/403/404 or a quota error retryable).
//! - **How long to wait**: the server's `retry-after-ms`, else `Retry-After` (seconds, or an HTTP
//!   date); otherwise exponential backoff from 0.5 s doubling each retry, capped at 8 s, less up to
//!   25% random jitter.
//! - **Cap**: a server asking for more than 120 s is not slept on: its error is returned at once,
//!   with `retry_after()` set, for the caller to decide.
//! - **Deadline**: an optional total time across all attempts and waits; a wait that would pass it
//!   is not started.

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;

use crate::error::{ApiErrorKind, Error, StreamError};

/// The first backoff delay.
pub const INITIAL_DELAY: Duration = Duration::from_millis(500);
/// The longest backoff delay.
pub const MAX_DELAY: Duration = Duration::from_secs(8);
/// The longest server-requested wait that is honoured by sleeping.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);
/// Retries after the first try, by default.
pub const DEFAULT_MAX_RETRIES: u32 = 2;

/// Whether the policy sends `error`'s request again. (It is asked only before anything was
/// delivered, so a broken stream here is one that broke before its first event.)
pub fn should_retry(error: &Error) -> bool {
    if matches!(
        error,
        Error::Stream(StreamError::Reset { .. } | StreamError::EndedWithoutDone)
    ) {
        return true;
    }
    if let Error::Api(api) = error {
        if matches!(api.status, Some(400 | 401 | 403 | 404)) || api.kind() == ApiErrorKind::Quota {
            return false;
        }
        if let Some(forced) = api.should_retry {
            return forced;
        }
    }
    error.is_retryable()
}

/// How long to wait before retry number `retry` (0 for the first retry), honouring the server's
/// request when it made one. `None` means the server asked for more than [`MAX_RETRY_AFTER`].
pub fn delay(retry: u32, retry_after: Option<Duration>) -> Option<Duration> {
    match retry_after {
        Some(wait) if wait > MAX_RETRY_AFTER => None,
        Some(wait) => Some(wait),
        None => {
            let base = INITIAL_DELAY
                .saturating_mul(1u32 << retry.min(16))
                .min(MAX_DELAY);
            let jitter = 1.0 - 0.25 * fastrand::f64();
            Some(base.mul_f64(jitter))
        }
    }
}

/// Read `retry-after-ms`, then `Retry-After` (seconds or an HTTP date).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = get("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        if ms.is_finite() && ms >= 0.0 {
            return Some(Duration::from_secs_f64(ms / 1000.0));
        }
    }
    let value = get("retry-after")?;
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// Read `x-should-retry`.
pub fn should_retry_header(headers: &HeaderMap) -> Option<bool> {
    match headers.get("x-should-retry")?.to_str().ok()?.trim() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn backoff_doubles_and_caps_with_jitter() {
        for (retry, base) in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (10, 8.0)] {
            let d = delay(retry, None).unwrap().as_secs_f64();
            assert!(d <= base && d >= base * 0.75, "retry {retry}: {d}");
        }
    }

    #[test]
    fn server_waits_are_honoured_up_to_the_cap() {
        assert_eq!(
            delay(0, Some(Duration::from_secs(3))),
            Some(Duration::from_secs(3))
        );
        assert_eq!(delay(0, Some(Duration::from_secs(121))), None);
    }

    #[test]
    fn retry_after_headers() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after-ms", HeaderValue::from_static("150"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(150)));
        let mut h = HeaderMap::new();
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
        h.insert("retry-after", HeaderValue::from_str(&later).unwrap());
        let wait = retry_after(&h).unwrap();
        assert!(
            wait > Duration::from_secs(27) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        h.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }
}
