//! A fixed-window rate limiter keyed by caller.

use std::collections::HashMap;

/// Allows at most `limit` attempts per key per window.
#[derive(Debug)]
pub struct RateLimiter {
    limit: u32,
    window_ms: u64,
    windows: HashMap<String, (u64, u32)>,
}

impl RateLimiter {
    /// A limiter of `limit` attempts per `window_ms`.
    pub fn new(limit: u32, window_ms: u64) -> Self {
        Self {
            limit,
            window_ms,
            windows: HashMap::new(),
        }
    }

    /// Whether `key` has used up its attempts in the current window (records nothing).
    pub fn is_limited(&self, key: &str, now: u64) -> bool {
        self.windows.get(key).is_some_and(|(start, count)| {
            now.saturating_sub(*start) < self.window_ms && *count >= self.limit
        })
    }

    /// Records an attempt by `key` at `now`; false when over the limit.
    pub fn allow(&mut self, key: &str, now: u64) -> bool {
        if self.windows.len() > 10_000 {
            let window_ms = self.window_ms;
            self.windows
                .retain(|_, (start, _)| now.saturating_sub(*start) < window_ms);
        }
        let entry = self.windows.entry(key.to_owned()).or_insert((now, 0));
        if now.saturating_sub(entry.0) >= self.window_ms {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_window() {
        let mut limiter = RateLimiter::new(2, 1000);
        assert!(limiter.allow("a", 0));
        assert!(limiter.allow("a", 1));
        assert!(!limiter.allow("a", 2));
        assert!(limiter.allow("b", 2));
        assert!(limiter.allow("a", 1001));
        assert!(!limiter.is_limited("a", 1002));
        assert!(limiter.allow("a", 1003));
        assert!(limiter.is_limited("a", 1004));
        assert!(!limiter.is_limited("b", 1004));
    }
}
