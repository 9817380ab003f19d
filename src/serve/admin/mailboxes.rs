//! The post offices, a post office's mailboxes (a page of 100, sorted and filtered in the store),
//! and a mailbox's Two Factor properties with the console's actions. The forms name the mailbox in
//! a field; the service checks it against the administrator's post offices whatever it says.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use maud::{Markup, html};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::signin::query_value;
use super::texts::ENGLISH;
use super::views::{csrf, done_note, when};
use super::{Shown, signed_in};
use crate::domain::{
    Cell, ChallengeMode, DomainError, EmailAddress, IpNetwork, MAILBOX_COLUMNS, MailboxAddress, MailboxChallenge,
    PhoneNumber, PostOfficeName, Vocabulary, parse_networks,
};
use crate::serve::http::AppState;
use crate::serve::pages::Form;
use crate::service::{
    AdminSession, MailboxChanges, MailboxDetails, MailboxQuery, PostOfficeChanges, Scoped, ServiceResult,
};

/// What a name or an address keeps as it is in a URL: letters, digits and `@ . - _`.
const IN_URLS: &AsciiSet = &NON_ALPHANUMERIC.remove(b'@').remove(b'.').remove(b'-').remove(b'_');

/// A mailbox's page address.
pub(super) fn mailbox_path(address: &MailboxAddress) -> String {
    format!("mailboxes/{}", utf8_percent_encode(&address.to_string(), IN_URLS))
}

fn postoffice_path(name: &PostOfficeName) -> String {
    format!("postoffices/{}", utf8_percent_encode(name.as_str(), IN_URLS))
}

/// `GET /admin/postoffices`: the administrator's post offices with their counts.
pub async fn postoffices(State(state): State<AppState>, headers: HeaderMap) -> Response {
    signed_in(&state, &headers, None, |scoped, _| {
        let (list, t) = (scoped.postoffices()?, &ENGLISH);
        let body = html! {
            h1 { (t.postoffices_title) }
            table {
                thead { tr { th { (t.column_postoffice) } th { (t.column_mailboxes) } th { (t.column_default_challenge) } } }
                tbody {
                    @for po in &list {
                        tr {
                            td { a href={ "/admin/" (postoffice_path(&po.name)) } { (po.name) } }
                            td.number { (po.mailboxes) }
                            td { (po.challenge.label()) }
                        }
                    }
                }
            }
        };
        Ok(Shown::Page(t.postoffices_title.to_owned(), body))
    })
    .await
}

/// `GET /admin/postoffices/{name}`: a page of its mailboxes (`filter`, `sort`, `desc`, `page`).
pub async fn postoffice(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    uri: Uri,
) -> Response {
    let query = MailboxQuery {
        filter: query_value(&uri, "filter").unwrap_or_default().chars().take(64).collect(),
        sort: query_value(&uri, "sort").and_then(|s| s.parse().ok()).unwrap_or(0),
        descending: query_value(&uri, "desc").is_some_and(|d| d == "1"),
        page: query_value(&uri, "page").and_then(|p| p.parse().ok()).unwrap_or(0),
    };
    let done = query_value(&uri, "done");
    signed_in(&state, &headers, None, move |scoped, session| {
        let name: PostOfficeName = name.parse()?;
        let po = scoped.postoffice(&name)?;
        let page = scoped.mailbox_page(&name, &query)?;
        let t = &ENGLISH;
        let body = html! {
            h1 { (t.postoffice) " " (po.name) }
            (done_note(done.as_deref()))
            (mailbox_table(&name, &query, &page))
            (postoffice_form(session, &po))
        };
        Ok(Shown::Page(format!("{} {name}", t.postoffice), body))
    })
    .await
}

