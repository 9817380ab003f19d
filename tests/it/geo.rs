//! Integration tests for `mailmfa::geo`: tiny databases built at test time
//! with `mmdb-writer`, plus the bundled database. Nothing is downloaded. And the service's use of
//! it: the country database is opened once per service and kept.

use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mailmfa::domain::{BeginAnswer, MailboxAddress, Reason};
use mailmfa::geo::{
    BUNDLED_DATABASE_FILE, CountryLookup, GeoError, MmdbCountryLookup, NoCountryLookup, bundled_database_candidates,
    bundled_database_path, times_opened,
};
use mailmfa::service::PostOfficeChanges;
use mmdb_writer::ipnet::IpNet;
use mmdb_writer::{IpVersion, Ipv4Aliasing, Value, Writer};

use crate::common::TestEnv;

const TEST_EPOCH: u64 = 1_700_000_000;

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

fn net(s: &str) -> IpNet {
    s.parse().expect("test network")
}

fn flat(code: impl Into<Value>) -> Value {
    Value::map([("country_code", code.into())])
}

fn iso(code: &str) -> Value {
    Value::map([("iso_code", Value::from(code))])
}

/// Writer for an IPv6 tree *without* the IPv4-mapped/6to4/Teredo aliases, so
/// that `::ffff:a.b.c.d` only resolves if the lookup canonicalises it.
fn writer(database_type: &str) -> Writer {
    Writer::builder(database_type)
        .ipv4_aliasing(Ipv4Aliasing::Disabled)
        .build_epoch(UNIX_EPOCH + Duration::from_secs(TEST_EPOCH))
        .build()
}

fn build(writer: &Writer) -> Vec<u8> {
    writer.to_bytes().expect("serialise test database")
}

/// Flat ip-location-db / iptoasn layout: `{"country_code": "DE"}`.
fn flat_db() -> Vec<u8> {
    let mut w = writer("Test-Flat-Country");
    let entries = [
        ("81.2.69.0/24", flat("GB")),
        ("2.125.160.0/19", flat("de")),
        ("2001:480::/32", flat("US")),
        ("2a02:d300::/32", flat("pl")),
        ("203.0.113.0/24", flat("XYZ")),
        ("198.51.100.0/24", flat("")),
        ("198.51.101.0/24", flat("1A")),
        ("89.160.20.0/24", flat(42_u32)),
        ("89.160.21.0/24", Value::map([("asn", Value::from(3301_u32))])),
        // Private ranges never get a country, whatever the database says.
        ("10.0.0.0/8", flat("DE")),
        ("127.0.0.0/8", flat("DE")),
        ("fd00::/8", flat("DE")),
    ];
    for (network, value) in entries {
        w.insert_value(net(network), value).expect("insert");
    }
    build(&w)
}

/// GeoIP2 / GeoLite2 / DB-IP layout: `{"country": {"iso_code": "DE"}, ...}`.
fn geoip2_db() -> Vec<u8> {
    let mut w = writer("Test-GeoIP2-Country");
    let gb = Value::map([
        ("continent", Value::map([("code", Value::from("EU"))])),
        (
            "country",
            Value::map([
                ("iso_code", Value::from("GB")),
                ("geoname_id", Value::from(2_635_167_u32)),
                ("names", Value::map([("en", Value::from("United Kingdom"))])),
            ]),
        ),
        ("registered_country", iso("GB")),
    ]);
    let entries = [
        ("81.2.69.0/24", gb),
        ("2a02:ff00::/32", Value::map([("country", iso("it"))])),
        ("89.160.20.0/24", Value::map([("country", iso("SE")), ("registered_country", iso("DE"))])),
        ("203.0.113.0/24", Value::map([("country", iso("XYZ"))])),
        ("198.51.100.0/24", Value::map([("country", iso(""))])),
    ];
    for (network, value) in entries {
        w.insert_value(net(network), value).expect("insert");
    }
    build(&w)
}

/// GeoIP2 layout where only `registered_country` carries a code.
fn registered_only_db() -> Vec<u8> {
    let mut w = writer("Test-Registered-Country");
    let entries = [
        ("81.2.69.0/24", Value::map([("registered_country", iso("GB"))])),
        ("2001:480::/32", Value::map([("registered_country", iso("us"))])),
        // `country` present but without a code: fall back.
        (
            "89.160.20.0/24",
            Value::map([
                ("country", Value::map([("names", Value::map([("en", Value::from("?"))]))])),
                ("registered_country", iso("FR")),
            ]),
        ),
        ("203.0.113.0/24", Value::map([("registered_country", iso("XYZ"))])),
    ];
    for (network, value) in entries {
        w.insert_value(net(network), value).expect("insert");
    }
    build(&w)
}

