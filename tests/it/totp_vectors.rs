//! RFC 4226 and RFC 6238 known answers, the ±1 step window, replay refusal, the enrolment URI and
//! secret parsing — the TOTP half of SECURITY.md's checklist.

use mailmfa::domain::totp::{
    SECRET_LEN, code_at_step, code_with, decode_secret, matching_step, otpauth_uri, secret_base32, step_of,
};
use mailmfa::domain::{Code, MailboxAddress};
use totp_rs::Algorithm;

const SEED_SHA1: &[u8] = b"12345678901234567890";
const SEED_SHA256: &[u8] = b"12345678901234567890123456789012";
const SEED_SHA512: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

fn code(text: &str) -> Code {
    text.parse().expect("six digits")
}

#[test]
fn rfc4226_hotp_vectors() {
    let expected = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"];
    for (counter, want) in expected.iter().enumerate() {
        // A TOTP with a 30 s step at time counter×30 is HOTP with that counter.
        assert_eq!(code_with(Algorithm::SHA1, 6, SEED_SHA1, 30, counter as u64 * 30), *want, "counter {counter}");
        assert_eq!(code_at_step(SEED_SHA1, counter as i64), *want, "counter {counter}");
    }
    assert_eq!(decode_secret("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap().as_slice(), SEED_SHA1);
}

#[test]
fn rfc6238_totp_vectors_all_algorithms() {
    let table: [(u64, &str, &str, &str); 6] = [
        (59, "94287082", "46119246", "90693936"),
        (1_111_111_109, "07081804", "68084774", "25091201"),
        (1_111_111_111, "14050471", "67062674", "99943326"),
        (1_234_567_890, "89005924", "91819424", "93441116"),
        (2_000_000_000, "69279037", "90698825", "38618901"),
        (20_000_000_000, "65353130", "77737706", "47863826"),
    ];
    for (time, sha1, sha256, sha512) in table {
        assert_eq!(code_with(Algorithm::SHA1, 8, SEED_SHA1, 30, time), sha1, "SHA1 at {time}");
        assert_eq!(code_with(Algorithm::SHA256, 8, SEED_SHA256, 30, time), sha256, "SHA256 at {time}");
        assert_eq!(code_with(Algorithm::SHA512, 8, SEED_SHA512, 30, time), sha512, "SHA512 at {time}");
    }
}

#[test]
fn the_rfc_erratum_seed_gives_the_wrong_sha256_answer() {
    // The RFC prose says one 20-byte seed for all algorithms; with it SHA256 at t=59 gives 32247374,
    // which is not the table's answer — the table uses a 32-byte seed.
    assert_eq!(code_with(Algorithm::SHA256, 8, SEED_SHA1, 30, 59), "32247374");
    assert_ne!(code_with(Algorithm::SHA256, 8, SEED_SHA1, 30, 59), "46119246");
}

#[test]
fn six_digit_codes_keep_leading_zeros_and_work_past_2038() {
    assert_eq!(code_at_step(SEED_SHA1, step_of(1_111_111_109)), "081804");
    assert_eq!(code_at_step(SEED_SHA1, step_of(1_234_567_890)), "005924");
    // An 80-bit demo secret: too short to enrol, but a fine known answer for the algorithm.
    let jbswy = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, "JBSWY3DPEHPK3PXP").unwrap();
    assert_eq!(code_with(Algorithm::SHA1, 6, &jbswy, 30, 59), "996554");
    assert_eq!(code_with(Algorithm::SHA1, 6, &jbswy, 30, 1_111_111_109), "071271");
    // 64-bit time counter: year 2603.
    assert_eq!(code_with(Algorithm::SHA1, 8, SEED_SHA1, 30, 20_000_000_000), "65353130");
    assert_eq!(step_of(20_000_000_000), 666_666_666);
}

#[test]
fn window_accepts_t_plus_minus_one_and_refuses_t_plus_minus_two() {
    let now = 1_111_111_109;
    let t = step_of(now);
    let around = ["150727", "731029", "081804", "050471", "266759"];
    for (offset, c) in (-2i64..=2).zip(around) {
        assert_eq!(code_at_step(SEED_SHA1, t + offset), c);
        let got = matching_step(SEED_SHA1, &code(c), now, None);
        if offset.abs() <= 1 {
            assert_eq!(got, Some(t + offset), "step T{offset:+} must be accepted");
        } else {
            assert_eq!(got, None, "step T{offset:+} must be refused");
        }
    }
}

#[test]
fn a_step_is_never_accepted_twice_nor_an_earlier_one() {
    let now = 1_111_111_109;
    let t = step_of(now);
    let current = code("081804");
    assert_eq!(matching_step(SEED_SHA1, &current, now, None), Some(t));
    assert_eq!(matching_step(SEED_SHA1, &current, now, Some(t)), None, "replay of the same step");
    let older = code("731029");
    assert_eq!(matching_step(SEED_SHA1, &older, now, Some(t)), None, "an older in-window step after a newer one");
    let newer = code("050471");
    assert_eq!(matching_step(SEED_SHA1, &newer, now, Some(t)), Some(t + 1));
}

#[test]
fn the_29_and_30_second_boundary() {
    assert_eq!(step_of(29), 0);
    assert_eq!(step_of(30), 1);
    let c0 = code(&code_at_step(SEED_SHA1, 0));
    let c2 = code(&code_at_step(SEED_SHA1, 2));
    assert_eq!(matching_step(SEED_SHA1, &c0, 29, None), Some(0));
    assert_eq!(matching_step(SEED_SHA1, &c0, 59, None), Some(0), "one step late is accepted");
    assert_eq!(matching_step(SEED_SHA1, &c0, 60, None), None, "two steps late is refused");
    assert_eq!(matching_step(SEED_SHA1, &c2, 29, None), None, "two steps early is refused");
    assert_eq!(matching_step(SEED_SHA1, &c2, 30, None), Some(2), "one step early is accepted");
}

#[test]
fn enrolment_uri_is_exact() {
    let account: MailboxAddress = "Alice@Example.com".parse().unwrap();
    let uri = otpauth_uri("Example Mail", &account, SEED_SHA1);
    assert_eq!(
        uri.as_str(),
        "otpauth://totp/Example%20Mail:alice@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
         &issuer=Example%20Mail&algorithm=SHA1&digits=6&period=30"
    );
    assert_eq!(SECRET_LEN, 20, "secrets are 160 bits, RFC 4226's recommendation");
    assert_eq!(secret_base32(&[0x5a; SECRET_LEN]).len(), 32);
}

#[test]
fn bad_secrets_are_refused() {
    assert!(decode_secret("").is_err());
    assert!(decode_secret("NOT BASE32 !!").unwrap_err().to_string().contains("Base32"));
    assert!(decode_secret("189").is_err(), "digits 1, 8 and 9 are not Base32");
    let short = decode_secret("JBSWY3DPEHPK3PXP").unwrap_err().to_string();
    assert!(short.contains("80 bits") && short.contains("128"), "{short}");
    assert_eq!(decode_secret("gezd gnbv gy3t qojq gezd gnbv gy3t qojq").unwrap().as_slice(), SEED_SHA1);
}
