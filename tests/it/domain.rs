//! Every domain parser with good and bad input: normalisation, and refusals whose messages are one
//! short line naming what is wrong (empty, whitespace, 10 kB strings, control characters, bad forms).

use std::fmt::Debug;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use mailmfa::domain::{
    ChallengeMode, Code, CountryCode, DomainError, EmailAddress, EnrolmentState, LoginIp, MailboxAddress,
    MailboxChallenge, MailboxName, PhoneNumber, PostOfficeName, Provider, SETTINGS, SettingKind, Switch, setting,
};

const TEN_KB: usize = 10 * 1024;

/// Parses input that must be accepted.
fn ok<T: FromStr<Err = DomainError>>(raw: &str) -> T {
    raw.parse().unwrap_or_else(|e| panic!("{raw:?} was refused: {e}"))
}

/// Parses input that must be refused; returns the message after checking it is one line and names
/// `what` (the kind of value) or `hint`.
fn refused<T: FromStr<Err = DomainError> + Debug>(raw: &str, hint: &str) -> String {
    let err = match raw.parse::<T>() {
        Ok(v) => panic!("{:?} was accepted as {v:?}", shorten(raw)),
        Err(e) => e.to_string(),
    };
    assert_eq!(err.lines().count(), 1, "{:?}: message is not one line: {err:?}", shorten(raw));
    assert!(!err.contains(['\n', '\r']), "{:?}: {err:?}", shorten(raw));
    assert!(err.contains(hint), "{:?}: message {err:?} does not mention {hint:?}", shorten(raw));
    err
}

/// Refused, and the message is short: under 200 characters.
fn refused_short<T: FromStr<Err = DomainError> + Debug>(raw: &str, hint: &str) -> String {
    let err = refused::<T>(raw, hint);
    assert!(err.chars().count() < 200, "message for {} bytes is {} characters: {err}", raw.len(), err.len());
    err
}

fn shorten(raw: &str) -> String {
    raw.chars().take(60).collect()
}

/// Inputs every free-form parser must refuse without a panic and with a short one-line message.
fn hostile_inputs() -> Vec<String> {
    vec![
        String::new(),
        " ".to_owned(),
        "\t \t".to_owned(),
        "x".repeat(TEN_KB),
        "9".repeat(TEN_KB),
        "é".repeat(TEN_KB / 2),
        "a\nb".to_owned(),
        "a\rb".to_owned(),
        "a\0b".to_owned(),
        "a\u{7}b".to_owned(),
        "\u{202e}abc".to_owned(),
    ]
}

#[test]
fn post_office_names_fold_case_and_trim() {
    assert_eq!(ok::<PostOfficeName>("Example.COM").as_str(), "example.com");
    assert_eq!(ok::<PostOfficeName>("  Company ").as_str(), "company");
    assert_eq!(ok::<PostOfficeName>("mail-1.example_org").as_str(), "mail-1.example_org");
    assert_eq!(ok::<PostOfficeName>("0day").as_str(), "0day");
    assert_eq!(ok::<PostOfficeName>("EXAMPLE.com"), ok::<PostOfficeName>("example.COM"));
    assert_eq!(ok::<PostOfficeName>(&"a".repeat(64)).as_str().len(), 64);
    assert_eq!(ok::<PostOfficeName>("Example.com").to_string(), "example.com");
}

#[test]
fn post_office_names_refused_with_a_reason() {
    assert_eq!("".parse::<PostOfficeName>(), Err(DomainError::Empty("post office name")));
    refused_short::<PostOfficeName>("", "empty");
    refused_short::<PostOfficeName>("   ", "post office name");
    refused_short::<PostOfficeName>(&"a".repeat(65), "too long");
    refused_short::<PostOfficeName>(&"x".repeat(TEN_KB), "too long");
    refused_short::<PostOfficeName>("exa mple.com", "' '");
    refused_short::<PostOfficeName>("example.com/x", "'/'");
    refused_short::<PostOfficeName>("exa\nmple.com", "'\\n'");
    refused_short::<PostOfficeName>("exa\u{0}mple", "not allowed");
    refused_short::<PostOfficeName>("exämple.com", "'ä'");
    refused_short::<PostOfficeName>("user@example.com", "'@'");
    refused_short::<PostOfficeName>("-example", "start with a letter or digit");
    refused_short::<PostOfficeName>(".example", "start with a letter or digit");
    refused_short::<PostOfficeName>("example.", "dots may not trail or repeat");
    refused_short::<PostOfficeName>("example..com", "dots may not trail or repeat");
    for raw in hostile_inputs() {
        refused_short::<PostOfficeName>(&raw, "post office name");
    }
}

