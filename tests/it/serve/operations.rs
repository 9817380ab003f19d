//! What an operator has of a running login service (docs/DESIGN.md §13): a log line per request
//! under the request id the caller got, free of secrets; error answers that say little and name
//! the id; `/v1/metrics` as a Prometheus server reads it; `/v1/health`.

use std::collections::HashMap;

use super::{Site, audit, begin, bob_code, post, verify};
use crate::common::fixtures::api_key;
use crate::common::serve::{Answer, Server, agent, call, call_with};
use serde_json::{Value, json};

/// The answer's request id, which every answer carries in `X-Request-Id`.
fn id_of(answer: &Answer) -> String {
    answer.request_id.clone().unwrap_or_else(|| panic!("no X-Request-Id: {answer:?}"))
}

/// The log lines about the request `id`.
fn lines_of<'a>(log: &'a str, id: &str) -> Vec<&'a str> {
    log.lines().filter(|line| line.contains(&format!("request_id={id}"))).collect()
}

/// Wrong API keys, wrong codes, a mail program's password, bodies too large or not JSON, routes
/// that do not exist: each refusal is a line of the log under the id its caller got, the audit log
/// has the counted trace, and neither holds a key, a code or a password that was sent.
#[test]
fn a_flood_of_refusals_leaves_a_readable_trace_without_secrets() {
    let site = Site::new();
    let server = Server::start(&site.env, &[]);
    let forged = "mmfa_0000_notarealsecretatall";
    let password = "Hunter2-mailbox-password";
    let mut refused = Vec::new();
    for _ in 0..20 {
        let answer = begin(&server, forged, "alice@example.com");
        assert_eq!(answer.status, 401, "{answer:?}");
        assert_eq!(answer.json["request_id"].as_str(), answer.request_id.as_deref(), "the body names the id");
        refused.push(answer);
    }
    let (transaction, code) = bob_code(&site, &server);
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 500_001) % 1_000_000);
    for _ in 0..3 {
        let rejected = verify(&server, &site.key, &transaction, &wrong);
        assert_eq!(rejected.json["result"], "rejected", "{:?}", rejected.json);
        refused.push(rejected);
    }
    let mail = json!({"address": "alice@example.com", "password": password, "protocol": "imap", "ip": "203.0.113.9"});
    refused.push(post(&server, "/v1/mail/auth", Some(forged), mail.clone()));
    let checked = post(&server, "/v1/mail/auth", Some(&site.key), mail);
    assert_eq!(checked.json["result"], "password", "{:?}", checked.json);
    let not_json = format!("{{\"address\": \"alice@example.com\", \"password\": \"{password}\"");
    refused.push(call(&agent(), "POST", &server.url("/v1/login/begin"), Some(&site.key), Some(&not_json)));
    refused.push(post(&server, "/v1/login/begin", Some(&site.key), json!({"pad": "x".repeat(20 * 1024)})));
    refused.push(call(&agent(), "GET", &server.url(&format!("/v1/no/such/{password}")), None, None));

    let last = id_of(refused.last().unwrap());
    let log = server.log_once_it_has(&last);
    let mail_check = lines_of(&log, &id_of(&checked));
    assert!(mail_check[0].contains("client=webmail") && mail_check[0].contains("password none"), "{mail_check:?}");
    for answer in &refused {
        let lines = lines_of(&log, &id_of(answer));
        assert_eq!(lines.len(), 1, "one line for {answer:?}:\n{log}");
        assert!(lines[0].contains(&format!("status={}", answer.status)), "{}", lines[0]);
    }
    let keyless = lines_of(&log, &id_of(&refused[0]))[0];
    assert!(keyless.contains("route=/v1/login/begin") && keyless.contains("refused bad_api_key"), "{keyless}");
    assert!(keyless.contains("client=-"), "no client is named for a key that is not one: {keyless}");
    let wrong_code = lines_of(&log, &id_of(&refused[20]))[0];
    assert!(wrong_code.contains("rejected invalid_code"), "{wrong_code}");
    assert!(wrong_code.contains("client=webmail"), "the line names the API client: {wrong_code}");
    assert!(log.contains("mailmfa serve started"), "the start line:\n{log}");
    // Each line without its timestamp, whose microseconds could spell a six-digit code by chance.
    let said: Vec<&str> = log.lines().map(|line| line.split_once(' ').map_or(line, |(_, rest)| rest)).collect();
    for secret in [forged, "notarealsecretatall", password, &code, &wrong, &site.key] {
        assert!(!said.iter().any(|line| line.contains(secret)), "{secret} is in the log:\n{log}");
    }
    assert_eq!(server.stop(), Some(0));
    let trace = serde_json::to_string(&audit(&site.env)).unwrap();
    assert!(trace.contains("http.refused") && trace.contains("api.auth"), "{trace}");
    for secret in [forged, password, &code, &wrong] {
        assert!(!trace.contains(secret), "{secret} is in the audit log");
    }
}

