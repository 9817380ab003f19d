//! The result pane of a post office: its mailboxes in a sortable, filterable table (Mailbox,
//! Challenge, Provider, Status, Last login, Known countries). Only the visible rows are drawn, and
//! the sorted, filtered order is rebuilt only when the rows, the filter or the sort change, so a
//! post office of 100,000 mailboxes scrolls smoothly. Mailbox names sort naturally (`user2` before
//! `user10`), as the service lists them.

use std::cmp::Ordering;

use egui::{Key, RichText, Sense, Ui};
use egui_extras::{Column, TableBuilder};

use super::actions;
use super::intent::{Intent, Window};
use super::model::{Node, Snapshot, when_short};
use super::ui_command::Target;
use crate::domain::{
    Cell, MAILBOX_COLUMNS, MailboxAddress, MailboxColumn, MailboxStatus, MailboxSummary, PostOffice, PostOfficeName,
    Vocabulary, by_name,
};

/// The table's state: filter, sort order, the derived row order, and the selected mailbox.
pub struct MailboxTable {
    filter: String,
    /// The column sorted by: an index into [`MAILBOX_COLUMNS`].
    sort: usize,
    ascending: bool,
    order: Vec<usize>,
    order_key: Option<(u64, PostOfficeName, String, usize, bool)>,
    selected: Option<MailboxAddress>,
    scroll_to: Option<usize>,
}

impl Default for MailboxTable {
    fn default() -> Self {
        Self {
            filter: String::new(),
            sort: 0,
            ascending: true,
            order: Vec::new(),
            order_key: None,
            selected: None,
            scroll_to: None,
        }
    }
}

impl MailboxTable {
    /// The selected mailbox.
    pub fn selected(&self) -> Option<&MailboxAddress> {
        self.selected.as_ref()
    }

    /// Selects a mailbox (from the tree) and scrolls it into view.
    pub fn select(&mut self, address: Option<MailboxAddress>) {
        if self.selected != address {
            self.selected = address;
            self.scroll_to = Some(usize::MAX);
        }
    }

    /// How many rows pass the filter (after the last draw).
    pub fn shown_rows(&self) -> usize {
        self.order.len()
    }