fn lookup(bytes: Vec<u8>) -> MmdbCountryLookup {
    MmdbCountryLookup::from_bytes(bytes).expect("test database loads")
}

fn country(db: &dyn CountryLookup, addr: &str) -> Option<String> {
    db.country(ip(addr))
}

#[test]
fn flat_layout_ipv4_and_ipv6() {
    let db = lookup(flat_db());
    assert_eq!(country(&db, "81.2.69.160").as_deref(), Some("GB"));
    assert_eq!(country(&db, "81.2.69.0").as_deref(), Some("GB"));
    assert_eq!(country(&db, "81.2.69.255").as_deref(), Some("GB"));
    assert_eq!(country(&db, "2001:480::1").as_deref(), Some("US"));
    assert_eq!(country(&db, "2001:480:ffff:ffff:ffff:ffff:ffff:ffff").as_deref(), Some("US"));
}

#[test]
fn lower_case_codes_are_upper_cased() {
    let db = lookup(flat_db());
    assert_eq!(country(&db, "2.125.160.216").as_deref(), Some("DE"));
    assert_eq!(country(&db, "2a02:d300::1").as_deref(), Some("PL"));
}

#[test]
fn invalid_or_missing_codes_give_none() {
    let db = lookup(flat_db());
    assert_eq!(country(&db, "203.0.113.7"), None, "three letters");
    assert_eq!(country(&db, "198.51.100.7"), None, "empty");
    assert_eq!(country(&db, "198.51.101.7"), None, "not letters");
    assert_eq!(country(&db, "89.160.20.1"), None, "not a string");
    assert_eq!(country(&db, "89.160.21.1"), None, "no country field");
}

#[test]
fn addresses_outside_any_network_give_none() {
    let db = lookup(flat_db());
    assert_eq!(country(&db, "81.2.70.1"), None);
    assert_eq!(country(&db, "8.8.8.8"), None);
    assert_eq!(country(&db, "2001:481::1"), None);
    assert_eq!(country(&db, "2606:4700::1111"), None);
}

#[test]
fn private_and_loopback_addresses_give_none_even_if_the_database_has_them() {
    let db = lookup(flat_db());
    for addr in
        ["10.0.0.1", "10.255.255.255", "127.0.0.1", "::ffff:10.0.0.1", "::ffff:127.0.0.1", "fd00::1", "::1", "::"]
    {
        assert_eq!(country(&db, addr), None, "{addr}");
    }
}

#[test]
fn ipv4_mapped_ipv6_resolves_like_ipv4() {
    // The test databases carry no IPv4-mapped alias subtree, so a raw lookup
    // of ::ffff:a.b.c.d finds nothing: only canonicalisation can resolve it.
    let bytes = flat_db();
    let raw = maxminddb::Reader::from_source(bytes.clone()).expect("raw reader");
    let raw_mapped = raw.lookup(ip("::ffff:81.2.69.160")).expect("raw lookup");
    assert!(!raw_mapped.has_data(), "test database must not alias ::ffff:0:0/96");

    for (db, addrs) in [
        (lookup(bytes), &["81.2.69.160", "2.125.160.216", "203.0.113.7", "8.8.8.8"][..]),
        (lookup(geoip2_db()), &["81.2.69.160", "89.160.20.112"][..]),
        (lookup(registered_only_db()), &["81.2.69.160", "89.160.20.5"][..]),
    ] {
        for v4 in addrs {
            let mapped = format!("::ffff:{v4}");
            assert_eq!(country(&db, &mapped), country(&db, v4), "{mapped}");
        }
    }
    let db = lookup(flat_db());
    assert_eq!(country(&db, "::ffff:81.2.69.160").as_deref(), Some("GB"));
    assert_eq!(country(&db, "::ffff:2.125.160.216").as_deref(), Some("DE"));
}

#[test]
fn geoip2_layout() {
    let db = lookup(geoip2_db());
    assert_eq!(country(&db, "81.2.69.160").as_deref(), Some("GB"));
    assert_eq!(country(&db, "2a02:ff00::1").as_deref(), Some("IT"));
    // `country` wins over `registered_country`.
    assert_eq!(country(&db, "89.160.20.112").as_deref(), Some("SE"));
    assert_eq!(country(&db, "203.0.113.7"), None);
    assert_eq!(country(&db, "198.51.100.7"), None);
    assert_eq!(country(&db, "1.1.1.1"), None);
}