/// The start and stop lines, and JSON lines with `--log-format json`; `MAILMFA_LOG=warn` leaves
/// out the requests that went well.
#[test]
fn the_log_comes_as_text_or_json_at_the_level_asked() {
    let site = Site::new();
    let server = Server::start(&site.env, &["--log-format", "json"]);
    let health = call(&agent(), "GET", &server.url("/v1/health"), None, None);
    let log = server.log_once_it_has(&id_of(&health));
    let objects: Vec<Value> = log
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let started = objects.iter().find(|o| o["message"] == "mailmfa serve started").expect("a start line");
    assert_eq!(started["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(started["store"], "local");
    assert!(started["listen"].as_str().unwrap().starts_with("127.0.0.1:"), "{started}");
    let request = objects.iter().find(|o| o["request_id"] == id_of(&health)).expect("the request line");
    assert_eq!(request["route"], "/v1/health");
    assert_eq!(request["status"], 200);
    assert_eq!(request["level"], "INFO");
    assert!(request["latency_ms"].as_f64().is_some(), "{request}");
    drop(server);

    let quiet = Server::start_with(&site.env, &[], &[("MAILMFA_LOG", "warn")]);
    let health = call(&agent(), "GET", &quiet.url("/v1/health"), None, None);
    assert_eq!(health.status, 200);
    let missing = call(&agent(), "GET", &quiet.url("/nowhere"), None, None);
    assert_eq!(missing.status, 404);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let log = quiet.log_once_it_has("never written");
    assert!(!log.contains(&id_of(&health)) && !log.contains("mailmfa serve started"), "{log}");
    assert_eq!(quiet.stop(), Some(0));
}

/// A store that cannot be reached: 503 with a short message and the request id, no database
/// server's words; the log has them under the same id.
pub fn an_unreachable_store_is_a_short_503_and_a_detailed_log_line(server: &Server, key: &str) {
    let body = r#"{"address": "alice@example.com", "ip": "203.0.113.9"}"#;
    let down = call(&agent(), "POST", &server.url("/v1/login/begin"), Some(key), Some(body));
    assert_eq!(down.status, 503, "{:?}", down.json);
    assert_eq!(down.json["error"], "the store cannot be reached just now; try again shortly", "{:?}", down.json);
    assert_eq!(down.json["request_id"].as_str(), down.request_id.as_deref());
    for internal in ["database", "server", "postgres", "SQL", "/"] {
        assert!(!down.json["error"].as_str().unwrap().contains(internal), "{internal} in {:?}", down.json);
    }
    let log = server.log_once_it_has(&id_of(&down));
    let line = lines_of(&log, &id_of(&down)).pop().unwrap_or_else(|| panic!("no line:\n{log}"));
    assert!(line.contains("ERROR") && line.contains("status=503"), "{line}");
    assert!(line.contains("database server"), "the detail is in the log: {line}");
}

/// `/v1/metrics` parses as the Prometheus text format, and counts what was asked of the service.
#[test]
fn the_metrics_count_the_requests_made() {
    let site = Site::new();
    let server = Server::start(&site.env, &[]);
    for _ in 0..2 {
        assert_eq!(call(&agent(), "GET", &server.url("/v1/health"), None, None).status, 200);
    }
    for _ in 0..3 {
        assert_eq!(begin(&server, &site.key, "alice@example.com").status, 200);
    }
    let (transaction, code) = bob_code(&site, &server);
    assert_eq!(verify(&server, &site.key, &transaction, &code).json["result"], "accepted");
    assert_eq!(begin(&server, "mmfa_0_wrong", "alice@example.com").status, 401);
    assert_eq!(call(&agent(), "GET", &server.url("/v1/nothing"), None, None).status, 404);

    let scraped = call(&agent(), "GET", &server.url("/v1/metrics"), None, None);
    assert_eq!(scraped.status, 200);
    assert!(scraped.content_type.as_deref().is_some_and(|t| t.starts_with("text/plain; version=0.0.4")));
    let lines = scraped.text.lines().map(|line| Ok(line.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("the Prometheus text format");
    let counter = |metric: &str, labels: &[(&str, &str)]| -> f64 {
        let wanted: HashMap<&str, &str> = labels.iter().copied().collect();
        scrape
            .samples
            .iter()
            .filter(|s| s.metric == metric && wanted.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Gauge(v) => v,
                _ => panic!("{metric} is not a counter"),
            })
            .sum()
    };
    let requests = "mailmfa_http_requests_total";
    assert_eq!(counter(requests, &[("route", "/v1/health"), ("status", "200")]), 2.0, "{}", scraped.text);
    assert_eq!(counter(requests, &[("route", "/v1/login/begin"), ("status", "200")]), 4.0);
    assert_eq!(counter(requests, &[("route", "/v1/login/begin"), ("status", "401")]), 1.0);
    assert_eq!(counter(requests, &[("route", "/v1/login/verify"), ("status", "200")]), 1.0);
    assert_eq!(counter(requests, &[("route", "unmatched"), ("status", "404")]), 1.0);
    assert_eq!(counter(requests, &[]), 9.0, "the scrape itself is counted after it");
    assert_eq!(counter("mailmfa_login_decisions_total", &[]), 4.0);
    assert_eq!(counter("mailmfa_login_decisions_total", &[("decision", "enroll")]), 3.0);
    assert_eq!(counter("mailmfa_login_decisions_total", &[("decision", "challenge")]), 1.0);
    assert_eq!(counter("mailmfa_login_verifications_total", &[("result", "accepted")]), 1.0);
    assert_eq!(counter("mailmfa_code_deliveries_total", &[("channel", "sms"), ("result", "sent")]), 1.0);
    assert_eq!(counter("mailmfa_writer_waiting", &[]), 0.0);
    assert_eq!(counter("mailmfa_country_database_loaded", &[]), 1.0, "the bundled one: {}", scraped.text);
    let histogram = |metric: &str| {
        scrape.samples.iter().find(|s| s.metric == metric).map(|s| match &s.value {
            prometheus_parse::Value::Histogram(buckets) => buckets.iter().map(|b| b.count).fold(0.0, f64::max),
            _ => panic!("{metric} is not a histogram"),
        })
    };
    assert_eq!(histogram("mailmfa_http_request_duration_seconds"), Some(9.0));
    assert!(histogram("mailmfa_commit_batch_size").is_some_and(|n| n >= 5.0), "{}", scraped.text);
    assert!(histogram("mailmfa_commit_duration_seconds").is_some_and(|n| n >= 5.0));

    // From another machine (here: through a trusted proxy), the metrics are for an API client
    // given them, and for no other caller.
    site.env.ok(&["settings", "set", "serve.trusted_proxies", "127.0.0.1/32"]);
    let prometheus = api_key(&site.env, "prometheus", &["--metrics"]);
    let proxied = Server::start(&site.env, &[]);
    let forwarded = [("X-Forwarded-For", "203.0.113.50")];
    let refused = call_with(&agent(), "GET", &proxied.url("/v1/metrics"), None, &forwarded, None);
    assert_eq!(refused.status, 403, "{:?}", refused.json);
    let not_given = call_with(&agent(), "GET", &proxied.url("/v1/metrics"), Some(&site.key), &forwarded, None);
    assert_eq!(not_given.status, 403, "{:?}", not_given.json);
    assert!(not_given.json["error"].as_str().unwrap().contains("--metrics"), "{:?}", not_given.json);
    let given = call_with(&agent(), "GET", &proxied.url("/v1/metrics"), Some(&prometheus), &forwarded, None);
    assert_eq!(given.status, 200, "{}", given.text);
    let lines = given.text.lines().map(|line| Ok(line.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("the Prometheus text format");
    assert!(scrape.samples.iter().any(|s| s.metric == "mailmfa_http_requests_total"), "{}", given.text);
    let log = proxied.log_once_it_has(&id_of(&given));
    assert!(lines_of(&log, &id_of(&given))[0].contains("client=prometheus"), "{log}");
    let listed = site.env.ok(&["client", "list", "--json"]).json();
    let metrics_of =
        |name: &str| listed.as_array().unwrap().iter().find(|c| c["name"] == name).unwrap()["metrics"].clone();
    assert_eq!((metrics_of("prometheus"), metrics_of("webmail")), (json!(true), json!(false)));
    assert_eq!(proxied.stop(), Some(0));
    let refusals: Vec<Value> = audit(&site.env).into_iter().filter(|e| e["action"] == "metrics.read").collect();
    assert_eq!(refusals.len(), 1, "the refused read is audited, the scrapes are not: {refusals:?}");
    assert_eq!(refusals[0]["actor"], "api:webmail");
    assert_eq!(refusals[0]["outcome"], "refused");
}

/// `/v1/health` reads the store and says whether the country database is loaded.
#[test]
fn the_health_check_reads_the_store_and_reports_the_country_database() {
    let site = Site::new();
    let server = Server::start(&site.env, &[]);
    let health = || call(&agent(), "GET", &server.url("/v1/health"), None, None);
    let bundled = health();
    assert_eq!(bundled.status, 200, "{:?}", bundled.json);
    assert_eq!(bundled.json["country_database"], json!({"state": "loaded"}));
    let broken = site.env.dir.path().join("broken.mmdb");
    std::fs::write(&broken, "not a country database").unwrap();
    site.env.ok(&["settings", "set", "geoip.path", &broken.display().to_string()]);
    let failed = health();
    assert_eq!(failed.status, 200, "{:?}", failed.json);
    assert_eq!(failed.json["country_database"]["state"], "failed", "{:?}", failed.json);
    assert!(failed.json["country_database"]["problem"].is_string(), "{:?}", failed.json);
}