/// The filter, the table of one page of mailboxes, and the page links.
fn mailbox_table(name: &PostOfficeName, query: &MailboxQuery, page: &crate::service::MailboxPage) -> Markup {
    let base = format!("/admin/{}", postoffice_path(name));
    let filter = utf8_percent_encode(&query.filter, IN_URLS).to_string();
    let link = |sort: usize, desc: bool, page: i64| {
        format!("{base}?filter={filter}&sort={sort}&desc={}&page={page}", u8::from(desc))
    };
    let pages = (page.total + page.per_page - 1) / page.per_page;
    let t = &ENGLISH;
    html! {
        form.filter method="get" action=(base) {
            label for="filter" { (t.filter_label) }
            input #filter type="search" name="filter" value=(query.filter) placeholder=(t.filter_placeholder);
            input type="hidden" name="sort" value=(query.sort);
            input type="hidden" name="desc" value=(u8::from(query.descending));
            button type="submit" { (t.find_button) }
        }
        p.who { (page.total) " " (t.mailboxes) @if !query.filter.is_empty() { " " (t.matching) " “" (query.filter) "”" } }
        div.scroll { table.mailboxes {
            thead { tr { @for (i, column) in MAILBOX_COLUMNS.iter().enumerate() {
                th { a href=(link(i, i == query.sort && !query.descending, 0)) { (column.title)
                    @if i == query.sort { (if query.descending { " ▼" } else { " ▲" }) } } }
            } } }
            tbody { @for row in &page.rows { tr {
                @for (i, column) in MAILBOX_COLUMNS.iter().enumerate() {
                    @let text = cell_text((column.cell)(row, Vocabulary::Labels));
                    td data-label=(column.title) {
                        @if i == 0 { a href={ "/admin/" (mailbox_path(&row.address)) } { (text) } } @else { (text) }
                    }
                }
            } } }
        } }
        @if pages > 1 { p.pages {
            @if query.page > 0 { a href=(link(query.sort, query.descending, query.page - 1)) { (t.previous_page) } " " }
            (t.page) " " (query.page + 1) " " (t.of) " " (pages)
            @if query.page + 1 < pages { " " a href=(link(query.sort, query.descending, query.page + 1)) { (t.next_page) } }
        } }
    }
}

fn cell_text(cell: Cell) -> String {
    match cell {
        Cell::Text(text) => text,
        Cell::Time(time) => when(time),
        Cell::Status(status) => status.label().to_owned(),
    }
}

/// The post office's default mode and trusted networks.
fn postoffice_form(session: &AdminSession, po: &crate::domain::PostOffice) -> Markup {
    let (networks, t) = (crate::domain::join_networks(&po.trusted_networks), &ENGLISH);
    html! {
        h2 { (t.defaults_heading) }
        form.settings method="post" action={ "/admin/" (postoffice_path(&po.name)) } {
            (csrf(session))
            label for="challenge" { (t.default_challenge) }
            select #challenge name="challenge" {
                @for mode in ChallengeMode::ALL { option value=(mode.word()) selected[mode == po.challenge] { (mode.label()) } }
            }
            label for="trusted" { (t.trusted_networks) }
            input #trusted type="text" name="trusted_networks" value=(networks);
            button type="submit" { (t.save_button) }
        }
    }
}

/// `POST /admin/postoffices/{name}`: its default mode and trusted networks.
pub async fn set_postoffice(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    form: Form,
) -> Response {
    let (challenge, trusted) = (form.get("challenge"), form.get("trusted_networks"));
    signed_in(&state, &headers, Some(form.get("csrf")), move |scoped, _| {
        let name: PostOfficeName = name.parse()?;
        let trusted: Vec<IpNetwork> = parse_networks(&trusted)?;
        let changes = PostOfficeChanges {
            challenge: Some(challenge.parse()?),
            trusted_networks: Some(trusted),
            ..PostOfficeChanges::default()
        };
        scoped.set_postoffice(&name, &changes)?;
        Ok(Shown::Redirect(format!("{}?done=saved", postoffice_path(&name))))
    })
    .await
}

/// `GET /admin/mailboxes/{address}`: the Two Factor properties and the actions.
pub async fn mailbox(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(address): Path<String>,
    uri: Uri,
) -> Response {
    let done = query_value(&uri, "done");
    signed_in(&state, &headers, None, move |scoped, session| {
        let address: MailboxAddress = address.parse()?;
        let details = scoped.mailbox(&address)?;
        let offered = scoped.offered_providers(&address)?;
        let body = html! {
            p.crumbs { a href={ "/admin/" (postoffice_path(&address.postoffice)) } { (ENGLISH.postoffice) " " (address.postoffice) } }
            h1 { (address) }
            (done_note(done.as_deref()))
            (state_list(&details, scoped.now()))
            (settings_form(session, &details, &offered))
            (actions(session, &details))
            (places(&details))
        };
        Ok(Shown::Page(address.to_string(), body))
    })
    .await
}