#[test]
fn mailbox_names_fold_case() {
    assert_eq!(ok::<MailboxName>("Alice").as_str(), "alice");
    assert_eq!(ok::<MailboxName>(" John.Smith ").as_str(), "john.smith");
    assert_eq!(ok::<MailboxName>("a+tag_1-x").as_str(), "a+tag_1-x");
    assert_eq!(ok::<MailboxName>(&"m".repeat(64)).as_str().len(), 64);
}

#[test]
fn mailbox_names_refused_with_a_reason() {
    refused_short::<MailboxName>("", "mailbox name is empty");
    refused_short::<MailboxName>("   ", "mailbox name is empty");
    refused_short::<MailboxName>(&"m".repeat(65), "too long");
    refused_short::<MailboxName>(&"m".repeat(TEN_KB), "too long");
    refused_short::<MailboxName>("a b", "' '");
    refused_short::<MailboxName>("a@b", "'@'");
    refused_short::<MailboxName>("a\nb", "'\\n'");
    refused_short::<MailboxName>("jürgen", "'ü'");
    refused_short::<MailboxName>(".alice", "dots may not lead, trail or repeat");
    refused_short::<MailboxName>("alice.", "dots may not lead, trail or repeat");
    refused_short::<MailboxName>("al..ice", "dots may not lead, trail or repeat");
    for raw in hostile_inputs() {
        refused_short::<MailboxName>(&raw, "mailbox name");
    }
}

/// A limit stated in a "too long" message must be the real limit: a name one character over it is
/// refused with the same number as a 10 kB one.
#[test]
fn too_long_messages_state_the_real_limit() {
    fn limit<T: FromStr<Err = DomainError> + Debug>(raw: &str) -> usize {
        match raw.parse::<T>() {
            Err(DomainError::TooLong { max, .. }) => max,
            other => panic!("{} characters: expected TooLong, got {other:?}", raw.len()),
        }
    }
    let huge = "x".repeat(TEN_KB);
    assert_eq!(limit::<PostOfficeName>(&huge), limit::<PostOfficeName>(&"x".repeat(65)), "post office name");
    assert_eq!(limit::<MailboxName>(&huge), limit::<MailboxName>(&"x".repeat(65)), "mailbox name");
}

#[test]
fn mailbox_addresses_parse_and_fold_case() {
    let a: MailboxAddress = ok("Alice@Example.COM");
    assert_eq!(a.mailbox.as_str(), "alice");
    assert_eq!(a.postoffice.as_str(), "example.com");
    assert_eq!(a.to_string(), "alice@example.com");
    assert_eq!(a, ok::<MailboxAddress>(" alice@example.com "));
    assert_eq!(ok::<MailboxAddress>("bob@Company").to_string(), "bob@company");
    assert_eq!(MailboxAddress::new(ok("Bob"), ok("Company")).to_string(), "bob@company");
    assert_eq!(serde_json::to_string(&a).unwrap(), "\"alice@example.com\"");
}

#[test]
fn mailbox_addresses_refused_with_a_reason() {
    refused_short::<MailboxAddress>("", "mailbox address is empty");
    refused_short::<MailboxAddress>("alice", "mailbox@postoffice");
    refused_short::<MailboxAddress>("alice.example.com", "mailbox@postoffice");
    refused_short::<MailboxAddress>("@example.com", "mailbox name is empty");
    refused_short::<MailboxAddress>("alice@", "post office name is empty");
    refused_short::<MailboxAddress>("a@b@example.com", "'@'");
    refused_short::<MailboxAddress>("a b@example.com", "' '");
    refused_short::<MailboxAddress>(".alice@example.com", "dots");
    refused_short::<MailboxAddress>("alice.@example.com", "dots");
    refused_short::<MailboxAddress>("alice@example..com", "dots");
    refused_short::<MailboxAddress>("alice@-example.com", "start with a letter or digit");
    refused_short::<MailboxAddress>("alice@exa mple.com", "' '");
    refused_short::<MailboxAddress>(&format!("{}@example.com", "x".repeat(TEN_KB)), "too long");
    refused_short::<MailboxAddress>(&format!("alice@{}", "x".repeat(TEN_KB)), "too long");
    for raw in hostile_inputs() {
        refused_short::<MailboxAddress>(&raw, "mailbox");
    }
}

#[test]
fn email_addresses_parse_and_fold_the_domain_only() {
    let e: EmailAddress = ok("Alice.Private@Example.ORG");
    assert_eq!(e.as_str(), "Alice.Private@example.org");
    assert_eq!(ok::<EmailAddress>("  bob+mfa@mail.example.net ").as_str(), "bob+mfa@mail.example.net");
    assert_eq!(ok::<EmailAddress>("o'brien@x-y.example.co.uk").to_string(), "o'brien@x-y.example.co.uk");
    assert_eq!(ok::<EmailAddress>(&format!("{}@example.org", "l".repeat(64))).as_str().len(), 64 + 12);
    assert_eq!(ok::<EmailAddress>(&format!("a@{}.org", "d".repeat(63))).as_str().len(), 2 + 63 + 4);
}

