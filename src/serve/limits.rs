//! Request rates: a token bucket per source address and one per API client (by the id in its
//! key), each refilled at its rate per second and holding twice that as a burst. A request over
//! either limit is answered 429 with the seconds until a token is back.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// How many idle buckets are kept before the oldest are forgotten.
const MAX_BUCKETS: usize = 100_000;

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The buckets of one kind of key.
struct Buckets<K> {
    rate: f64,
    map: Mutex<HashMap<K, Bucket>>,
}

impl<K: std::hash::Hash + Eq + Clone> Buckets<K> {
    fn new(rate: i64) -> Self {
        Self { rate: rate.max(1) as f64, map: Mutex::new(HashMap::new()) }
    }

    /// Takes a token for `key`, or says in how many seconds one is back.
    fn take(&self, key: &K, now: Instant) -> Result<(), u64> {
        let mut map = self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= MAX_BUCKETS && !map.contains_key(key) {
            let burst = 2.0 * self.rate;
            map.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * self.rate < burst);
        }
        let burst = 2.0 * self.rate;
        let bucket = map.entry(key.clone()).or_insert(Bucket { tokens: burst, at: now });
        bucket.tokens = (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * self.rate).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - bucket.tokens) / self.rate).ceil().max(1.0) as u64)
        }
    }
}

/// The rates of the login service.
pub struct RateLimits {
    by_source: Buckets<IpAddr>,
    by_client: Buckets<String>,
}

impl RateLimits {
    /// Limits of `per_ip` requests a second per source address and `per_client` per API client.
    pub fn new(per_ip: i64, per_client: i64) -> Self {
        Self { by_source: Buckets::new(per_ip), by_client: Buckets::new(per_client) }
    }

    /// Admits a request from `source` with `key` (its client is the id in the key), or says in
    /// how many seconds to come back.
    pub fn admit(&self, source: IpAddr, key: Option<&str>) -> Result<(), u64> {
        let now = Instant::now();
        self.by_source.take(&source, now)?;
        if let Some(id) = key.and_then(|k| k.strip_prefix("mmfa_")).and_then(|k| k.split('_').next()) {
            self.by_client.take(&id.to_owned(), now)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_is_held_back_while_others_pass() {
        let limits = RateLimits::new(1000, 5);
        let ip: IpAddr = "192.0.2.1".parse().unwrap_or(IpAddr::from([192, 0, 2, 1]));
        let admitted = (0..50).filter(|_| limits.admit(ip, Some("mmfa_aaaaaaaaaaaa_x")).is_ok()).count();
        assert_eq!(admitted, 10, "a burst of twice the rate");
        assert!(limits.admit(ip, Some("mmfa_bbbbbbbbbbbb_y")).is_ok(), "another client still passes");
        let wait = limits.admit(ip, Some("mmfa_aaaaaaaaaaaa_x")).unwrap_err();
        assert_eq!(wait, 1);
    }
}
