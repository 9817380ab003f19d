//! The API Clients pane: the programs that call the login service (`mailmfa serve`), a form that
//! creates one and shows its key once with Copy, and Remove with confirmation. The pane loads the
//! list itself when shown, as the Audit Log does; the store keeps only a keyed hash of each key, so
//! a key the administrator did not copy is gone and the client must be made again.

use egui::{RichText, Ui};
use egui_extras::{Column, TableBuilder};

use super::intent::{Confirmation, Intent, PlatformIntent};
use super::model::when_short;
use super::shown_once::shown_once;
use crate::domain::{DomainError, parse_networks, parse_url_prefixes};
use crate::service::{ApiClient, ClientKey, ClientScope, ServiceError};

/// The API Clients pane.
#[derive(Default)]
pub struct ClientsPane {
    clients: Vec<ApiClient>,
    loaded: bool,
    name: String,
    allow: String,
    return_urls: String,
    postoffices: String,
    metrics: bool,
    problem: Option<Problem>,
    created: Option<Created>,
}

/// A client just made, with the key shown until the administrator hides it.
struct Created {
    name: String,
    key: ClientKey,
}

/// Why the last Create did not create anything.
enum Problem {
    Invalid(DomainError),
    Refused(ServiceError),
}

impl ClientsPane {
    /// Whether the list must be (re)loaded before the pane is drawn.
    pub fn needs_load(&self) -> bool {
        !self.loaded
    }

    /// Marks the list as stale (after a change, or a store switch).
    pub fn invalidate(&mut self) {
        self.loaded = false;
    }

    /// Takes a freshly loaded list.
    pub fn set_clients(&mut self, clients: Vec<ApiClient>) {
        self.clients = clients;
        self.loaded = true;
    }

    /// Shows the key of a client just made, once, and clears the form.
    pub fn created(&mut self, client: &ApiClient, key: ClientKey) {
        self.created = Some(Created { name: client.name.clone(), key });
        self.name.clear();
        self.allow.clear();
        self.return_urls.clear();
        self.metrics = false;
        self.problem = None;
        self.loaded = false;
    }

    /// Shows why the service refused to make the client; the form keeps what was typed.
    pub fn refused(&mut self, error: ServiceError) {
        self.problem = Some(Problem::Refused(error));
    }

    /// The key on show, if a client was just made (tests read it as an administrator copies it).
    pub fn shown_key(&self) -> Option<&str> {
        self.created.as_ref().map(|c| c.key.0.as_str())
    }

    /// How many clients the pane lists.
    pub fn count(&self) -> usize {
        self.clients.len()
    }

    /// Draws the pane.
    pub fn ui(&mut self, ui: &mut Ui, intents: &mut Vec<Intent>) {
        egui::ScrollArea::vertical().id_salt("clients-pane").auto_shrink(false).show(ui, |ui| {
            ui.heading("API Clients");
            ui.label(
                RichText::new(
                    "Programs that call the login service (mailmfa serve): a webmail plugin, another mail server. \
                     Each sends its own key as Authorization: Bearer KEY; the store keeps only a keyed hash of it.",
                )
                .weak(),
            );
            ui.add_space(6.0);
            self.key_ui(ui);
            self.table_ui(ui, intents);
            ui.add_space(12.0);
            self.form_ui(ui, intents);
        });
    }

    fn key_ui(&mut self, ui: &mut Ui) {
        let Some(created) = &self.created else { return };
        let note = format!(
            "The key of {}, shown only now. Put it in the client's configuration before you hide it:",
            created.name
        );
        if shown_once(ui, &note, created.key.0.as_str(), "key") {
            self.created = None;
        }
        ui.add_space(6.0);
    }