#[test]
fn email_addresses_refused_with_a_reason() {
    refused_short::<EmailAddress>("", "empty");
    refused_short::<EmailAddress>("alice.example.org", "no '@'");
    refused_short::<EmailAddress>("a@b@example.org", "'@'");
    refused_short::<EmailAddress>("a@@example.org", "'@'");
    refused_short::<EmailAddress>(".alice@example.org", "dots may not lead, trail or repeat");
    refused_short::<EmailAddress>("alice.@example.org", "dots may not lead, trail or repeat");
    refused_short::<EmailAddress>("al..ice@example.org", "dots may not lead, trail or repeat");
    refused_short::<EmailAddress>("al ice@example.org", "' '");
    refused_short::<EmailAddress>("al\nice@example.org", "'\\n'");
    refused_short::<EmailAddress>("\"quoted\"@example.org", "'\"'");
    refused_short::<EmailAddress>("alice@example..org", "1 to 63 characters");
    refused_short::<EmailAddress>("alice@.example.org", "1 to 63 characters");
    refused_short::<EmailAddress>("alice@example.org.", "1 to 63 characters");
    refused_short::<EmailAddress>(&format!("alice@{}.org", "d".repeat(64)), "1 to 63 characters");
    refused_short::<EmailAddress>("alice@-example.org", "'-'");
    refused_short::<EmailAddress>("alice@example-.org", "'-'");
    refused_short::<EmailAddress>("alice@exa_mple.org", "'_'");
    refused_short::<EmailAddress>("alice@exämple.org", "'ä'");
    refused_short::<EmailAddress>("alice@[192.0.2.1]", "'['");
    refused_short::<EmailAddress>("alice@localhost", "needs a dot");
    refused_short::<EmailAddress>(&format!("{}@example.org", "x".repeat(TEN_KB)), "too long");
    refused_short::<EmailAddress>(&format!("alice@{}.org", "x".repeat(TEN_KB)), "too long");
    for raw in hostile_inputs() {
        refused_short::<EmailAddress>(&raw, "e-mail address");
    }
}

/// When only one part of an address is wrong, the message says which part, not that the whole
/// address is empty or too long.
#[test]
fn email_errors_name_the_part_that_is_wrong() {
    for (raw, wrong) in [
        ("@example.org", "the e-mail address is empty"),
        ("alice@", "the e-mail address is empty"),
        (&*format!("{}@example.org", "l".repeat(65)), "the e-mail address is too long (at most 64 characters)"),
    ] {
        let err = raw.parse::<EmailAddress>().unwrap_err().to_string();
        assert_ne!(err, wrong, "{raw:?}: the message blames the whole address for one part");
    }
}

#[test]
fn an_alternate_address_may_not_be_the_mailbox_itself() {
    let own: MailboxAddress = ok("alice@example.com");
    for same in [
        "alice@example.com",
        "Alice@Example.COM",
        " ALICE@example.com ",
        "alice+mfa@example.com",
        "Alice+Codes.2@EXAMPLE.com",
        "a.lice@example.com",
        "A.L.I.C.E+x@example.com",
    ] {
        let err = ok::<EmailAddress>(same).check_not_own(&own).unwrap_err().to_string();
        assert!(err.contains("own address"), "{same}: {err}");
        assert_eq!(err.lines().count(), 1);
    }
    for other in ["alice@example.org", "alice.private@example.com", "bob@example.com", "alice@mail.example.com"] {
        ok::<EmailAddress>(other).check_not_own(&own).unwrap_or_else(|e| panic!("{other}: {e}"));
    }
}

#[test]
fn email_masking_hides_the_local_part() {
    for raw in ["alice.private@example.org", "bob@example.net", "x@example.org", "Zoë@example.org"] {
        let Ok(e) = raw.parse::<EmailAddress>() else { continue };
        let masked = e.masked();
        let (local, domain) = e.as_str().split_once('@').unwrap();
        assert!(masked.ends_with(&format!("@{domain}")), "{masked}");
        if local.chars().count() > 1 {
            assert!(!masked.contains(local), "{masked} shows {local}");
        }
        assert_ne!(masked, e.as_str());
    }
    assert_eq!(ok::<EmailAddress>("alice.private@example.org").masked(), "a…@example.org");
}

#[test]
fn phone_numbers_normalise_to_e164() {
    for raw in
        ["+15551234567", "+1 555 123 4567", "+1-555-123-4567", "+1 (555) 123-4567", "+1.555.123.4567", " +15551234567 "]
    {
        assert_eq!(ok::<PhoneNumber>(raw).as_str(), "+15551234567", "{raw}");
    }
    assert_eq!(ok::<PhoneNumber>("+49 30 1234567").to_string(), "+49301234567");
    assert_eq!(ok::<PhoneNumber>("+1234567").as_str(), "+1234567");
    assert_eq!(ok::<PhoneNumber>("+123456789012345").as_str(), "+123456789012345");
    assert_eq!(serde_json::to_string(&ok::<PhoneNumber>("+1 555 123 4567")).unwrap(), "\"+15551234567\"");
}