/// What the mailbox's second factor is now.
fn state_list(details: &MailboxDetails, now: crate::clock::UnixTime) -> Markup {
    let (mb, t) = (&details.mailbox, &ENGLISH);
    html! {
        dl.facts {
            dt { (t.fact_status) } dd { (mb.status(now).label()) }
            dt { (t.fact_challenge) } dd { (mb.effective_challenge().label()) }
            dt { (t.fact_secret) } dd { (mb.enrolment.word()) }
            dt { (t.fact_last_login) } dd { (when(mb.last_login)) }
            dt { (t.fact_failures) } dd { (mb.failures) }
            dt { (t.fact_recovery_codes) } dd { (details.recovery_codes_left) }
            dt { (t.fact_devices) } dd { (details.remembered_devices) }
            dt { (t.fact_access_pass) } dd { (details.access_pass_until.map_or_else(|| t.none.to_owned(), |until| format!("{} {}", t.until, when(Some(until))))) }
        }
    }
}

/// Mode, provider (those the providers' switches let administrators give), SMS number and
/// alternate address.
fn settings_form(session: &AdminSession, details: &MailboxDetails, offered: &[crate::domain::Provider]) -> Markup {
    let (mb, t) = (&details.mailbox, &ENGLISH);
    let mut providers = offered.to_vec();
    if !providers.contains(&mb.provider) {
        providers.insert(0, mb.provider);
    }
    html! {
        h2 { (t.two_factor_heading) }
        form.settings method="post" action="/admin/mailbox/settings" {
            (csrf(session))
            input type="hidden" name="address" value=(mb.address);
            label for="challenge" { (t.challenge_label) }
            select #challenge name="challenge" {
                option value="inherit" selected[mb.challenge == MailboxChallenge::Inherit] { (t.inherit) " (" (mb.postoffice_challenge.label()) ")" }
                @for mode in ChallengeMode::ALL {
                    option value=(mode.word()) selected[mb.challenge == MailboxChallenge::Mode(mode)] { (mode.label()) }
                }
            }
            label for="provider" { (t.provider_label) }
            select #provider name="provider" {
                @for provider in &providers { option value=(provider.word()) selected[*provider == mb.provider] { (provider.label()) } }
            }
            label for="sms" { (t.sms_label) }
            input #sms type="text" name="sms_number" value=(mb.sms_number.as_ref().map(PhoneNumber::as_str).unwrap_or("")) placeholder="+15551234567";
            label for="alt" { (t.alt_email_label) }
            input #alt type="text" name="alt_email" value=(mb.alt_email.as_ref().map(EmailAddress::as_str).unwrap_or(""));
            button type="submit" { (t.save_button) }
        }
    }
}

