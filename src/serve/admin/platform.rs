//! The audit log and the coverage report (of the administrator's post offices), and the pages
//! only platform administrators reach: providers, settings, API clients and administrators. The
//! service refuses the platform pages to anyone else (404 here), whether the link was shown or not.

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use maud::{Markup, html};

use super::signin::query_value;
use super::texts::ENGLISH;
use super::views::{csrf, done_note, when};
use super::{Shown, signed_in};
use crate::domain::{AdminRole, MailboxStatus, Provider, ProviderSwitches, SettingKind};
use crate::serve::http::AppState;
use crate::serve::pages::Form;

/// `GET /admin/audit?filter=…`: the newest 200 entries first.
pub async fn audit(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let filter: String = query_value(&uri, "filter").unwrap_or_default().chars().take(100).collect();
    signed_in(&state, &headers, None, move |scoped, _| {
        let entries = scoped.audit(&filter, 200)?;
        let t = &ENGLISH;
        let body = html! {
            h1 { (t.audit_title) }
            form.filter method="get" action="/admin/audit" {
                label for="filter" { (t.audit_filter) }
                input #filter type="search" name="filter" value=(filter) placeholder=(t.audit_placeholder);
                button type="submit" { (t.find_button) }
            }
            div.scroll { table {
                thead { tr { th { (t.column_when) } th { (t.column_who) } th { (t.column_mailbox) } th { (t.column_action) } th { (t.column_outcome) } th { (t.column_ip) } th { (t.column_detail) } } }
                tbody { @for record in &entries { @let e = &record.entry; tr {
                    td data-label="When" { (when(Some(e.at))) }
                    td data-label="Who" { (e.actor) }
                    td data-label="Mailbox" { (e.mailbox.as_deref().unwrap_or("")) }
                    td data-label="Action" { (e.action) }
                    td data-label="Outcome" { (e.outcome) }
                    td data-label="IP" { (e.ip.as_deref().unwrap_or("")) }
                    td data-label="Detail" { (e.detail.as_deref().unwrap_or("")) }
                } } }
            } }
        };
        Ok(Shown::Page(t.audit_title.to_owned(), body))
    })
    .await
}

/// `GET /admin/coverage`: per post office, the mailboxes by state, with a bar chart.
pub async fn coverage(State(state): State<AppState>, headers: HeaderMap) -> Response {
    signed_in(&state, &headers, None, |scoped, _| {
        let report = scoped.coverage()?;
        let total = report.total.mailboxes.max(1);
        let t = &ENGLISH;
        let body = html! {
            h1 { (t.coverage_title) }
            p { a href="/admin/coverage.csv" { (t.coverage_csv) } }
            h2 { (t.all) " " (report.total.mailboxes) " " (t.by_state) }
            div.chart { @for (status, count) in MailboxStatus::ALL.iter().zip(report.total.statuses) {
                // A meter, not a styled bar: the pages' CSP allows no inline style.
                label.bar { span.label { (status.label()) " " (count) } meter min="0" max=(total) value=(count) {} }
            } }
            div.scroll { table {
                thead { tr { @for column in crate::domain::CoverageReport::columns() { th { (column.replace('_', " ")) } } } }
                tbody {
                    @for row in &report.postoffices { tr { td { (row.postoffice) } @for n in row.counts.numbers() { td.number { (n) } } } }
                    tr.total { td { "(all)" } @for n in report.total.numbers() { td.number { (n) } } }
                }
            } }
        };
        Ok(Shown::Page(t.coverage_title.to_owned(), body))
    })
    .await
}

/// `GET /admin/coverage.csv`.
pub async fn coverage_csv(State(state): State<AppState>, headers: HeaderMap) -> Response {
    signed_in(&state, &headers, None, |scoped, _| {
        Ok(Shown::File("text/csv; charset=utf-8", "coverage.csv", scoped.coverage()?.to_csv()))
    })
    .await
}

/// `GET /admin/providers`.
pub async fn providers(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let done = query_value(&uri, "done");
    signed_in(&state, &headers, None, move |scoped, session| {
        let providers = scoped.providers()?;
        let t = &ENGLISH;
        let body = html! {
            h1 { (t.providers_title) }
            (done_note(done.as_deref()))
            @for (provider, switches) in &providers {
                form.settings method="post" action="/admin/providers" {
                    (csrf(session))
                    input type="hidden" name="provider" value=(provider.word());
                    h2 { (provider.label()) }
                    (switch("enabled", t.switch_enabled, switches.enabled, *provider))
                    (switch("admin", t.switch_admin, switches.admin_configurable, *provider))
                    (switch("user", t.switch_user, switches.user_configurable, *provider))
                    button type="submit" { (t.save_button) " " (provider.label()) }
                }
            }
        };
        Ok(Shown::Page(t.providers_title.to_owned(), body))
    })
    .await
}