#[test]
fn phone_numbers_refused_with_a_reason() {
    refused_short::<PhoneNumber>("", "phone number is empty");
    refused_short::<PhoneNumber>("5551234567", "E.164");
    refused_short::<PhoneNumber>("001 555 123 4567", "E.164");
    refused_short::<PhoneNumber>("1+5551234567", "E.164");
    refused_short::<PhoneNumber>("+1555abc4567", "only digits");
    refused_short::<PhoneNumber>("+1 555 CALL NOW", "only digits");
    refused_short::<PhoneNumber>("++15551234567", "only digits");
    refused_short::<PhoneNumber>("+1555/1234567", "only digits");
    refused_short::<PhoneNumber>("+1555\n1234567", "only digits");
    refused_short::<PhoneNumber>("+１５５５１２３４５６７", "only digits");
    refused_short::<PhoneNumber>("+", "7 to 15 digits");
    refused_short::<PhoneNumber>("+123456", "7 to 15 digits");
    refused_short::<PhoneNumber>("+1234567890123456", "7 to 15 digits");
    refused_short::<PhoneNumber>("+0123456789", "cannot start with 0");
    refused_short::<PhoneNumber>("+00 49 30 1234567", "cannot start with 0");
    refused_short::<PhoneNumber>(&format!("+{}", "1".repeat(TEN_KB)), "too long");
    for raw in hostile_inputs() {
        refused_short::<PhoneNumber>(&raw, "phone number");
    }
}

#[test]
fn phone_masking_shows_only_the_last_two_digits() {
    for raw in ["+15551234567", "+1234567", "+123456789012345", "+49301234567"] {
        let p: PhoneNumber = ok(raw);
        let masked = p.masked();
        assert!(masked.starts_with('+'), "{masked}");
        assert!(masked.ends_with(&raw[raw.len() - 2..]), "{masked}");
        let digits: String = masked.chars().filter(char::is_ascii_digit).collect();
        assert_eq!(digits.len(), 2, "{masked} shows more than two digits");
        assert!(!masked.contains(&raw[1..]), "{masked}");
    }
}

#[test]
fn country_codes_upper_case() {
    assert_eq!(ok::<CountryCode>("de").as_str(), "DE");
    assert_eq!(ok::<CountryCode>("Us").to_string(), "US");
    assert_eq!(ok::<CountryCode>("GB"), ok::<CountryCode>("gb"));
    assert_eq!(serde_json::to_string(&ok::<CountryCode>("fr")).unwrap(), "\"FR\"");
    for raw in ["", "D", "DEU", "D1", "1D", "d-", "dé", "ÄÖ", " d", "de\n"] {
        refused_short::<CountryCode>(raw, "country code");
    }
    for raw in hostile_inputs() {
        refused_short::<CountryCode>(&raw, "country code");
    }
}

#[test]
fn challenge_modes() {
    assert_eq!(ok::<ChallengeMode>("never"), ChallengeMode::Never);
    assert_eq!(ok::<ChallengeMode>("ALWAYS"), ChallengeMode::Always);
    assert_eq!(ok::<ChallengeMode>(" new-ip "), ChallengeMode::NewIp);
    assert_eq!(ok::<ChallengeMode>("New-Country"), ChallengeMode::NewCountry);
    for mode in ChallengeMode::ALL {
        assert_eq!(ok::<ChallengeMode>(mode.word()), mode);
        assert_eq!(mode.to_string(), mode.word());
        assert!(!mode.label().is_empty());
    }
    for raw in ["inherit", "sometimes", "new_ip", "newip", "new ip", "prompt always", "0"] {
        refused_short::<ChallengeMode>(raw, "use never, always, new-ip or new-country");
    }
    for raw in hostile_inputs() {
        refused_short::<ChallengeMode>(&raw, "challenge mode");
    }
}

#[test]
fn mailbox_challenge_accepts_inherit() {
    assert_eq!(ok::<MailboxChallenge>("inherit"), MailboxChallenge::Inherit);
    assert_eq!(ok::<MailboxChallenge>(" INHERIT "), MailboxChallenge::Inherit);
    assert_eq!(ok::<MailboxChallenge>("new-country"), MailboxChallenge::Mode(ChallengeMode::NewCountry));
    assert_eq!(MailboxChallenge::Inherit.effective(ChallengeMode::Always), ChallengeMode::Always);
    assert_eq!(MailboxChallenge::Mode(ChallengeMode::Never).effective(ChallengeMode::Always), ChallengeMode::Never);
    assert_eq!(MailboxChallenge::Inherit.to_string(), "inherit");
    assert_eq!(serde_json::to_string(&MailboxChallenge::Mode(ChallengeMode::NewIp)).unwrap(), "\"new-ip\"");
    refused_short::<MailboxChallenge>("sometimes", "use inherit, never, always, new-ip or new-country");
    for raw in hostile_inputs() {
        refused_short::<MailboxChallenge>(&raw, "challenge mode");
    }
}

