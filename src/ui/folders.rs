//! The result panes of the two folders: the store overview (the root node) and the list of post
//! offices (the `Post Offices` node, a virtualised table with one row per post office).

use egui::{RichText, Sense, Ui};
use egui_extras::{Column, TableBuilder};

use super::actions;
use super::intent::{Intent, Window};
use super::model::{Node, Snapshot};
use super::ui_command::Target;

/// Draws the overview of the open store.
pub fn root_ui(ui: &mut Ui, snapshot: &Snapshot, store_path: &str, mode: &str, intents: &mut Vec<Intent>) {
    ui.heading("mailmfa");
    ui.label(RichText::new("Multi-factor authentication for the mailboxes of this mail server.").weak());
    ui.add_space(10.0);
    egui::Grid::new("overview-grid").num_columns(2).spacing([16.0, 6.0]).show(ui, |ui| {
        ui.label("Store");
        ui.label(store_path);
        ui.end_row();
        ui.label("Mode");
        ui.label(match mode {
            "shared" => "shared (rollback journal; several servers use this file)",
            "memory" => "in memory (nothing is kept)",
            "server" => "server (PostgreSQL; shared by the mail servers that connect to it)",
            _ => "local (WAL; this server only)",
        });
        ui.end_row();
        ui.label("Post offices");
        ui.label(snapshot.postoffices.len().to_string());
        ui.end_row();
        ui.label("Mailboxes");
        ui.label(snapshot.mailbox_count.to_string());
        ui.end_row();
        ui.label("Providers enabled");
        let enabled: Vec<&str> = snapshot.providers.iter().filter(|(_, s)| s.enabled).map(|(p, _)| p.label()).collect();
        ui.label(if enabled.is_empty() { "none".to_owned() } else { enabled.join(", ") });
        ui.end_row();
    });
    ui.add_space(12.0);
    ui.label(RichText::new("Getting started").strong());
    ui.label("1. Create a post office for each mail domain (Post Offices > New Post Office…).");
    ui.label("2. Set its default challenge mode in its Properties, and add its mailboxes (or File > Import CSV…).");
    ui.label(
        "3. Open a mailbox's Properties > Two Factor to override the mode, pick the provider, or show its QR code.",
    );
    ui.label("4. Try a login in Action > Login Preview… before users meet it.");
    ui.add_space(8.0);
    if ui.button("Go to Post Offices").clicked() {
        intents.push(Intent::Select(Node::PostOffices));
    }
}

/// Draws the list of post offices.
pub fn postoffices_ui(ui: &mut Ui, snapshot: &Snapshot, intents: &mut Vec<Intent>) {
    ui.heading("Post Offices");
    ui.label(
        RichText::new(format!(
            "{} post offices, {} mailboxes. Double-click a post office to open it.",
            snapshot.postoffices.len(),
            snapshot.mailbox_count
        ))
        .weak(),
    );
    if snapshot.postoffices.is_empty() {
        ui.add_space(8.0);
        if ui.button("Create the first post office…").clicked() {
            intents.push(Intent::Open(Window::NewPostOffice));
        }
        return;
    }
    ui.add_space(4.0);
    // Clicks on a cell select the row rather than start a text selection.
    ui.style_mut().interaction.selectable_labels = false;
    let height = egui::TextStyle::Body.resolve(ui.style()).size.max(ui.spacing().interact_size.y);
    TableBuilder::new(ui)
        .id_salt("postoffice-table")
        .striped(true)
        .resizable(true)
        .sense(Sense::click())
        .auto_shrink(false)
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(Column::initial(220.0).at_least(80.0).clip(true))
        .column(Column::initial(180.0).at_least(80.0).clip(true))
        .column(Column::initial(160.0).at_least(60.0).clip(true))
        .column(Column::remainder().at_least(60.0))
        .header(height + 4.0, |mut header| {
            for title in ["Post office", "Default challenge", "Users may configure", "Mailboxes"] {
                header.col(|ui| {
                    ui.label(RichText::new(title).strong());
                });
            }
        })
        .body(|body| {
            body.rows(height, snapshot.postoffices.len(), |mut row| {
                let Some(po) = snapshot.postoffices.get(row.index()) else { return };
                row.col(|ui| {
                    ui.label(po.name.as_str());
                });
                row.col(|ui| {
                    ui.label(po.challenge.label());
                });
                row.col(|ui| {
                    ui.label(if po.users_may_configure { "yes" } else { "no" });
                });
                row.col(|ui| {
                    ui.label(po.mailboxes.to_string());
                });
                let response = row.response();
                if response.double_clicked() {
                    intents.push(Intent::Select(Node::PostOffice(po.name.clone())));
                }
                response.context_menu(|ui| {
                    actions::menu_ui(ui, &Target::for_node(&Node::PostOffice(po.name.clone()), snapshot), intents);
                });
            });
        });
}