    /// Draws the table of `postoffice`. `active` says whether the arrow keys are the table's.
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        postoffice: &PostOfficeName,
        snapshot: &Snapshot,
        active: bool,
        intents: &mut Vec<Intent>,
    ) {
        let Some(record) = snapshot.postoffice(postoffice) else {
            ui.label(format!("The post office {postoffice} no longer exists."));
            return;
        };
        let Some(rows) = snapshot.rows(postoffice).cloned() else {
            ui.spinner();
            return;
        };
        self.header_ui(ui, record);
        self.rebuild_order(&rows, postoffice, snapshot.generation);
        ui.label(RichText::new(format!("{} of {} mailboxes shown", self.order.len(), rows.len())).weak());
        ui.add_space(2.0);

        if active && !ui.ctx().egui_wants_keyboard_input() {
            self.keyboard(ui, &rows, intents);
        }
        let selected_position = self
            .selected
            .as_ref()
            .and_then(|s| self.order.iter().position(|&i| rows.get(i).is_some_and(|r| &r.address == s)));
        if self.scroll_to == Some(usize::MAX) {
            self.scroll_to = selected_position;
        }

        self.table_ui(ui, &rows, snapshot, intents);
    }

    /// The post office's name and defaults, and the filter.
    fn header_ui(&mut self, ui: &mut Ui, record: &PostOffice) {
        ui.horizontal(|ui| {
            ui.heading(record.name.as_str());
            ui.label(
                RichText::new(format!(
                    "default challenge: {} · users may configure: {} · {} mailboxes",
                    record.challenge.label(),
                    if record.users_may_configure { "yes" } else { "no" },
                    record.mailboxes
                ))
                .weak(),
            );
        });
        ui.horizontal(|ui| {
            let label = ui.label("Filter");
            ui.add(
                egui::TextEdit::singleline(&mut self.filter)
                    .hint_text("mailbox, mode, provider, status, country or mail programs")
                    .desired_width(280.0),
            )
            .labelled_by(label.id);
            if !self.filter.is_empty() && ui.button("Clear filter").clicked() {
                self.filter.clear();
            }
        });
    }

    /// The rows that pass the filter, in order; only the visible ones are drawn.
    fn table_ui(&mut self, ui: &mut Ui, rows: &[MailboxSummary], snapshot: &Snapshot, intents: &mut Vec<Intent>) {
        // Clicks on a cell select the row rather than start a text selection.
        ui.style_mut().interaction.selectable_labels = false;
        let text_height = egui::TextStyle::Body.resolve(ui.style()).size.max(ui.spacing().interact_size.y);
        let mut table = TableBuilder::new(ui)
            .id_salt("mailbox-table")
            .striped(true)
            .resizable(true)
            .sense(Sense::click())
            .auto_shrink(false)
            .cell_layout(egui::Layout::left_to_right(egui::Align::Center));
        for (i, column) in MAILBOX_COLUMNS.iter().enumerate() {
            let last = i + 1 == MAILBOX_COLUMNS.len();
            let width = if last { Column::remainder() } else { Column::initial(column.width) };
            table = table.column(width.at_least(60.0).clip(true));
        }
        if let Some(position) = self.scroll_to.take() {
            table = table.scroll_to_row(position, None);
        }
        table
            .header(text_height + 4.0, |mut header| {
                for (column, MailboxColumn { title, .. }) in MAILBOX_COLUMNS.iter().enumerate() {
                    header.col(|ui| {
                        let button = egui::Button::new(RichText::new(*title).strong()).frame(false);
                        let response = ui.add(button).on_hover_text(format!("Sort by {title}"));
                        if self.sort == column {
                            paint_sort_arrow(ui, response.rect, self.ascending);
                        }
                        if response.clicked() {
                            if self.sort == column {
                                self.ascending = !self.ascending;
                            } else {
                                self.sort = column;
                                self.ascending = true;
                            }
                        }
                    });
                }
            })
            .body(|body| {
                body.rows(text_height, self.order.len(), |mut row| {
                    let Some(mailbox) = self.order.get(row.index()).and_then(|&i| rows.get(i)) else {
                        return;
                    };
                    row.set_selected(self.selected.as_ref() == Some(&mailbox.address));
                    for column in &MAILBOX_COLUMNS {
                        row.col(|ui| match (column.cell)(mailbox, Vocabulary::Labels) {
                            Cell::Text(text) => drop(ui.label(text)),
                            Cell::Time(time) => drop(ui.label(when_short(time))),
                            Cell::Status(status) => status_label(ui, status),
                        });
                    }
                    let response = row.response();
                    if response.clicked() || response.secondary_clicked() {
                        self.selected = Some(mailbox.address.clone());
                        intents.push(Intent::Select(Node::PostOffice(mailbox.address.postoffice.clone())));
                    }
                    if response.double_clicked() {
                        intents.push(Intent::Open(Window::MailboxProperties(mailbox.address.clone())));
                    }
                    response.context_menu(|ui| {
                        let target = Target::for_node(&Node::PostOffice(mailbox.address.postoffice.clone()), snapshot)
                            .with_mailbox(&mailbox.address, snapshot);
                        actions::menu_ui(ui, &target, intents);
                    });
                });
            });
    }

    fn keyboard(&mut self, ui: &Ui, rows: &[MailboxSummary], intents: &mut Vec<Intent>) {
        let (down, up, home, end) = ui.input(|i| {
            (
                i.key_pressed(Key::ArrowDown),
                i.key_pressed(Key::ArrowUp),
                i.key_pressed(Key::Home),
                i.key_pressed(Key::End),
            )
        });
        if !(down || up || home || end) || self.order.is_empty() {
            return;
        }
        let current = self
            .selected
            .as_ref()
            .and_then(|s| self.order.iter().position(|&i| rows.get(i).is_some_and(|r| &r.address == s)));
        let last = self.order.len() - 1;
        let next = match current {
            _ if home => 0,
            _ if end => last,
            None => 0,
            Some(c) if down => (c + 1).min(last),
            Some(c) => c.saturating_sub(1),
        };
        if let Some(row) = self.order.get(next).and_then(|&i| rows.get(i)) {
            self.selected = Some(row.address.clone());
            self.scroll_to = Some(next);
            intents.push(Intent::Select(Node::PostOffice(row.address.postoffice.clone())));
        }
    }

    /// Re-filters and re-sorts when the rows, the filter or the sort changed.
    fn rebuild_order(&mut self, rows: &[MailboxSummary], postoffice: &PostOfficeName, generation: u64) {
        let key = (generation, postoffice.clone(), self.filter.clone(), self.sort, self.ascending);
        if self.order_key.as_ref() == Some(&key) {
            return;
        }
        let needle = self.filter.trim().to_lowercase();
        self.order = rows
            .iter()
            .enumerate()
            .filter(|(_, row)| needle.is_empty() || matches_filter(row, &needle))
            .map(|(i, _)| i)
            .collect();
        let order = MAILBOX_COLUMNS.get(self.sort).map_or(by_name as fn(&_, &_) -> Ordering, |c| c.order);
        self.order.sort_by(|&a, &b| match (rows.get(a), rows.get(b)) {
            (Some(x), Some(y)) => order(x, y).then_with(|| by_name(x, y)),
            _ => Ordering::Equal,
        });
        if !self.ascending {
            self.order.reverse();
        }
        if self.order_key.as_ref().is_none_or(|k| &k.1 != postoffice) {
            self.selected = self.selected.take().filter(|s| &s.postoffice == postoffice);
        }
        self.order_key = Some(key);
    }
}

/// A small triangle after a column title: up for ascending, down for descending.
fn paint_sort_arrow(ui: &Ui, title: egui::Rect, ascending: bool) {
    let c = egui::pos2(title.right() + 8.0, title.center().y);
    let points = if ascending {
        vec![egui::pos2(c.x - 4.0, c.y + 2.5), egui::pos2(c.x + 4.0, c.y + 2.5), egui::pos2(c.x, c.y - 3.0)]
    } else {
        vec![egui::pos2(c.x - 4.0, c.y - 2.5), egui::pos2(c.x + 4.0, c.y - 2.5), egui::pos2(c.x, c.y + 3.0)]
    };
    ui.painter().add(egui::Shape::convex_polygon(points, ui.visuals().text_color(), egui::Stroke::NONE));
}

fn status_label(ui: &mut Ui, status: MailboxStatus) {
    let color = match status {
        MailboxStatus::Locked => ui.visuals().error_fg_color,
        MailboxStatus::Pending => ui.visuals().warn_fg_color,
        MailboxStatus::Enrolled => egui::Color32::from_rgb(46, 140, 67),
        MailboxStatus::NotEnrolled => ui.visuals().weak_text_color(),
    };
    ui.label(RichText::new(status.label()).color(color));
}

/// Whether any cell of the row but a time holds the filter's text.
fn matches_filter(row: &MailboxSummary, needle: &str) -> bool {
    MAILBOX_COLUMNS.iter().any(|column| match (column.cell)(row, Vocabulary::Labels) {
        Cell::Text(text) => text.to_lowercase().contains(needle),
        Cell::Status(status) => status.label().contains(needle),
        Cell::Time(_) => false,
    })
}
