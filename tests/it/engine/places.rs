//! Where a login comes from: new IP addresses and countries, trusted networks, known places that
//! age out, and a country database that goes missing.

use super::{Rig, T0, addr};
use crate::common::fixtures::secret_of;
use crate::on_each_backend;
use mailmfa::clock::Clock;
use mailmfa::domain::{BeginAnswer, ChallengeMode, Configurer, Provider, Reason, VerifyAnswer};
use mailmfa::service::{MailboxChanges, PostOfficeChanges};

fn new_ip_treats_ipv4_mapped_ipv6_as_the_same_address() {
    let rig = Rig::new();
    rig.set(Some("new-ip"), None);
    let BeginAnswer::Enroll { reason, .. } = rig.begin("203.0.113.5") else { panic!() };
    assert_eq!(reason, Some(Reason::NewIp));
    rig.service.reset_two_factor_code(&addr()).unwrap();
    rig.enrol("203.0.113.5");
    assert_eq!(rig.begin("203.0.113.5"), BeginAnswer::Allow { reason: Some(Reason::KnownIp) });
    assert_eq!(rig.begin("::ffff:203.0.113.5"), BeginAnswer::Allow { reason: Some(Reason::KnownIp) });
    let v6 = rig.begin("2001:db8::1");
    assert!(matches!(v6, BeginAnswer::Challenge { reason: Some(Reason::NewIp), .. }), "{v6:?}");
    let secret = rig.secret();
    rig.clock.advance(30);
    assert_eq!(rig.verify("2001:db8::1", &rig.code(&secret)), VerifyAnswer::Accepted);
    assert_eq!(rig.begin("2001:0db8:0000::0001"), BeginAnswer::Allow { reason: Some(Reason::KnownIp) });
    rig.service.reset_country_exceptions(&addr()).unwrap();
    assert!(matches!(rig.begin("203.0.113.5"), BeginAnswer::Challenge { reason: Some(Reason::NewIp), .. }));
}

fn new_country_uses_the_bundled_database_and_challenges_unknown_countries() {
    let rig = Rig::new();
    rig.set(Some("new-country"), None);
    let BeginAnswer::Enroll { otpauth_uri, reason, .. } = rig.begin("8.8.8.8") else { panic!() };
    assert_eq!(reason, Some(Reason::NewCountry));
    let secret = secret_of(&otpauth_uri);
    assert_eq!(rig.verify("8.8.8.8", &rig.code(&secret)), VerifyAnswer::Accepted);
    assert_eq!(rig.begin("1.1.1.1"), BeginAnswer::Allow { reason: Some(Reason::KnownCountry) }, "US again");
    assert_eq!(rig.begin("2001:4860:4860::8888"), BeginAnswer::Allow { reason: Some(Reason::KnownCountry) });
    assert_eq!(rig.begin("::ffff:1.1.1.1"), BeginAnswer::Allow { reason: Some(Reason::KnownCountry) });
    assert!(matches!(rig.begin("193.99.144.80"), BeginAnswer::Challenge { reason: Some(Reason::NewCountry), .. }));
    assert!(matches!(rig.begin("10.0.0.1"), BeginAnswer::Challenge { reason: Some(Reason::UnknownCountry), .. }));
    let known = rig.service.mailbox(&addr()).unwrap().known_countries;
    assert_eq!(known.iter().map(|c| c.value.as_str()).collect::<Vec<_>>(), ["US"]);
    let (countries, ips) = rig.service.reset_country_exceptions(&addr()).unwrap();
    assert_eq!((countries, ips), (1, 1));
    assert!(matches!(rig.begin("1.1.1.1"), BeginAnswer::Challenge { reason: Some(Reason::NewCountry), .. }));
}

/// Trusted networks (the platform's and the post office's) count as known in `new-ip` and
/// `new-country` — IPv4, IPv6 and IPv4-mapped alike — but `always` still challenges; nonsense is
/// refused when it is set, with a clear error.
fn a_trusted_network_skips_new_ip_and_new_country_but_not_always() {
    let rig = Rig::new();
    let trusted = || BeginAnswer::Allow { reason: Some(Reason::TrustedNetwork) };
    rig.set(Some("new-ip"), None);
    rig.enrol("8.8.8.8");
    assert_eq!(
        rig.begin("10.1.2.3"),
        BeginAnswer::Challenge { provider: Provider::Totp, sent_to: None, reason: Some(Reason::NewIp) }
    );

    rig.service.set_setting("trusted.networks", "10.0.0.0/8, 2001:db8::/32").unwrap();
    assert_eq!(rig.begin("10.1.2.3"), trusted());
    assert_eq!(rig.begin("::ffff:10.9.8.7"), trusted(), "an IPv4-mapped address is its IPv4 address");
    assert_eq!(rig.begin("2001:db8:1::5"), trusted());
    assert!(matches!(rig.begin("11.0.0.1"), BeginAnswer::Challenge { reason: Some(Reason::NewIp), .. }));
    rig.set(Some("new-country"), None);
    assert_eq!(rig.begin("10.1.2.3"), trusted(), "a private address has no country, yet is trusted");
    rig.set(Some("always"), None);
    assert!(matches!(rig.begin("10.1.2.3"), BeginAnswer::Challenge { reason: Some(Reason::Always), .. }));

    // The post office's own networks, as the command line and the console set them.
    rig.service.set_setting("trusted.networks", "").unwrap();
    rig.set(Some("inherit"), None);
    let po = "example.com".parse().unwrap();
    let office = PostOfficeChanges {
        challenge: Some(ChallengeMode::NewIp),
        trusted_networks: Some(mailmfa::domain::parse_networks("192.0.2.0/24").unwrap()),
        ..PostOfficeChanges::default()
    };
    rig.service.set_postoffice(&po, &office).unwrap();
    assert_eq!(rig.begin("192.0.2.77"), trusted());
    assert!(matches!(rig.begin("198.51.100.1"), BeginAnswer::Challenge { reason: Some(Reason::NewIp), .. }));

    for nonsense in ["10.0.0.0/33", "10.0.0.1/8", "10.0.0.0/8 junk", "2001:db8::/129"] {
        let err = rig.service.set_setting("trusted.networks", nonsense).unwrap_err().to_string();
        assert!(err.contains("trusted.networks"), "{nonsense}: {err}");
    }
    let entries = rig.service.audit(Some(&addr()), 50).unwrap();
    assert!(
        entries.iter().any(|e| e.entry.detail.as_deref().is_some_and(|d| d.contains("trusted_network"))),
        "{entries:?}"
    );
}