#[test]
fn providers() {
    assert_eq!(ok::<Provider>("totp"), Provider::Totp);
    assert_eq!(ok::<Provider>("SMS"), Provider::Sms);
    assert_eq!(ok::<Provider>(" smtp "), Provider::Smtp);
    assert_eq!(ok::<Provider>("Passkey"), Provider::Passkey);
    for p in Provider::ALL {
        assert_eq!(ok::<Provider>(p.word()), p);
        assert!(!p.label().is_empty());
    }
    for raw in ["fax", "email", "e-mail", "hotp", "carrier-pigeon", "sms,totp"] {
        refused_short::<Provider>(raw, "use totp, sms, smtp or passkey");
    }
    for raw in hostile_inputs() {
        refused_short::<Provider>(&raw, "provider");
    }
}

#[test]
fn switch_words() {
    for raw in ["true", "TRUE", "yes", "Yes", "on", "ON", "1", " true "] {
        assert_eq!(ok::<Switch>(raw), Switch(true), "{raw}");
    }
    for raw in ["false", "False", "no", "NO", "off", "Off", "0", " off "] {
        assert_eq!(ok::<Switch>(raw), Switch(false), "{raw}");
    }
    for raw in ["maybe", "2", "-1", "y", "n", "enabled", "t"] {
        refused_short::<Switch>(raw, "use true or false");
    }
    for raw in hostile_inputs() {
        refused_short::<Switch>(&raw, "yes/no value");
    }
}

#[test]
fn enrolment_states() {
    assert_eq!(ok::<EnrolmentState>("none"), EnrolmentState::None);
    assert_eq!(ok::<EnrolmentState>("pending"), EnrolmentState::Pending);
    assert_eq!(ok::<EnrolmentState>("active"), EnrolmentState::Active);
    for s in [EnrolmentState::None, EnrolmentState::Pending, EnrolmentState::Active] {
        assert_eq!(ok::<EnrolmentState>(s.word()), s);
    }
    refused_short::<EnrolmentState>("enrolled", "none, pending or active");
    refused_short::<EnrolmentState>(&"x".repeat(TEN_KB), "enrolment state");
}

#[test]
fn codes_are_exactly_six_ascii_digits() {
    assert_eq!(ok::<Code>("123456").digits(), "123456");
    assert_eq!(ok::<Code>("000000").digits(), "000000");
    assert_eq!(ok::<Code>("012345").digits(), "012345");
    assert_eq!("".parse::<Code>().unwrap_err(), DomainError::Empty("code"));
    for raw in [
        "12345",
        "1234567",
        "12 345",
        "123 456",
        " 123456",
        "123456 ",
        "123456\n",
        "12345a",
        "abcdef",
        "-12345",
        "+12345",
        "1.2345",
        "１２３４５６",
        "١٢٣٤٥٦",
        "12345６",
        "      ",
    ] {
        let err = refused_short::<Code>(raw, "6 digits");
        assert_eq!(
            err, "the code must be exactly 6 digits (or a recovery code or access pass such as abcde-fghjk)",
            "{raw:?}"
        );
    }
    let err = refused_short::<Code>(&"9".repeat(TEN_KB), "6 digits");
    assert!(!err.contains("999999"), "a code error never echoes the input: {err}");
    assert_eq!(format!("{:?}", ok::<Code>("654321")), "Code(******)");
}

#[test]
fn login_ips_fold_ipv4_mapped_ipv6() {
    let v4: LoginIp = ok("192.0.2.1");
    assert_eq!(v4.addr(), IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
    let mapped: LoginIp = ok("::ffff:192.0.2.1");
    assert_eq!(mapped, v4);
    assert_eq!(mapped.addr(), IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
    assert_eq!(mapped.to_string(), "192.0.2.1");
    assert_eq!(ok::<LoginIp>("::FFFF:C000:0201"), v4);
    assert_eq!(LoginIp::from(IpAddr::V6(Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped())), v4);
    let v6: LoginIp = ok("2001:DB8::1");
    assert_eq!(v6.addr(), IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)));
    assert_eq!(v6.to_string(), "2001:db8::1");
    assert_eq!(ok::<LoginIp>(" 198.51.100.7 ").to_string(), "198.51.100.7");
    assert!(ok::<LoginIp>("::1").addr().is_ipv6());
}

