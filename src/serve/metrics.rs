//! The counters behind `GET /v1/metrics` (docs/DESIGN.md §13), written in the Prometheus text
//! format. A request costs a few atomic additions: the maps of labelled counters take their write
//! lock only the first time a label set is seen, and histograms are fixed arrays of buckets.

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Bounds of the time histograms, in seconds.
const SECONDS: [f64; 13] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Bounds of the batch-size histogram.
const BATCH_SIZES: [f64; 10] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// A histogram with fixed bounds; each observation adds to one bucket, the sum and the count.
struct Histogram {
    bounds: &'static [f64],
    buckets: Vec<AtomicU64>,
    /// The sum, in millionths (of a second, or of a request).
    sum_micros: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        let buckets = (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect();
        Self { bounds, buckets, sum_micros: AtomicU64::new(0), count: AtomicU64::new(0) }
    }

    fn observe(&self, value: f64) {
        let slot = self.bounds.iter().position(|bound| value <= *bound).unwrap_or(self.bounds.len());
        self.buckets[slot].fetch_add(1, Ordering::Relaxed);
        // Whole millionths: the sum of a day's requests fits many times over in 64 bits.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        self.sum_micros.fetch_add((value * 1e6).round() as u64, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn write(&self, out: &mut String, name: &str, help: &str) {
        header(out, name, help, "histogram");
        let mut cumulative = 0;
        for (slot, bound) in self.bounds.iter().enumerate() {
            cumulative += self.buckets[slot].load(Ordering::Relaxed);
            line(out, format_args!("{name}_bucket{{le=\"{bound}\"}} {cumulative}"));
        }
        cumulative += self.buckets[self.bounds.len()].load(Ordering::Relaxed);
        line(out, format_args!("{name}_bucket{{le=\"+Inf\"}} {cumulative}"));
        #[allow(clippy::cast_precision_loss)]
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        line(out, format_args!("{name}_sum {sum}"));
        line(out, format_args!("{name}_count {}", self.count.load(Ordering::Relaxed)));
    }
}