    fn table_ui(&self, ui: &mut Ui, intents: &mut Vec<Intent>) {
        if self.clients.is_empty() {
            ui.label("No API clients yet. Create one below, then give its key to the webmail.");
            return;
        }
        ui.push_id("clients-table", |ui| {
            ui.style_mut().interaction.selectable_labels = false;
            let height = egui::TextStyle::Body.resolve(ui.style()).size.max(ui.spacing().interact_size.y);
            TableBuilder::new(ui)
                .striped(true)
                .resizable(true)
                .vscroll(false)
                .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
                .column(Column::initial(130.0).at_least(80.0).clip(true))
                .column(Column::initial(130.0).at_least(60.0).clip(true))
                .column(Column::initial(130.0).at_least(60.0).clip(true))
                .column(Column::auto().at_least(60.0))
                .column(Column::initial(140.0).at_least(60.0).clip(true))
                .column(Column::initial(140.0).at_least(60.0).clip(true))
                .column(Column::remainder().at_least(100.0).clip(true))
                .column(Column::auto())
                .header(height + 4.0, |mut header| {
                    for title in
                        ["Client", "Allowed from", "Post offices", "Metrics", "Created", "Last used", "Return URLs", ""]
                    {
                        header.col(|ui| {
                            ui.label(RichText::new(title).strong());
                        });
                    }
                })
                .body(|body| {
                    body.rows(height, self.clients.len(), |mut row| {
                        let Some(client) = self.clients.get(row.index()) else { return };
                        row.col(|ui| {
                            ui.label(&client.name);
                        });
                        row.col(|ui| {
                            ui.label(if client.allow.is_empty() { "any".to_owned() } else { client.allow.join(", ") });
                        });
                        row.col(|ui| {
                            let all = client.postoffices.is_empty();
                            ui.label(if all { "all".to_owned() } else { client.postoffices.join(", ") });
                        });
                        row.col(|ui| {
                            ui.label(if client.metrics { "yes" } else { "—" });
                        });
                        row.col(|ui| {
                            ui.label(when_short(Some(client.created_at)));
                        });
                        row.col(|ui| {
                            ui.label(when_short(client.last_used));
                        });
                        row.col(|ui| {
                            let urls = client.return_urls.join(", ");
                            ui.label(if urls.is_empty() { "—" } else { &urls }).on_hover_text(&urls);
                        });
                        row.col(|ui| {
                            if ui.button("Remove…").on_hover_text(format!("Remove {}", client.name)).clicked() {
                                intents.push(Confirmation::remove_client(&client.name));
                            }
                        });
                    });
                });
        });
    }

    fn form_ui(&mut self, ui: &mut Ui, intents: &mut Vec<Intent>) {
        ui.label(RichText::new("New API client").strong().size(15.0));
        ui.separator();
        let mut enter = false;
        egui::Grid::new("new-client-form").num_columns(2).spacing([12.0, 6.0]).show(ui, |ui| {
            let fields: [(&str, &mut String, &str); 4] = [
                ("Name", &mut self.name, "webmail"),
                ("Allowed from (optional)", &mut self.allow, "192.0.2.10, 10.0.0.0/8"),
                ("Post offices (optional)", &mut self.postoffices, "example.com, example.org"),
                ("Return URL prefixes (optional)", &mut self.return_urls, "https://mail.example.com/"),
            ];
            for (label, value, hint) in fields {
                let label = ui.label(label);
                let field = ui
                    .add(egui::TextEdit::singleline(value).hint_text(hint).desired_width(320.0))
                    .labelled_by(label.id);
                enter |= field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                ui.end_row();
            }
            ui.label("");
            ui.checkbox(&mut self.metrics, "May read the metrics (GET /v1/metrics)");
            ui.end_row();
        });
        ui.label(
            RichText::new(
                "Allowed from: the addresses or networks the client may call from (empty: any). Post offices: the \
                 only ones whose mailboxes it may act for (empty: all; name them when several mail servers share \
                 this service). Return URL prefixes: where the hosted sign-in pages may send a user back to. \
                 Metrics: for a Prometheus server on another machine (this machine reads them without a key).",
            )
            .weak(),
        );
        if let Some(problem) = &self.problem {
            let text = match problem {
                Problem::Invalid(e) => e.to_string(),
                Problem::Refused(e) => e.to_string(),
            };
            ui.colored_label(ui.visuals().error_fg_color, text);
        }
        ui.add_space(4.0);
        if ui.button("Create API client").clicked() || enter {
            match self.parse() {
                Ok(intent) => {
                    self.problem = None;
                    intents.push(intent);
                }
                Err(e) => self.problem = Some(Problem::Invalid(e)),
            }
        }
    }

    fn parse(&self) -> Result<Intent, DomainError> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err(DomainError::Empty("client name"));
        }
        let postoffices = self.postoffices.split(',').map(str::trim).filter(|p| !p.is_empty());
        let scope = ClientScope {
            allow: parse_networks(&self.allow)?,
            return_urls: parse_url_prefixes(&self.return_urls)?,
            postoffices: postoffices.map(str::parse).collect::<Result<_, _>>()?,
            metrics: self.metrics,
            origins: Vec::new(),
        };
        Ok(Intent::Platform(PlatformIntent::AddClient { name: name.to_owned(), scope }))
    }
}
