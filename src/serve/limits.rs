//! Request rates, as token buckets refilled at a rate per second and holding twice that as a
//! burst. Three kinds, so that what anyone can send never starves a webmail that proved its key:
//!
//! * a bucket per source address for requests without a key (`/v1/health`, the hosted pages),
//!   taken when the request arrives;
//! * a bucket per API client of failed requests (refused, or a wrong code or ticket), taken by
//!   the service once the client's key was verified and the request failed; a client whose bucket
//!   is empty is turned away until it fills. A webmail's logins that go well never take from it,
//!   so no default caps a big site, while a stolen key used for guessing is soon stopped; a wrong
//!   key naming a real client's id costs that client nothing;
//! * a bucket per source address for requests whose key failed (missing, wrong, or from an address
//!   the client may not call from), taken when the key fails; a source that emptied it is turned
//!   away at once, before its body is read.
//!
//! A request over its limit is answered 429 with the seconds until a token is back.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use crate::service::CallBudget;

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

impl<K: Hash + Eq + Clone> Buckets<K> {
    fn new(rate: i64) -> Self {
        Self { rate: rate.max(1) as f64, map: Mutex::new(HashMap::new()) }
    }

    /// Takes a token for `key`, or says in how many seconds one is back.
    fn take(&self, key: &K, now: Instant) -> Result<(), u64> {
        self.with(key, now, |bucket| bucket.tokens -= 1.0)
    }

    /// Says whether `key` has a token, without taking it.
    fn peek(&self, key: &K, now: Instant) -> Result<(), u64> {
        self.with(key, now, |_| {})
    }

    /// Refills `key`'s bucket to `now`; with a token there, runs `use_token` on it.
    fn with(&self, key: &K, now: Instant, use_token: impl FnOnce(&mut Bucket)) -> Result<(), u64> {
        let burst = 2.0 * self.rate;
        let mut map = self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= MAX_BUCKETS && !map.contains_key(key) {
            map.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * self.rate < burst);
        }
        let bucket = map.entry(key.clone()).or_insert(Bucket { tokens: burst, at: now });
        bucket.tokens = (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * self.rate).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            use_token(bucket);
            Ok(())
        } else {
            Err(((1.0 - bucket.tokens) / self.rate).ceil().max(1.0) as u64)
        }
    }
}

/// The rates of the login service.
pub struct RateLimits {
    keyless: Buckets<IpAddr>,
    failed: Buckets<IpAddr>,
    clients: Buckets<String>,
}

impl RateLimits {
    /// Limits of `per_ip` requests a second per source address (keyless, and with a failing key)
    /// and `per_client` per API client.
    pub fn new(per_ip: i64, per_client: i64) -> Self {
        Self { keyless: Buckets::new(per_ip), failed: Buckets::new(per_ip), clients: Buckets::new(per_client) }
    }

    /// Admits a request from `source` as it arrives, or says in how many seconds to come back: one
    /// without a key takes from its source's bucket; one with a key is let on to have it checked,
    /// unless its source has used up its failures.
    pub fn admit(&self, source: IpAddr, has_key: bool) -> Result<(), u64> {
        let now = Instant::now();
        if has_key { self.failed.peek(&source, now) } else { self.keyless.take(&source, now) }
    }
}

impl CallBudget for RateLimits {
    fn client(&self, client_id: &str) -> Result<(), u64> {
        self.clients.peek(&client_id.to_owned(), Instant::now())
    }

    fn client_failed(&self, client_id: &str) {
        // An emptied bucket is the point: the client is turned away at its next request.
        self.clients.take(&client_id.to_owned(), Instant::now()).unwrap_or_default();
    }

    fn failed(&self, source: IpAddr) {
        // An emptied bucket is the point: the source is turned away at its next request.
        self.failed.take(&source, Instant::now()).unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));

    #[test]
    fn a_client_is_held_back_only_by_its_own_failed_requests() {
        let limits = RateLimits::new(1000, 5);
        assert!((0..1000).all(|_| limits.client("aaaaaaaaaaaa").is_ok()), "requests that go well spend nothing");
        let mut admitted = 0;
        while limits.client("aaaaaaaaaaaa").is_ok() && admitted < 50 {
            limits.client_failed("aaaaaaaaaaaa");
            admitted += 1;
        }
        assert_eq!(admitted, 10, "a burst of twice the rate of failures");
        assert!(limits.client("bbbbbbbbbbbb").is_ok(), "another client still passes");
        assert_eq!(limits.client("aaaaaaaaaaaa").unwrap_err(), 1);
    }

    #[test]
    fn failures_turn_their_source_away_and_no_one_else() {
        let limits = RateLimits::new(5, 1000);
        for _ in 0..10 {
            assert!(limits.admit(IP, true).is_ok());
            limits.failed(IP);
        }
        assert!(limits.admit(IP, true).is_err(), "ten failures empty the source's bucket");
        assert!(limits.admit("192.0.2.2".parse().unwrap(), true).is_ok(), "another source still passes");
        assert!(limits.admit(IP, false).is_ok(), "keyless requests have their own bucket");
        assert!(limits.client("aaaaaaaaaaaa").is_ok(), "and the failures cost no client anything");
    }
}