fn switch(name: &str, label: &str, on: bool, provider: Provider) -> Markup {
    let id = format!("{}-{name}", provider.word());
    html! { label.remember for=(id) { input #(id) type="checkbox" name=(name) value="1" checked[on]; " " (label) } }
}

/// `POST /admin/providers`.
pub async fn set_provider(State(state): State<AppState>, headers: HeaderMap, form: Form) -> Response {
    let provider = form.get("provider");
    let switches = ProviderSwitches {
        enabled: form.get("enabled") == "1",
        admin_configurable: form.get("admin") == "1",
        user_configurable: form.get("user") == "1",
    };
    signed_in(&state, &headers, Some(form.get("csrf")), move |scoped, _| {
        scoped.set_provider(provider.parse()?, switches)?;
        Ok(Shown::Redirect("providers?done=saved".to_owned()))
    })
    .await
}

/// `GET /admin/settings`: every setting (secrets masked), each with its own form.
pub async fn settings(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let done = query_value(&uri, "done");
    signed_in(&state, &headers, None, move |scoped, session| {
        let settings = scoped.settings()?;
        let t = &ENGLISH;
        let body = html! {
            h1 { (t.settings_title) }
            (done_note(done.as_deref()))
            @for view in &settings {
                form.setting method="post" action="/admin/settings" {
                    (csrf(session))
                    input type="hidden" name="key" value=(view.def.key);
                    label for=(view.def.key) { (view.def.label) " " small { "(" (view.def.key) ")" } }
                    (setting_field(view))
                    button type="submit" { "Save" }
                }
            }
        };
        Ok(Shown::Page(t.settings_title.to_owned(), body))
    })
    .await
}

/// A setting's field: a text area for a multi-line template, and for a secret an empty password
/// field (the secret is never sent to the browser; left empty, it stays as it is).
fn setting_field(view: &crate::service::SettingView) -> Markup {
    let (key, help) = (view.def.key, view.def.help);
    match view.def.kind {
        SettingKind::MultilineText => html! { textarea id=(key) name="value" rows="4" title=(help) { (view.shown) } },
        SettingKind::Secret => {
            let placeholder = if view.shown.is_empty() { ENGLISH.secret_not_set } else { ENGLISH.secret_set };
            html! { input id=(key) type="password" name="value" value="" placeholder=(placeholder) autocomplete="off" title=(help); }
        }
        _ => html! { input id=(key) type="text" name="value" value=(view.shown) title=(help); },
    }
}

/// `POST /admin/settings`. An empty secret field leaves the secret as it is.
pub async fn set_setting(State(state): State<AppState>, headers: HeaderMap, form: Form) -> Response {
    let (key, value) = (form.get("key"), form.get("value"));
    signed_in(&state, &headers, Some(form.get("csrf")), move |scoped, _| {
        let unchanged = value.is_empty() && crate::domain::setting(&key).is_ok_and(|def| def.is_secret());
        if unchanged {
            // Nothing to write, but only for whoever may read the settings.
            scoped.settings()?;
        } else {
            scoped.set_setting(&key, &value)?;
        }
        Ok(Shown::Redirect("settings?done=saved".to_owned()))
    })
    .await
}

/// `GET /admin/clients`: the API clients (keys are made with `mailmfa client add`).
pub async fn clients(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let done = query_value(&uri, "done");
    signed_in(&state, &headers, None, move |scoped, session| {
        let clients = scoped.clients()?;
        let t = &ENGLISH;
        let body = html! {
            h1 { (t.clients_title) }
            (done_note(done.as_deref()))
            p { (t.clients_intro) " " code { "mailmfa client add" } "." }
            div.scroll { table {
                thead { tr { th { (t.column_client) } th { (t.column_allowed_from) } th { (t.column_postoffices) } th { (t.column_metrics) } th { (t.column_last_used) } th {} } }
                tbody { @for client in &clients { tr {
                    td { (client.name) }
                    td { (if client.allow.is_empty() { t.any.to_owned() } else { client.allow.join(", ") }) }
                    td { (if client.postoffices.is_empty() { t.every.to_owned() } else { client.postoffices.join(", ") }) }
                    td { (if client.metrics { t.yes } else { "—" }) }
                    td { (when(client.last_used)) }
                    td { form.inline method="post" action="/admin/clients" {
                        (csrf(session))
                        input type="hidden" name="name" value=(client.name);
                        button.link type="submit" { (t.remove_button) }
                    } }
                } } }
            } }
        };
        Ok(Shown::Page(t.clients_title.to_owned(), body))
    })
    .await
}

/// `POST /admin/clients`: removes one.
pub async fn remove_client(State(state): State<AppState>, headers: HeaderMap, form: Form) -> Response {
    let name = form.get("name");
    signed_in(&state, &headers, Some(form.get("csrf")), move |scoped, _| {
        scoped.remove_client(&name)?;
        Ok(Shown::Redirect("clients?done=removed".to_owned()))
    })
    .await
}

/// `GET /admin/administrators`.
pub async fn administrators(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let done = query_value(&uri, "done");
    signed_in(&state, &headers, None, move |scoped, session| {
        let admins = scoped.admins()?;
        let t = &ENGLISH;
        let body = html! {
            h1 { (t.admins_title) }
            (done_note(done.as_deref()))
            div.scroll { table {
                thead { tr { th { (t.column_name) } th { (t.column_role) } th { (t.column_postoffices) } th { (t.column_set_up) } th {} } }
                tbody { @for admin in &admins { tr {
                    td { (admin.name) }
                    td { (admin.role) }
                    td { (admin.postoffices.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")) }
                    td { (if admin.set_up { t.yes } else { t.not_yet }) }
                    td {
                        @for (op, button) in [("reset", t.reset_button), ("remove", t.remove_button)] {
                            form.inline method="post" action="/admin/administrators" {
                                (csrf(session))
                                input type="hidden" name="op" value=(op);
                                input type="hidden" name="name" value=(admin.name);
                                button.link type="submit" { (button) }
                            }
                            " "
                        }
                    }
                } } }
            } }
            h2 { (t.add_admin_heading) }
            form.settings method="post" action="/admin/administrators" {
                (csrf(session))
                input type="hidden" name="op" value="add";
                label for="name" { (t.name_label) }
                input #name type="text" name="name" required;
                label for="role" { (t.role_label) }
                select #role name="role" { @for role in AdminRole::ALL { option value=(role.word()) { (role.word()) } } }
                label for="postoffices" { (t.admin_postoffices_label) }
                input #postoffices type="text" name="postoffices";
                button type="submit" { (t.add_button) }
            }
        };
        Ok(Shown::Page(t.admins_title.to_owned(), body))
    })
    .await
}

/// `POST /admin/administrators`: adds one or starts one's set-up again (the set-up link shown
/// once), or removes one.
pub async fn change_administrators(State(state): State<AppState>, headers: HeaderMap, form: Form) -> Response {
    let fields = (form.get("op"), form.get("name"), form.get("role"), form.get("postoffices"));
    let base = state.public_url.clone().unwrap_or_default();
    signed_in(&state, &headers, Some(form.get("csrf")), move |scoped, _| {
        let (op, name, role, postoffices) = fields;
        let name = name.parse()?;
        let t = &ENGLISH;
        let (link, title, note) = match op.as_str() {
            "remove" => {
                scoped.remove_admin(&name)?;
                return Ok(Shown::Redirect("administrators?done=removed".to_owned()));
            }
            "reset" => (scoped.reset_admin(&name)?, t.admin_reset_title, Some(t.admin_reset_note)),
            _ => {
                let postoffices = postoffices
                    .split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(str::parse)
                    .collect::<Result<Vec<_>, _>>()?;
                (scoped.add_admin(&name, role.parse()?, &postoffices)?, t.admin_added_title, None)
            }
        };
        let body = html! {
            h1 { (title) }
            @if let Some(note) = note { p { (note) } }
            p { (t.send) " " strong { (link.admin.name) } " " (t.setup_link_note) }
            p.key { (link.url(&base)) }
            a.button href="/admin/administrators" { (t.back_to_admins) }
        };
        Ok(Shown::Page(title.to_owned(), body))
    })
    .await
}
