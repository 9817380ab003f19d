//! The console on a large store: 100,000 mailboxes in 1,000 post offices (the largest with 10,090).
//! Measures the first frame (opening the store, loading the model, drawing) and the time per frame
//! with the largest post office selected while its table scrolls, through the kittest harness
//! (which also builds the AccessKit tree every frame, so the figures are on the safe side), each
//! frame followed by its tessellation as a window would do it.
//! Targets: first frame ≤ 1 s, per frame ≤ 4 ms. Run with `cargo bench --bench console`.

use std::fmt::Write as _;
use std::hint::black_box;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use mailmfa::clock::FixedClock;
use mailmfa::domain::{BeginAnswer, LoginIp, MailboxAddress, PostOfficeName, VerifyAnswer, totp};
use mailmfa::geo::CountryLookup;
use mailmfa::service::{KeyFolder, Service, StoreLocation};
use mailmfa::ui::{ConsoleApp, Intent, Node};

const POSTOFFICES: usize = 1_000;
const MAILBOXES: usize = 100_000;
const PER_SMALL_POSTOFFICE: usize = 90;
const NOW: i64 = 1_795_910_400;

/// Every address is in Germany.
struct Germany;

impl CountryLookup for Germany {
    fn country(&self, _ip: IpAddr) -> Option<String> {
        Some("DE".to_owned())
    }
}

/// A store file with the benchmark's mailboxes, imported from a CSV file in one transaction: every
/// fifth enrolled — every tenth in TOTP through a real login from Germany (so it has a known
/// country and a last login), the others with an SMS number.
fn fill(location: &StoreLocation, keys: &KeyFolder, dir: &Path) -> PostOfficeName {
    let service = Service::open(location, keys)
        .expect("open store")
        .with_clock(Arc::new(FixedClock::new(NOW)))
        .with_countries(Arc::new(Germany));
    let largest = MAILBOXES - (POSTOFFICES - 1) * PER_SMALL_POSTOFFICE;
    let mut csv = String::from("postoffice,mailbox,challenge,provider,sms_number,alt_email\n");
    let mut logins = Vec::new();
    for p in 0..POSTOFFICES {
        let postoffice = format!("po{p:04}.example");
        let count = if p == 0 { largest } else { PER_SMALL_POSTOFFICE };
        for m in 0..count {
            let mailbox = format!("user{m:05}");
            let policy = if m % 10 == 0 {
                logins.push(format!("{mailbox}@{postoffice}").parse::<MailboxAddress>().expect("valid address"));
                "always,,".to_owned()
            } else if m % 5 == 0 {
                format!(",sms,+1555{m:07}")
            } else {
                ",,".to_owned()
            };
            writeln!(csv, "{postoffice},{mailbox},{policy},").expect("write to a string");
        }
    }
    let file = dir.join("bench.csv");
    std::fs::write(&file, csv).expect("write the CSV file");
    service.import_csv_file(&file).expect("import the mailboxes");
    let from: LoginIp = "198.51.100.7".parse().expect("valid IP");
    for address in &logins {
        let BeginAnswer::Enroll { otpauth_uri, .. } = service.begin_login(address, from).expect("begin") else {
            panic!("{address} should enrol");
        };
        let secret = otpauth_uri.split("secret=").nth(1).and_then(|s| s.split('&').next()).expect("a secret");
        let code = totp::code_at_step(&totp::decode_secret(secret).expect("base32"), totp::step_of(NOW));
        assert_eq!(service.verify_login(address, from, &code).expect("verify").answer, VerifyAnswer::Accepted);
    }
    "po0000.example".parse().expect("valid name")
}

/// One frame as a window runs it: the pass, then tessellation of what it drew into triangles (the
/// GPU upload and draw are not included).
fn frame(harness: &mut Harness<'static, ConsoleApp>) {
    harness.step();
    let output = harness.output();
    let triangles = harness.ctx.tessellate(output.shapes.clone(), output.pixels_per_point);
    black_box(triangles);
}