/// The actions; the destructive ones go through a confirmation page first.
fn actions(session: &AdminSession, details: &MailboxDetails) -> Markup {
    let (address, t) = (details.mailbox.address.to_string(), &ENGLISH);
    let confirm = |action: &str| {
        format!("/admin/mailbox/confirm?action={action}&address={}", utf8_percent_encode(&address, IN_URLS))
    };
    html! {
        h2 { (t.actions_heading) }
        div.actions {
            (action_button(session, &address, "qr", t.show_qr))
            a.button href=(confirm("reset-code")) { (t.reset_code) }
            a.button href=(confirm("reset-countries")) { (t.reset_countries) }
            (action_button(session, &address, "unlock", t.unlock))
            a.button href=(confirm("recovery-codes")) { (t.new_recovery_codes) }
            a.button href=(confirm("forget-devices")) { (t.forget_devices) }
        }
        h3 { (t.access_pass_heading) }
        form.settings method="post" action="/admin/mailbox/action" {
            (csrf(session))
            input type="hidden" name="address" value=(address);
            input type="hidden" name="action" value="access-pass";
            label for="minutes" { (t.access_pass_minutes) }
            input #minutes type="number" name="minutes" value="60" min="10" max="43200";
            label.remember for="once" { input #once type="checkbox" name="once" value="1"; " " (t.access_pass_once) }
            button type="submit" { (t.access_pass_button) }
        }
        h3 { (t.app_passwords_heading) }
        @if details.app_passwords.is_empty() { p { (t.no_app_passwords) } }
        ul.app-passwords { @for app in &details.app_passwords { li {
            (app.name) " (" (app.protocols) ") "
            a href={ (confirm("remove-app-password")) "&name=" (utf8_percent_encode(app.name.as_str(), IN_URLS)) } { (t.remove_link) }
        } } }
    }
}

fn action_button(session: &AdminSession, address: &str, action: &str, label: &str) -> Markup {
    html! {
        form.inline method="post" action="/admin/mailbox/action" {
            (csrf(session))
            input type="hidden" name="address" value=(address);
            input type="hidden" name="action" value=(action);
            button type="submit" { (label) }
        }
    }
}

fn places(details: &MailboxDetails) -> Markup {
    let t = &ENGLISH;
    html! {
        h2 { (t.places_heading) }
        ul { @for place in details.known_countries.iter().chain(&details.known_ips) {
            li { (place.value) " — " (t.last_seen) " " (when(Some(place.last_seen))) }
        } }
    }
}

/// `POST /admin/mailbox/settings`.
pub async fn set_mailbox(State(state): State<AppState>, headers: HeaderMap, form: Form) -> Response {
    let fields = (
        form.get("address"),
        form.get("challenge"),
        form.get("provider"),
        form.get("sms_number"),
        form.get("alt_email"),
    );
    signed_in(&state, &headers, Some(form.get("csrf")), move |scoped, _| {
        let (address, challenge, provider, sms, alt) = fields;
        let address: MailboxAddress = address.parse()?;
        let was = scoped.mailbox(&address)?.mailbox;
        let provider = provider.parse()?;
        let sms = if sms.trim().is_empty() { None } else { Some(sms.parse::<PhoneNumber>()?) };
        let alt = if alt.trim().is_empty() { None } else { Some(alt.parse::<EmailAddress>()?) };
        let changes = MailboxChanges {
            challenge: Some(challenge.parse()?),
            provider: (provider != was.provider).then_some(provider),
            sms_number: (sms != was.sms_number).then_some(sms),
            alt_email: (alt != was.alt_email).then_some(alt),
            mail_programs: None,
        };
        scoped.set_mailbox(&address, &changes)?;
        Ok(Shown::Redirect(format!("{}?done=saved", mailbox_path(&address))))
    })
    .await
}

/// What each destructive action asks before it is done, and what it does.
fn question(action: &str) -> Option<(&'static str, &'static str)> {
    let t = &ENGLISH;
    Some(match action {
        "reset-code" => (t.ask_reset_code, t.tell_reset_code),
        "reset-countries" => (t.ask_reset_countries, t.tell_reset_countries),
        "recovery-codes" => (t.ask_recovery_codes, t.tell_recovery_codes),
        "forget-devices" => (t.ask_forget_devices, t.tell_forget_devices),
        "remove-app-password" => (t.ask_remove_app_password, t.tell_remove_app_password),
        _ => return None,
    })
}

/// `GET /admin/mailbox/confirm?action=…&address=…`: asks first.
pub async fn confirm(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let (action, address, name) =
        (query_value(&uri, "action"), query_value(&uri, "address"), query_value(&uri, "name"));
    signed_in(&state, &headers, None, move |scoped, session| {
        let address: MailboxAddress = address.unwrap_or_default().parse()?;
        scoped.mailbox(&address)?;
        let action = action.unwrap_or_default();
        let Some((title, text)) = question(&action) else { return Ok(Shown::Redirect(mailbox_path(&address))) };
        let body = html! {
            h1 { (title) "?" }
            p { strong { (address) } @if let Some(name) = &name { " — " (name) } }
            p { (text) }
            form method="post" action="/admin/mailbox/action" {
                (csrf(session))
                input type="hidden" name="address" value=(address);
                input type="hidden" name="action" value=(action);
                @if let Some(name) = &name { input type="hidden" name="name" value=(name); }
                input type="hidden" name="confirmed" value="1";
                button type="submit" { (title) }
            }
            p { a href={ "/admin/" (mailbox_path(&address)) } { (ENGLISH.cancel) } }
        };
        Ok(Shown::Page(title.to_owned(), body))
    })
    .await
}

/// `POST /admin/mailbox/action`: an action on the mailbox the form names.
pub async fn action(State(state): State<AppState>, headers: HeaderMap, form: Form) -> Response {
    let fields = ActionFields {
        address: form.get("address"),
        action: form.get("action"),
        name: form.get("name"),
        confirmed: form.get("confirmed") == "1",
        minutes: form.get("minutes"),
        once: form.get("once") == "1",
    };
    signed_in(&state, &headers, Some(form.get("csrf")), move |scoped, _| run_action(scoped, &fields)).await
}

struct ActionFields {
    address: String,
    action: String,
    name: String,
    confirmed: bool,
    minutes: String,
    once: bool,
}

fn run_action(scoped: &Scoped<'_>, fields: &ActionFields) -> ServiceResult<Shown> {
    let address: MailboxAddress = fields.address.parse()?;
    let t = &ENGLISH;
    let back = |done: &str| Ok(Shown::Redirect(format!("{}?done={done}", mailbox_path(&address))));
    if question(&fields.action).is_some() && !fields.confirmed {
        // Asked without the confirmation page's answer: the mailbox is checked all the same.
        scoped.mailbox(&address)?;
        return Ok(Shown::Redirect(mailbox_path(&address)));
    }
    match fields.action.as_str() {
        "reset-code" => scoped.reset_two_factor_code(&address).and_then(|_| back("reset-code")),
        "reset-countries" => scoped.reset_country_exceptions(&address).and_then(|_| back("reset-countries")),
        "unlock" => scoped.unlock(&address).and_then(|()| back("unlock")),
        "forget-devices" => scoped.forget_devices(&address).and_then(|_| back("forget-devices")),
        "remove-app-password" => {
            scoped.remove_app_password(&address, &fields.name.parse()?)?;
            back("remove-app-password")
        }
        "recovery-codes" => {
            let codes = scoped.new_recovery_codes(&address)?;
            let shown: Vec<String> = codes.iter().map(|c| c.shown()).collect();
            Ok(shown_once(
                &address,
                t.recovery_codes_title,
                t.recovery_codes_note,
                html! {
                    ol.codes { @for code in &shown { li { (code) } } }
                },
            ))
        }
        "access-pass" => {
            let raw = fields.minutes.trim();
            let minutes = raw
                .parse::<i64>()
                .map_err(|_| DomainError::invalid("access pass lifetime", raw, "give a whole number of minutes"))?;
            let pass = scoped.issue_access_pass(&address, minutes, fields.once)?;
            let once = if pass.once { t.works_once } else { "" };
            let note = format!("{} {}{once}{}", t.works_until, when(Some(pass.expires_at)), t.shown_only_now);
            Ok(shown_once(&address, t.access_pass_title, &note, html! { p.key { (pass.pass.shown()) } }))
        }
        "qr" => {
            let (uri, state) = scoped.enrolment_uri(&address)?;
            let qr = crate::qr::page_image(&uri, 200)?;
            let note = format!("{} {}{}", t.secret_is, state.word(), t.qr_warning);
            Ok(shown_once(
                &address,
                t.qr_title,
                &note,
                html! { img.qr src=(qr.src) alt=(t.qr_alt) width=(qr.side) height=(qr.side); },
            ))
        }
        _ => {
            scoped.mailbox(&address)?;
            Ok(Shown::Redirect(mailbox_path(&address)))
        }
    }
}

/// A page that shows a secret once (codes, a pass, a QR code), in the POST's own answer: a
/// redirect would need the secret kept to show it again.
fn shown_once(address: &MailboxAddress, title: &str, note: &str, secret: Markup) -> Shown {
    let body = html! {
        h1 { (title) }
        p.who { (address) }
        p { (note) }
        (secret)
        a.button href={ "/admin/" (mailbox_path(address)) } { (ENGLISH.back_to_mailbox) }
    };
    Shown::Page(title.to_owned(), body)
}