#[test]
fn registered_country_is_the_fallback() {
    let db = lookup(registered_only_db());
    assert_eq!(country(&db, "81.2.69.160").as_deref(), Some("GB"));
    assert_eq!(country(&db, "2001:480::1").as_deref(), Some("US"));
    assert_eq!(country(&db, "89.160.20.5").as_deref(), Some("FR"));
    assert_eq!(country(&db, "203.0.113.7"), None);
    assert_eq!(country(&db, "2001:481::1"), None);
}

#[test]
fn ipv4_only_database() {
    let mut w = Writer::builder("Test-IPv4-Only").ip_version(IpVersion::V4).build();
    w.insert_value(net("81.2.69.0/24"), flat("GB")).expect("insert");
    let db = lookup(build(&w));
    assert_eq!(country(&db, "81.2.69.160").as_deref(), Some("GB"));
    assert_eq!(country(&db, "::ffff:81.2.69.160").as_deref(), Some("GB"));
    // An IPv6 address cannot be looked up in an IPv4 tree: unknown, not a panic.
    assert_eq!(country(&db, "2001:480::1"), None);
}

#[test]
fn metadata_is_exposed() {
    let db = lookup(flat_db());
    assert_eq!(db.database_type(), "Test-Flat-Country");
    assert_eq!(db.build_epoch(), TEST_EPOCH);
    let debug = format!("{db:?}");
    assert!(debug.contains("Test-Flat-Country"), "{debug}");
}

#[test]
fn open_reads_a_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("geoip2.mmdb");
    std::fs::write(&path, geoip2_db()).expect("write");
    let db = MmdbCountryLookup::open(&path).expect("open");
    assert_eq!(db.database_type(), "Test-GeoIP2-Country");
    assert_eq!(country(&db, "81.2.69.160").as_deref(), Some("GB"));
}

#[test]
fn missing_file_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nope").join("missing.mmdb");
    let err = MmdbCountryLookup::open(&path).expect_err("missing file must fail");
    let msg = err.to_string();
    let prefix = format!("GeoIP database {} could not be read: ", path.display());
    assert!(msg.starts_with(&prefix), "{msg}");
    match err {
        GeoError::Io { path: p, cause } => {
            assert_eq!(p, path);
            assert_eq!(cause.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("expected GeoError::Io, got {other:?}"),
    }
}

#[test]
fn garbage_file_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, contents) in
        [("garbage.mmdb", b"this is not a MaxMind database\n".repeat(100)), ("empty.mmdb", Vec::new())]
    {
        let path = dir.path().join(name);
        std::fs::write(&path, contents).expect("write");
        let err = MmdbCountryLookup::open(&path).expect_err("garbage must fail");
        let msg = err.to_string();
        let prefix = format!("GeoIP database {} could not be read: ", path.display());
        assert!(msg.starts_with(&prefix), "{msg}");
        assert!(msg.contains("not a valid MaxMind DB file"), "{msg}");
        assert!(matches!(&err, GeoError::Invalid { path: Some(p), .. } if p == &path), "{err:?}");
    }
}

#[test]
fn a_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = MmdbCountryLookup::open(dir.path()).expect_err("directory must fail");
    assert!(
        err.to_string().starts_with(&format!("GeoIP database {} could not be read: ", dir.path().display())),
        "{err}"
    );
}

#[test]
fn garbage_bytes_are_a_clear_error() {
    let err = MmdbCountryLookup::from_bytes(b"garbage".to_vec()).expect_err("must fail");
    let msg = err.to_string();
    assert!(msg.starts_with("GeoIP database (in memory) could not be read: not a valid MaxMind DB file"), "{msg}");
    assert!(matches!(err, GeoError::Invalid { path: None, .. }), "{err:?}");
}

#[test]
fn no_country_lookup_always_none() {
    let db = NoCountryLookup;
    for addr in ["8.8.8.8", "81.2.69.160", "2001:4860:4860::8888", "127.0.0.1"] {
        assert_eq!(country(&db, addr), None);
    }
}

#[test]
fn lookups_are_shareable_between_threads() {
    let db: Arc<dyn CountryLookup> = Arc::new(lookup(flat_db()));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let db = Arc::clone(&db);
            std::thread::spawn(move || db.country(ip("81.2.69.160")))
        })
        .collect();
    for handle in handles {
        assert_eq!(handle.join().expect("thread").as_deref(), Some("GB"));
    }
}

// ---- the bundled database -------------------------------------------------

fn bundled() -> &'static MmdbCountryLookup {
    static DB: OnceLock<MmdbCountryLookup> = OnceLock::new();
    DB.get_or_init(|| {
        let path = bundled_database_path().expect("bundled database is found");
        MmdbCountryLookup::open(&path).expect("bundled database opens")
    })
}

