//! The country database is opened once per service and kept — not read again for every login —
//! and opened again only when `geoip.path` changes. One test in its own binary, so the process-wide
//! counter of opened database files counts this test's opens only.

use crate::common::TestEnv;
use mailmfa::domain::{BeginAnswer, MailboxAddress, Reason};
use mailmfa::geo::{bundled_database_path, files_opened};
use mailmfa::service::PostOfficeChanges;

#[test]
fn the_country_database_is_opened_once_and_again_only_when_its_path_changes() {
    let env = TestEnv::new();
    let service = env.service(1_800_000_000);
    service.add_postoffice(&"example.com".parse().unwrap()).unwrap();
    service
        .set_postoffice(
            &"example.com".parse().unwrap(),
            &PostOfficeChanges { challenge: Some("new-country".parse().unwrap()), ..PostOfficeChanges::default() },
        )
        .unwrap();
    let before = files_opened();
    let alice: MailboxAddress = "alice@example.com".parse().unwrap();
    for ip in ["8.8.8.8", "193.99.144.80", "1.1.1.1", "2001:4860:4860::8888", "10.0.0.1"] {
        let answer = service.begin_login(&alice, ip.parse().unwrap()).unwrap();
        assert!(matches!(answer, BeginAnswer::Enroll { .. }), "{ip}: {answer:?}");
        service.verify_login(&alice, ip.parse().unwrap(), "000000").unwrap();
        service.unlock(&alice).unwrap();
    }
    assert_eq!(files_opened() - before, 1, "five logins opened the database more than once");

    service.set_setting("lockout.threshold", "7").unwrap();
    service.begin_login(&alice, "8.8.4.4".parse().unwrap()).unwrap();
    assert_eq!(files_opened() - before, 1, "another setting's change reopened the database");

    let copy = env.path("copy.mmdb");
    std::fs::copy(bundled_database_path().unwrap(), &copy).unwrap();
    service.set_setting("geoip.path", copy.to_str().unwrap()).unwrap();
    let answer = service.begin_login(&alice, "8.8.4.4".parse().unwrap()).unwrap();
    assert!(matches!(answer, BeginAnswer::Enroll { reason: Some(Reason::NewCountry), .. }), "{answer:?}");
    assert_eq!(files_opened() - before, 2, "the new database was opened once");
}
