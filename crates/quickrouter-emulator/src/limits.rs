//! Load limits, as relays enforce them: `limited-4` refuses more than four requests at once (429,
//! `token_concurrency_limit_reached`, as new-api's per-token concurrency limit does), and
//! `rate-limited` more than 40 requests a second per key (429 with `Retry-After: 1`). Admitted
//! requests of either hold their slot for [`HOLD`] before answering, so requests overlap.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::scenario::{error_answer, Answer, Context};

/// How long an admitted request of a limited model takes.
pub const HOLD: Duration = Duration::from_millis(20);
/// `limited-4`'s limit.
const CONCURRENCY: usize = 4;
/// `rate-limited`'s limit per key per second.
const PER_SECOND: usize = 40;

/// The counters.
#[derive(Debug, Default)]
pub struct Limits {
    in_flight: Arc<AtomicUsize>,
    windows: Mutex<HashMap<String, (Instant, usize)>>,
}

/// A place among the in-flight requests, given back when dropped.
#[derive(Debug)]
pub struct Slot(Option<Arc<AtomicUsize>>);

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(counter) = self.0.take() {
            counter.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl Limits {
    /// Admit a request (`Ok(Some(slot))` for a limited model, `Ok(None)` for any other), or the
    /// refusal to answer with.
    pub fn admit(&self, model: &str, key: &str, ctx: &Context<'_>) -> Result<Option<Slot>, Answer> {
        match model {
            "limited-4" => {
                let before = self.in_flight.fetch_add(1, Ordering::SeqCst);
                if before >= CONCURRENCY {
                    self.in_flight.fetch_sub(1, Ordering::SeqCst);
                    return Err(error_answer(
                        429,
                        "token_concurrency_limit_reached",
                        "当前令牌并发数已达上限 (concurrency limit reached)",
                        "new_api_error",
                        ctx,
                    ));
                }
                Ok(Some(Slot(Some(self.in_flight.clone()))))
            }
            "rate-limited" => {
                let mut windows = self.windows.lock().unwrap();
                let now = Instant::now();
                let window = windows.entry(key.to_owned()).or_insert((now, 0));
                if now.duration_since(window.0) >= Duration::from_secs(1) {
                    *window = (now, 0);
                }
                window.1 += 1;
                if window.1 > PER_SECOND {
                    let mut answer = error_answer(
                        429,
                        "rate_limit_exceeded",
                        "Rate limit reached for requests per second",
                        "rate_limit_error",
                        ctx,
                    );
                    answer.headers.push(("Retry-After".into(), "1".into()));
                    return Err(answer);
                }
                Ok(Some(Slot(None)))
            }
            _ => Ok(None),
        }
    }
}