#[test]
fn malformed_ips_refused() {
    for raw in [
        "",
        "localhost",
        "256.1.1.1",
        "1.2.3",
        "1.2.3.4.5",
        "1.2.3.-4",
        "01.2.3.4",
        "192.0.2.1:25",
        "[2001:db8::1]",
        "2001:db8::1::2",
        "2001:db8:::1",
        "fe80::1%eth0",
        "192.0.2.1/24",
        "１９２.０.２.１",
        "192.0.2.1\n10.0.0.1",
        "0x7f.0.0.1",
    ] {
        refused_short::<LoginIp>(raw, "IP address");
    }
    for raw in hostile_inputs() {
        refused_short::<LoginIp>(&raw, "IP address");
    }
}

#[test]
fn settings_registry_is_complete_and_defaults_parse() {
    let keys: Vec<&str> = SETTINGS.iter().map(|d| d.key).collect();
    for key in [
        "issuer",
        "lockout.threshold",
        "code.lifetime_seconds",
        "geoip.path",
        "smtp.host",
        "smtp.port",
        "smtp.security",
        "smtp.username",
        "smtp.password",
        "smtp.from",
        "sms.preset",
        "sms.url",
        "sms.username",
        "sms.password",
        "sms.sender",
    ] {
        assert!(keys.contains(&key), "{key} missing from {keys:?}");
    }
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), keys.len(), "duplicate keys");
    for def in SETTINGS {
        assert!(!def.help.is_empty() && !def.label.is_empty(), "{}", def.key);
        assert_eq!(setting(def.key).unwrap().key, def.key);
        assert_eq!(def.parse(def.default).unwrap_or_else(|e| panic!("{}: {e}", def.key)), def.default, "{}", def.key);
        assert_eq!(def.is_secret(), def.kind == SettingKind::Secret);
    }
    assert!(setting("smtp.password").unwrap().is_secret());
    assert!(setting("sms.password").unwrap().is_secret());
    assert!(!setting("smtp.username").unwrap().is_secret());
    assert_eq!(setting(" issuer ").unwrap().key, "issuer");
}

fn set_ok(key: &str, raw: &str) -> String {
    setting(key).unwrap().parse(raw).unwrap_or_else(|e| panic!("{key}={raw:?}: {e}"))
}

fn set_err(key: &str, raw: &str, hint: &str) -> String {
    let err = match setting(key).unwrap().parse(raw) {
        Ok(v) => panic!("{key}={:?} was accepted as {v:?}", shorten(raw)),
        Err(e) => e.to_string(),
    };
    assert_eq!(err.lines().count(), 1, "{key}: {err:?}");
    assert!(err.len() < 200, "{key}: {err}");
    assert!(err.contains(hint), "{key}={:?}: {err:?} does not mention {hint:?}", shorten(raw));
    err
}

#[test]
fn int_settings_keep_to_their_range() {
    assert_eq!(set_ok("lockout.threshold", "1"), "1");
    assert_eq!(set_ok("lockout.threshold", "100"), "100");
    assert_eq!(set_ok("lockout.threshold", " 7 "), "7");
    assert_eq!(set_ok("lockout.threshold", "05"), "5");
    for raw in ["101", "0", "-1", "1000000000000000000000", "five", "5.0", "1e2", "", "0x10", "５"] {
        let err = set_err("lockout.threshold", raw, "from 1 to 100");
        assert!(err.contains("lockout.threshold"), "{err}");
    }
    assert_eq!(set_ok("code.lifetime_seconds", "30"), "30");
    assert_eq!(set_ok("code.lifetime_seconds", "600"), "600");
    set_err("code.lifetime_seconds", "601", "from 30 to 600");
    set_err("code.lifetime_seconds", "29", "from 30 to 600");
    assert_eq!(set_ok("smtp.port", "65535"), "65535");
    set_err("smtp.port", "65536", "from 1 to 65535");
    set_err("lockout.threshold", "5\n6", "one line");
    set_err("lockout.threshold", &"1".repeat(TEN_KB), "too long");
}

#[test]
fn choice_and_bool_settings() {
    assert_eq!(set_ok("smtp.security", "TLS"), "tls");
    assert_eq!(set_ok("smtp.security", " starttls "), "starttls");
    assert_eq!(set_ok("smtp.security", "none"), "none");
    set_err("smtp.security", "ssl", "none, starttls, tls");
    set_err("smtp.security", "", "none, starttls, tls");
    assert_eq!(set_ok("sms.preset", "Twilio"), "twilio");
    set_err("sms.preset", "nexmo", "twilio, vonage, clickatell, webhook");
    assert_eq!(set_ok("smtp.accept_invalid_certs", "yes"), "true");
    assert_eq!(set_ok("smtp.accept_invalid_certs", "OFF"), "false");
    set_err("smtp.accept_invalid_certs", "maybe", "true or false");
    set_err("smtp.accept_invalid_certs", "yes\n", "one line");
}