/// A mouse wheel turn of `lines` (negative: down) over `at`.
fn wheel(harness: &Harness<'static, ConsoleApp>, at: egui::Pos2, lines: f32) {
    harness.hover_at(at);
    harness.event(egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Line,
        delta: egui::vec2(0.0, lines),
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Unknown,
        modifiers: egui::Modifiers::NONE,
    });
}

fn harness(service: Service) -> Harness<'static, ConsoleApp> {
    Harness::builder().with_size(egui::vec2(1366.0, 768.0)).build_eframe(move |cc| ConsoleApp::new(cc, service))
}

fn console(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let location = StoreLocation::new(dir.path().join("bench.sqlite3"), false);
    let keys = KeyFolder::new(dir.path().join("keys"));
    let started = Instant::now();
    let largest = fill(&location, &keys, dir.path());
    eprintln!("filled {MAILBOXES} mailboxes in {POSTOFFICES} post offices in {:.1?}", started.elapsed());

    let mut group = c.benchmark_group("console");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    group.bench_function("first_frame_100k_mailboxes", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                let start = Instant::now();
                let service = Service::open(&location, &keys).expect("open store");
                let mut harness = harness(service);
                frame(&mut harness);
                total += start.elapsed();
                black_box(&harness);
            }
            total
        });
    });
    group.bench_function("open_largest_postoffice", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                let service = Service::open(&location, &keys).expect("open store");
                let mut harness = harness(service);
                harness.state_mut().push(Intent::Select(Node::PostOffice(largest.clone())));
                let start = Instant::now();
                // The selection is applied after the first frame; the second loads the rows and draws them.
                frame(&mut harness);
                frame(&mut harness);
                total += start.elapsed();
                assert!(harness.state().shown_mailboxes() > 10_000);
            }
            total
        });
    });
    group.finish();

    let service = Service::open(&location, &keys).expect("open store");
    let mut harness = harness(service);
    harness.state_mut().push(Intent::Select(Node::PostOffice(largest)));
    harness.run_ok();
    let shown = harness.state().shown_mailboxes();
    assert_eq!(shown, MAILBOXES - (POSTOFFICES - 1) * PER_SMALL_POSTOFFICE, "the largest post office is shown");
    let table_point = egui::pos2(683.0, 400.0);

    harness.get_by_label("user00000");
    for _ in 0..20 {
        wheel(&harness, table_point, -3.0);
        frame(&mut harness);
    }
    assert!(harness.query_by_label("user00000").is_none(), "the wheel scrolls the table");

    let mut group = c.benchmark_group("console");
    group.sample_size(50).measurement_time(Duration::from_secs(10));
    group.bench_function("frame_largest_postoffice_scrolling", |b| {
        let mut step = 0u32;
        b.iter(|| {
            step += 1;
            let down = if (step / 200).is_multiple_of(2) { -1.0 } else { 1.0 };
            wheel(&harness, table_point, 3.0 * down);
            frame(&mut harness);
        });
    });
    group.bench_function("frame_largest_postoffice_arrow_keys", |b| {
        harness.hover_at(table_point);
        for pressed in [true, false] {
            harness.event(egui::Event::PointerButton {
                pos: table_point,
                button: egui::PointerButton::Primary,
                pressed,
                modifiers: egui::Modifiers::NONE,
            });
        }
        harness.key_press(egui::Key::Home);
        harness.step();
        let mut step = 0u32;
        b.iter(|| {
            step += 1;
            let key = if (step / 500).is_multiple_of(2) { egui::Key::ArrowDown } else { egui::Key::ArrowUp };
            harness.key_press(key);
            frame(&mut harness);
        });
    });
    group.bench_function("frame_largest_postoffice_idle", |b| b.iter(|| frame(&mut harness)));
    group.finish();
}

criterion_group!(benches, console);
criterion_main!(benches);