#[test]
fn bundled_database_is_found() {
    let path = bundled_database_path().expect("bundled database is found");
    assert_eq!(path.file_name().and_then(|n| n.to_str()), Some(BUNDLED_DATABASE_FILE));
    assert!(path.is_file());
    let candidates = bundled_database_candidates();
    assert_eq!(candidates.len(), 3);
    assert_eq!(candidates.last(), Some(&path), "tests use the source tree copy");
    assert!(candidates.iter().all(|c| c.ends_with(Path::new("geoip").join(BUNDLED_DATABASE_FILE))));
}

#[test]
fn bundled_database_metadata() {
    let db = bundled();
    assert!(!db.database_type().is_empty());
    // Built on or after 2026-06-01, and not in the far future.
    assert!(db.build_epoch() >= 1_780_272_000, "{}", db.build_epoch());
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(u64::MAX);
    assert!(db.build_epoch() <= now + 86_400, "{}", db.build_epoch());
}

#[test]
fn bundled_database_resolves_well_known_addresses() {
    // Expected countries checked against the shipped data (iptoasn-country
    // 2.3.2026061719); IPtoASN gives the AS's registration country.
    let db = bundled();
    for (addr, expected) in [
        ("8.8.8.8", "US"),              // Google Public DNS
        ("1.1.1.1", "US"),              // Cloudflare DNS
        ("193.99.144.80", "DE"),        // heise.de, Heise Medien
        ("212.58.244.1", "GB"),         // BBC
        ("200.160.2.3", "BR"),          // NIC.br
        ("2001:4860:4860::8888", "US"), // Google Public DNS (IPv6)
        ("::ffff:8.8.8.8", "US"),       // IPv4-mapped: canonicalised first
        ("::ffff:193.99.144.80", "DE"),
    ] {
        assert_eq!(country(db, addr).as_deref(), Some(expected), "{addr}");
    }
}

#[test]
fn bundled_database_knows_no_country_for_private_addresses() {
    for addr in [
        "127.0.0.1",
        "10.0.0.1",
        "192.168.1.1",
        "172.16.0.1",
        "::1",
        "fe80::1",
        "::ffff:127.0.0.1",
        "192.0.2.1",   // TEST-NET-1: not in the data
        "2001:db8::1", // documentation prefix: not in the data
    ] {
        assert_eq!(country(bundled(), addr), None, "{addr}");
    }
}

// ---- the service's country database -----------------------------------------------------------

/// The country database is opened once per service and kept — not read again for every login —
/// and opened again only when `geoip.path` changes. The test counts the opens of copies of its
/// own, so the other tests' databases do not count.
#[test]
fn the_country_database_is_opened_once_and_again_only_when_its_path_changes() {
    let env = TestEnv::new();
    let service = env.service(1_800_000_000);
    let copy = |name: &str| {
        let path = env.path(name);
        std::fs::copy(bundled_database_path().unwrap(), &path).unwrap();
        path
    };
    let first = copy("countries.mmdb");
    service.set_setting("geoip.path", first.to_str().unwrap()).unwrap();
    service.add_postoffice(&"example.com".parse().unwrap()).unwrap();
    service
        .set_postoffice(
            &"example.com".parse().unwrap(),
            &PostOfficeChanges { challenge: Some("new-country".parse().unwrap()), ..PostOfficeChanges::default() },
        )
        .unwrap();
    let alice: MailboxAddress = "alice@example.com".parse().unwrap();
    for ip in ["8.8.8.8", "193.99.144.80", "1.1.1.1", "2001:4860:4860::8888", "10.0.0.1"] {
        let answer = service.begin_login(&alice, ip.parse().unwrap()).unwrap();
        assert!(matches!(answer, BeginAnswer::Enroll { .. }), "{ip}: {answer:?}");
        service.verify_login(&alice, ip.parse().unwrap(), "000000").unwrap();
        service.unlock(&alice).unwrap();
    }
    assert_eq!(times_opened(&first), 1, "five logins opened the database more than once");

    service.set_setting("lockout.threshold", "7").unwrap();
    service.begin_login(&alice, "8.8.4.4".parse().unwrap()).unwrap();
    assert_eq!(times_opened(&first), 1, "another setting's change reopened the database");

    let second = copy("copy.mmdb");
    service.set_setting("geoip.path", second.to_str().unwrap()).unwrap();
    let answer = service.begin_login(&alice, "8.8.4.4".parse().unwrap()).unwrap();
    assert!(matches!(answer, BeginAnswer::Enroll { reason: Some(Reason::NewCountry), .. }), "{answer:?}");
    assert_eq!((times_opened(&first), times_opened(&second)), (1, 1), "the new database was opened once");
}