#[test]
fn email_and_url_settings() {
    assert_eq!(set_ok("smtp.from", ""), "");
    assert_eq!(set_ok("smtp.from", "NoReply@Example.ORG"), "NoReply@example.org");
    set_err("smtp.from", "noreply", "no '@'");
    set_err("smtp.from", "noreply@localhost", "needs a dot");
    set_err("smtp.from", "a@b.org\r\nBcc: x@y.org", "one line");
    assert_eq!(set_ok("sms.url", ""), "");
    assert_eq!(set_ok("sms.url", "https://sms.example.org/send"), "https://sms.example.org/send");
    assert_eq!(set_ok("sms.url", "http://10.0.0.5:8080/hook"), "http://10.0.0.5:8080/hook");
    for raw in ["ftp://sms.example.org", "sms.example.org", "javascript:alert(1)", "file:///etc/passwd"] {
        set_err("sms.url", raw, "http:// or https://");
    }
    set_err("sms.url", "https://a\nb", "one line");
}

#[test]
fn text_and_secret_settings() {
    assert_eq!(set_ok("issuer", "Example Mail"), "Example Mail");
    assert_eq!(set_ok("issuer", "  Example  "), "Example");
    set_err("issuer", "Bad:Issuer", "':'");
    set_err("issuer", "", "cannot be empty");
    set_err("issuer", "   ", "cannot be empty");
    set_err("issuer", "Example\nMail", "issuer");
    set_err("issuer", &"x".repeat(TEN_KB), "too long");
    assert_eq!(set_ok("smtp.host", "mail.example.org"), "mail.example.org");
    assert_eq!(set_ok("smtp.host", ""), "");
    assert_eq!(set_ok("smtp.password", "s3cr3t pass"), "s3cr3t pass");
    set_err("smtp.password", "pass\nword", "one line");
    set_err("smtp.password", &"p".repeat(TEN_KB), "too long");
    assert_eq!(set_ok("geoip.path", "/var/lib/GeoLite2-Country.mmdb"), "/var/lib/GeoLite2-Country.mmdb");
    set_err("geoip.path", "/tmp/a\0b", "NUL");
    set_err("smtp.body", "a\0b", "NUL");
}

/// Text settings documented as one line (host names, user names, subject, sender) refuse line
/// breaks; only message bodies may span lines.
#[test]
fn one_line_text_settings_refuse_line_breaks() {
    for key in ["smtp.host", "smtp.username", "smtp.subject", "sms.username", "sms.sender"] {
        for raw in ["a\nb", "Sign-in code\r\nBcc: attacker@example.net"] {
            let result = setting(key).unwrap().parse(raw);
            assert!(result.is_err(), "{key}={raw:?} was accepted as {result:?}");
        }
    }
}

#[test]
fn unknown_setting_keys_list_the_known_ones() {
    for key in ["no.such.key", "", "Issuer", "lockout", "smtp.pass"] {
        let err = setting(key).unwrap_err().to_string();
        assert!(err.contains("unknown key"), "{key}: {err}");
        assert_eq!(err.lines().count(), 1);
        for def in SETTINGS {
            assert!(err.contains(def.key), "{key}: {err} does not list {}", def.key);
        }
    }
    let err = setting(&"k".repeat(TEN_KB)).unwrap_err().to_string();
    let listing: usize = SETTINGS.iter().map(|def| def.key.len() + 2).sum();
    assert!(err.len() < listing + 200, "the 10 kB key is echoed: {} characters", err.len());
    assert!(!err.contains(&"k".repeat(100)), "the 10 kB key is echoed");
    assert_eq!(err.lines().count(), 1);
}