/// Counters under a set of label values known at compile time (words of the domain).
#[derive(Default)]
struct Counters<const N: usize>(RwLock<BTreeMap<[&'static str; N], AtomicU64>>);

impl<const N: usize> Counters<N> {
    fn add(&self, labels: [&'static str; N]) {
        if let Ok(map) = self.0.read()
            && let Some(counter) = map.get(&labels)
        {
            counter.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if let Ok(mut map) = self.0.write() {
            map.entry(labels).or_default().fetch_add(1, Ordering::Relaxed);
        }
    }

    fn write(&self, out: &mut String, name: &str, help: &str, label_names: [&str; N]) {
        header(out, name, help, "counter");
        let Ok(map) = self.0.read() else { return };
        for (labels, counter) in map.iter() {
            let pairs: Vec<String> =
                label_names.iter().zip(labels).map(|(name, value)| format!("{name}=\"{}\"", escape(value))).collect();
            line(out, format_args!("{name}{{{}}} {}", pairs.join(","), counter.load(Ordering::Relaxed)));
        }
    }
}

/// What the login service counts.
pub struct Metrics {
    /// Requests by status, then by route template.
    requests: RwLock<HashMap<u16, HashMap<Box<str>, AtomicU64>>>,
    latency: Histogram,
    decisions: Counters<2>,
    verifications: Counters<2>,
    mail_checks: Counters<1>,
    deliveries: Counters<2>,
    batch_size: Histogram,
    commit_time: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            requests: RwLock::default(),
            latency: Histogram::new(&SECONDS),
            decisions: Counters::default(),
            verifications: Counters::default(),
            mail_checks: Counters::default(),
            deliveries: Counters::default(),
            batch_size: Histogram::new(&BATCH_SIZES),
            commit_time: Histogram::new(&SECONDS),
        }
    }
}

/// What the metrics need from outside at the moment they are read.
pub struct Gauges {
    /// Requests queued for the writer.
    pub waiting: usize,
    /// Whether the country database is loaded (`None`: the store could not say).
    pub country_database: Option<bool>,
}

impl Metrics {
    /// A request answered: its route template (`None` when no route matched), status and time.
    pub fn request(&self, route: Option<&str>, status: u16, took: Duration) {
        let route = route.unwrap_or("unmatched");
        self.latency.observe(took.as_secs_f64());
        if let Ok(map) = self.requests.read()
            && let Some(counter) = map.get(&status).and_then(|routes| routes.get(route))
        {
            counter.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if let Ok(mut map) = self.requests.write() {
            map.entry(status).or_default().entry(route.into()).or_default().fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A login decision (`allow`, `challenge`, …) and its reason (`none` when it has none).
    pub fn decision(&self, decision: &'static str, reason: &'static str) {
        self.decisions.add([decision, reason]);
    }

    /// A code checked: `accepted`, or `rejected` and why.
    pub fn verification(&self, result: &'static str, reason: &'static str) {
        self.verifications.add([result, reason]);
    }

    /// A mail program's sign-in checked, and its result.
    pub fn mail_check(&self, result: &'static str) {
        self.mail_checks.add([result]);
    }

    /// A code sent (or not) through a channel (`sms`, `email`).
    pub fn delivery(&self, channel: &'static str, sent: bool) {
        self.deliveries.add([channel, if sent { "sent" } else { "failed" }]);
    }

    /// A group commit of `size` requests that took `took`.
    pub fn commit(&self, size: usize, took: Duration) {
        #[allow(clippy::cast_precision_loss)]
        self.batch_size.observe(size as f64);
        self.commit_time.observe(took.as_secs_f64());
    }

    /// Everything counted so far, in the Prometheus text format (version 0.0.4).
    pub fn render(&self, gauges: &Gauges) -> String {
        let mut out = String::with_capacity(4096);
        header(&mut out, "mailmfa_build_info", "The running version.", "gauge");
        line(&mut out, format_args!("mailmfa_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION")));
        self.write_requests(&mut out);
        self.latency.write(&mut out, "mailmfa_http_request_duration_seconds", "Time to answer a request.");
        let decisions = ("mailmfa_login_decisions_total", "Login decisions by decision and reason.");
        self.decisions.write(&mut out, decisions.0, decisions.1, ["decision", "reason"]);
        let verifications = ("mailmfa_login_verifications_total", "Codes checked, by result and reason.");
        self.verifications.write(&mut out, verifications.0, verifications.1, ["result", "reason"]);
        let checks = ("mailmfa_mail_checks_total", "Mail programs' sign-ins checked, by result.");
        self.mail_checks.write(&mut out, checks.0, checks.1, ["result"]);
        let deliveries = ("mailmfa_code_deliveries_total", "Codes handed to a channel, by channel and result.");
        self.deliveries.write(&mut out, deliveries.0, deliveries.1, ["channel", "result"]);
        self.batch_size.write(&mut out, "mailmfa_commit_batch_size", "Requests in one group commit.");
        self.commit_time.write(&mut out, "mailmfa_commit_duration_seconds", "Time of one group commit.");
        header(&mut out, "mailmfa_writer_waiting", "Requests waiting for the writer.", "gauge");
        line(&mut out, format_args!("mailmfa_writer_waiting {}", gauges.waiting));
        if let Some(loaded) = gauges.country_database {
            let help = "Whether the country database is loaded (1) or every country is unknown (0).";
            header(&mut out, "mailmfa_country_database_loaded", help, "gauge");
            line(&mut out, format_args!("mailmfa_country_database_loaded {}", u8::from(loaded)));
        }
        out
    }

    fn write_requests(&self, out: &mut String) {
        header(out, "mailmfa_http_requests_total", "Requests answered, by route and status.", "counter");
        let Ok(map) = self.requests.read() else { return };
        let mut rows: Vec<(&str, u16, u64)> = map
            .iter()
            .flat_map(|(status, routes)| {
                routes.iter().map(|(route, counter)| (&**route, *status, counter.load(Ordering::Relaxed)))
            })
            .collect();
        rows.sort_unstable();
        for (route, status, count) in rows {
            line(
                out,
                format_args!("mailmfa_http_requests_total{{route=\"{}\",status=\"{status}\"}} {count}", escape(route)),
            );
        }
    }
}

/// Adds a line to the text.
fn line(out: &mut String, text: std::fmt::Arguments<'_>) {
    out.push_str(&text.to_string());
    out.push('\n');
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    line(out, format_args!("# HELP {name} {help}"));
    line(out, format_args!("# TYPE {name} {kind}"));
}

/// A label value as the text format quotes it.
fn escape(value: &str) -> String {
    value.replace('\\', r"\\").replace('"', "\\\"").replace('\n', r"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_counters_labelled() {
        let metrics = Metrics::default();
        metrics.request(Some("/v1/login/begin"), 200, Duration::from_millis(3));
        metrics.request(Some("/v1/login/begin"), 200, Duration::from_millis(30));
        metrics.request(None, 404, Duration::from_secs(20));
        metrics.decision("challenge", "new_ip");
        let text = metrics.render(&Gauges { waiting: 2, country_database: Some(false) });
        assert!(text.contains("mailmfa_http_requests_total{route=\"/v1/login/begin\",status=\"200\"} 2\n"), "{text}");
        assert!(text.contains("mailmfa_http_requests_total{route=\"unmatched\",status=\"404\"} 1\n"), "{text}");
        assert!(text.contains("mailmfa_http_request_duration_seconds_bucket{le=\"0.005\"} 1\n"), "{text}");
        assert!(text.contains("mailmfa_http_request_duration_seconds_bucket{le=\"0.05\"} 2\n"), "{text}");
        assert!(text.contains("mailmfa_http_request_duration_seconds_bucket{le=\"+Inf\"} 3\n"), "{text}");
        assert!(text.contains("mailmfa_http_request_duration_seconds_count 3\n"), "{text}");
        assert!(text.contains("mailmfa_login_decisions_total{decision=\"challenge\",reason=\"new_ip\"} 1\n"), "{text}");
        assert!(text.contains("mailmfa_writer_waiting 2\n"), "{text}");
        assert!(text.contains("mailmfa_country_database_loaded 0\n"), "{text}");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