/// A known IP address or country not seen for `known.max_age_days` is forgotten: the next login
/// from it is challenged again. A place that keeps letting logins through stays known; 0 keeps
/// every place for ever.
fn known_places_age_out_unless_they_are_used() {
    let rig = Rig::new();
    rig.set(Some("new-country"), None);
    let secret = rig.enrol("81.2.69.160"); // GB
    assert_eq!(rig.begin("81.2.69.161"), BeginAnswer::Allow { reason: Some(Reason::KnownCountry) });

    // Used every 60 days, it stays known past 90.
    for _ in 0..3 {
        rig.clock.advance(60 * 86_400);
        assert_eq!(rig.begin("81.2.69.161"), BeginAnswer::Allow { reason: Some(Reason::KnownCountry) });
    }
    // Not seen for 91 days, it is forgotten.
    rig.clock.advance(91 * 86_400);
    assert_eq!(
        rig.begin("81.2.69.161"),
        BeginAnswer::Challenge { provider: Provider::Totp, sent_to: None, reason: Some(Reason::NewCountry) }
    );
    assert!(rig.service.mailbox(&addr()).unwrap().known_countries.is_empty(), "Properties lists it no more");
    assert_eq!(rig.verify("81.2.69.161", &rig.code(&secret)), VerifyAnswer::Accepted);
    let known = rig.service.mailbox(&addr()).unwrap().known_countries;
    assert_eq!(known.len(), 1);
    assert_eq!((known[0].value.as_str(), known[0].first_seen), ("GB", rig.clock.now()), "learnt afresh");

    rig.service.set_setting("known.max_age_days", "0").unwrap();
    rig.clock.advance(3_650 * 86_400);
    assert_eq!(rig.begin("81.2.69.161"), BeginAnswer::Allow { reason: Some(Reason::KnownCountry) }, "0 = never");
}

/// A country database that goes missing fails safe: every country is unknown, so `new-country`
/// challenges and every other mode works as before; the audit log says so once, not per login.
fn a_missing_country_database_fails_safe() {
    let rig = Rig::new();
    let copy = rig.env.path("countries.mmdb");
    std::fs::copy(mailmfa::geo::bundled_database_path().unwrap(), &copy).unwrap();
    rig.service.set_setting("geoip.path", copy.to_str().unwrap()).unwrap();
    rig.set(Some("new-country"), None);
    let secret = {
        let BeginAnswer::Enroll { otpauth_uri, .. } = rig.begin("8.8.8.8") else { panic!("enrols") };
        secret_of(&otpauth_uri)
    };
    assert_eq!(rig.verify("8.8.8.8", &rig.code(&secret)), VerifyAnswer::Accepted);
    assert_eq!(rig.begin("1.1.1.1"), BeginAnswer::Allow { reason: Some(Reason::KnownCountry) });

    // A server started while the file is missing (or unreadable) fails safe.
    std::fs::remove_file(&copy).unwrap();
    let server = rig.env.service(T0);
    let alice = addr();
    for _ in 0..3 {
        let answer = server.begin_login(&alice, "1.1.1.1".parse().unwrap()).unwrap();
        assert_eq!(
            answer,
            BeginAnswer::Challenge { provider: Provider::Totp, sent_to: None, reason: Some(Reason::UnknownCountry) }
        );
    }
    server
        .set_mailbox(
            &alice,
            &MailboxChanges { challenge: Some("always".parse().unwrap()), ..MailboxChanges::default() },
            Configurer::Administrator,
        )
        .unwrap();
    let answer = server.begin_login(&alice, "1.1.1.1".parse().unwrap()).unwrap();
    assert!(matches!(answer, BeginAnswer::Challenge { reason: Some(Reason::Always), .. }), "{answer:?}");
    let problem = server.country_database_problem().unwrap().expect("a problem is reported");
    assert!(problem.contains("countries.mmdb"), "{problem}");
    let warnings =
        server.audit(None, 100).unwrap().into_iter().filter(|e| e.entry.action == "geoip.unavailable").count();
    assert_eq!(warnings, 1);
    let cli = rig.env.run(&["login", "begin", "alice@example.com", "--ip", "1.1.1.1", "--json"]);
    assert_eq!(cli.status, 0, "{}", cli.stderr);
    assert_eq!(cli.json()["decision"], "challenge");
}

on_each_backend!(
    new_ip_treats_ipv4_mapped_ipv6_as_the_same_address,
    new_country_uses_the_bundled_database_and_challenges_unknown_countries,
    a_trusted_network_skips_new_ip_and_new_country_but_not_always,
    known_places_age_out_unless_they_are_used,
    a_missing_country_database_fails_safe,
);