/// Settings are checked when they are set, not when a code is due: templates carry the code,
/// gateway rules, header names and URLs parse, and control characters are refused everywhere.
#[test]
fn settings_are_checked_when_set() {
    set_err("smtp.body", "Your sign-in code is ready.", "{code}");
    set_err("sms.message", "{issuer} sign-in", "{code}");
    assert!(set_ok("smtp.body", "Code:\n\t{code}\nBye").contains("{code}"));
    assert_eq!(set_ok("sms.message", "{code} is your code"), "{code} is your code");
    assert_eq!(set_ok("smtp.subject", "Your sign-in code"), "Your sign-in code");

    assert_eq!(set_ok("sms.custom.success_status", "200, 201"), "200, 201");
    set_err("sms.custom.success_status", "200,abc", "HTTP status");
    set_err("sms.custom.success_status", "200,700", "HTTP status");
    assert_eq!(set_ok("sms.custom.success_json_field", "messages.0.status=0"), "messages.0.status=0");
    set_err("sms.custom.success_json_field", "messages.0.status", "path=value");
    set_err("sms.custom.success_json_field", "=0", "path=value");
    assert_eq!(set_ok("sms.custom.auth_header", "X-Api-Key"), "X-Api-Key");
    set_err("sms.custom.auth_header", "X Api Key", "header name");
    set_err("sms.custom.auth_header", "X-Api:Key", "header name");
    assert_eq!(set_ok("sms.custom.body_template", "dest={to_digits}&msg={message}"), "dest={to_digits}&msg={message}");
    set_err("sms.custom.body_template", r#"{"to": "{to}""#, "JSON");
    set_err("sms.custom.body_template", r#"["{to}"]"#, "JSON");
    set_err("sms.custom.body_template", "just text", "form fields");
    set_err("sms.url", "https://", "no host");
    set_err("sms.url", "https:///path", "no host");
    set_err("sms.url", "https://sms.example.org/send now", "spaces");
    assert_eq!(set_ok("sms.url", "https://api.example.org/send?to={to}"), "https://api.example.org/send?to={to}");
    set_err("smtp.host", "smtp://mail.example.org", "host name");
    set_err("smtp.host", "mail.example.org/relay", "host name");

    for (key, raw) in [("issuer", "Example\u{1b}[31m"), ("smtp.subject", "a\u{7}b"), ("smtp.body", "{code}\u{8}")] {
        set_err(key, raw, "control characters");
    }
}

#[test]
fn access_passes_read_as_people_type_them() {
    use mailmfa::domain::{LetterCode, Passcode};
    let pass = LetterCode::from_random(&[0, 1, 2, 3, 4, 31, 30, 29, 28, 255]);
    assert_eq!(pass.shown(), "01234-zyxwz");
    for typed in ["01234-zyxwz", "01234zyxwz", "O1234-ZYXWZ", "o l 2 3 4 z y x w z", "0I234-zyxwz"] {
        assert_eq!(ok::<LetterCode>(typed).letters(), "01234zyxwz", "{typed:?}");
    }
    for wrong in ["01234-zyxw", "01234-zyxwzz", "01234-zyxwu", "ABCDE-FGHJ!", ""] {
        assert!(wrong.parse::<LetterCode>().is_err(), "{wrong:?}");
    }
    assert!(matches!(ok::<Passcode>("123456"), Passcode::Code(_)));
    assert!(matches!(ok::<Passcode>("abcde-fghjk"), Passcode::Letters(_)));
    assert!(" 123456".parse::<Passcode>().is_err(), "a code is exactly six digits");
    assert_eq!(format!("{:?}", ok::<LetterCode>("abcde-fghjk")), "LetterCode(*****-*****)");
}

#[test]
fn passkey_settings() {
    assert_eq!(setting("passkey.require_uv").unwrap().default, "false", "a touch is enough unless required");
    assert_eq!(set_ok("passkey.require_uv", "on"), "true");
    set_err("passkey.require_uv", "always", "true or false");
}

#[test]
fn web_administration_settings() {
    assert_eq!(setting("serve.admin").unwrap().default, "false", "off unless turned on");
    assert_eq!(set_ok("serve.admin", "yes"), "true");
    set_err("serve.admin", "maybe", "true or false");
    assert_eq!(setting("admin.idle_minutes").unwrap().default, "15");
    assert_eq!(set_ok("admin.idle_minutes", "1"), "1");
    assert_eq!(set_ok("admin.idle_minutes", "480"), "480");
    set_err("admin.idle_minutes", "0", "from 1 to 480");
    set_err("admin.idle_minutes", "481", "from 1 to 480");
}

#[test]
fn administrator_names_roles_and_passwords_parse_once() {
    use mailmfa::domain::{AdminName, AdminPassword, AdminRole, check_admin_scope};
    assert_eq!(" Post.Master@Example.com ".parse::<AdminName>().unwrap().as_str(), "post.master@example.com");
    for bad in ["", "a b", "x/y", "<script>", &"a".repeat(65)] {
        assert!(bad.parse::<AdminName>().is_err(), "{bad:?}");
    }
    assert_eq!("PostOffice".parse::<AdminRole>().unwrap(), AdminRole::Postoffice);
    assert!("root".parse::<AdminRole>().is_err());
    assert!("eleven char".parse::<AdminPassword>().is_err());
    assert!("twelve chars".parse::<AdminPassword>().is_ok());
    assert!("x".repeat(257).parse::<AdminPassword>().is_err());
    let err = "short one".parse::<AdminPassword>().unwrap_err().to_string();
    assert!(!err.contains("short one"), "a password is never echoed: {err}");
    let example: PostOfficeName = "example.com".parse().unwrap();
    assert!(check_admin_scope(AdminRole::Postoffice, &[]).is_err());
    assert!(check_admin_scope(AdminRole::Platform, std::slice::from_ref(&example)).is_err());
    assert!(check_admin_scope(AdminRole::Postoffice, &[example]).is_ok());
}
