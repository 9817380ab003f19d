//! The Reports pane: the coverage report (`mailmfa report coverage`) as a table — a row per post
//! office, then the total — and a chart of where the mailboxes stand, with *Export CSV…*. The pane
//! loads the report itself when shown, and again after any change.

use egui::{Color32, RichText, Ui, pos2, vec2};
use egui_extras::{Column, TableBuilder};

use super::intent::{Intent, StoreIntent};
use crate::domain::{ChallengeMode, CoverageCounts, CoverageReport, MailboxStatus, Provider};

/// How many post offices the chart shows besides the total: the largest ones.
const CHART_POSTOFFICES: usize = 10;

/// The Reports pane.
#[derive(Default)]
pub struct ReportsPane {
    report: Option<CoverageReport>,
    loaded: bool,
}

impl ReportsPane {
    /// Whether the report must be (re)loaded before the pane is drawn.
    pub fn needs_load(&self) -> bool {
        !self.loaded
    }

    /// Marks the report as stale (after any change).
    pub fn invalidate(&mut self) {
        self.loaded = false;
    }

    /// Takes a freshly made report (`None` when it could not be made).
    pub fn set_report(&mut self, report: Option<CoverageReport>) {
        self.report = report;
        self.loaded = true;
    }

    /// The report on show.
    pub fn report(&self) -> Option<&CoverageReport> {
        self.report.as_ref()
    }

    /// Draws the pane.
    pub fn ui(&mut self, ui: &mut Ui, intents: &mut Vec<Intent>) {
        ui.horizontal(|ui| {
            ui.heading("Reports — Coverage");
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui.button("Export CSV…").clicked() {
                    intents.push(Intent::Store(StoreIntent::ExportCoverage));
                }
            });
        });
        ui.label(
            RichText::new(
                "Per post office: the challenge mode in force, the provider, where each mailbox stands, how many \
                 never signed in, and how many enrolled in an app have no recovery code left.",
            )
            .weak(),
        );
        let Some(report) = &self.report else { return };
        ui.add_space(6.0);
        chart(ui, report);
        ui.add_space(8.0);
        table(ui, report);
    }
}

/// The colour of each state in the chart and its legend.
fn status_color(status: MailboxStatus) -> Color32 {
    match status {
        MailboxStatus::NotEnrolled => Color32::from_rgb(176, 180, 186),
        MailboxStatus::Pending => Color32::from_rgb(230, 140, 40),
        MailboxStatus::Enrolled => Color32::from_rgb(46, 150, 70),
        MailboxStatus::Locked => Color32::from_rgb(200, 50, 50),
    }
}

/// Horizontal bars, one for all mailboxes and one for each of the largest post offices, each
/// split by state in proportion.
fn chart(ui: &mut Ui, report: &CoverageReport) {
    let mut largest: Vec<_> = report.postoffices.iter().filter(|r| r.counts.mailboxes > 0).collect();
    largest.sort_by_key(|r| std::cmp::Reverse(r.counts.mailboxes));
    largest.truncate(CHART_POSTOFFICES);
    let mut bars: Vec<(String, &CoverageCounts)> = vec![("All post offices".to_owned(), &report.total)];
    bars.extend(largest.into_iter().map(|r| (r.postoffice.to_string(), &r.counts)));

    ui.horizontal_wrapped(|ui| {
        for status in MailboxStatus::ALL {
            let (rect, _) = ui.allocate_exact_size(vec2(12.0, 12.0), egui::Sense::hover());
            ui.painter().rect_filled(rect, 2.0, status_color(status));
            ui.label(format!("{}: {}", status.label(), report.total.status(status)));
            ui.add_space(10.0);
        }
    });
    let label_width = 170.0;
    let row_height = 18.0;
    let width = (ui.available_width() - label_width - 70.0).max(120.0);
    for (name, counts) in bars {
        ui.horizontal(|ui| {
            ui.add_sized([label_width, row_height], egui::Label::new(name).truncate());
            let (rect, response) = ui.allocate_exact_size(vec2(width, row_height - 4.0), egui::Sense::hover());
            let painter = ui.painter();
            painter.rect_filled(rect, 2.0, ui.visuals().extreme_bg_color);
            let total = counts.mailboxes.max(1) as f32;
            let mut x = rect.left();
            for status in MailboxStatus::ALL {
                let share = counts.status(status) as f32 / total * rect.width();
                if share > 0.0 {
                    let part = egui::Rect::from_min_max(pos2(x, rect.top()), pos2(x + share, rect.bottom()));
                    painter.rect_filled(part, 0.0, status_color(status));
                    x += share;
                }
            }
            let detail: Vec<String> =
                MailboxStatus::ALL.iter().map(|s| format!("{}: {}", s.label(), counts.status(*s))).collect();
            response.on_hover_text(detail.join("\n"));
            ui.label(counts.mailboxes.to_string());
        });
    }
}

/// The report's numbers, a row per post office and the total last.
fn table(ui: &mut Ui, report: &CoverageReport) {
    // Where the mailboxes stand first: what an administrator looks for.
    let mut titles = vec!["Post office".to_owned(), "Mailboxes".to_owned()];
    titles.extend(MailboxStatus::ALL.iter().map(|s| capitalised(s.label())));
    titles.extend(["Never signed in", "No recovery codes", "Mail programs with password"].map(str::to_owned));
    titles.extend(ChallengeMode::ALL.iter().map(|m| m.short_label().to_owned()));
    titles.extend(Provider::ALL.iter().map(|p| p.short_label().to_owned()));
    let row_count = report.postoffices.len() + 1;
    let height = egui::TextStyle::Body.resolve(ui.style()).size.max(ui.spacing().interact_size.y);
    ui.push_id("coverage-table", |ui| {
        ui.style_mut().interaction.selectable_labels = false;
        let mut builder = TableBuilder::new(ui)
            .striped(true)
            .resizable(true)
            .auto_shrink(false)
            .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
            .column(Column::initial(120.0).at_least(80.0).clip(true));
        // The numbers share what is left, so all of them show in a pane of any width.
        for _ in 1..titles.len() {
            builder = builder.column(Column::remainder().at_least(36.0).clip(true));
        }
        builder
            .header(height * 2.0 + 4.0, |mut header| {
                for title in &titles {
                    header.col(|ui| {
                        // Small, so that a narrow column breaks a title between words, not inside one.
                        ui.add(egui::Label::new(RichText::new(title).small().strong()).wrap());
                    });
                }
            })
            .body(|body| {
                body.rows(height, row_count, |mut row| {
                    let i = row.index();
                    let (name, counts, strong) = match report.postoffices.get(i) {
                        Some(r) => (r.postoffice.to_string(), &r.counts, false),
                        None => ("All post offices".to_owned(), &report.total, true),
                    };
                    let mut cells = vec![name, counts.mailboxes.to_string()];
                    cells.extend(counts.statuses.iter().map(i64::to_string));
                    cells.extend(
                        [counts.never_signed_in, counts.no_recovery_codes, counts.password_in_mail_programs]
                            .map(|n| n.to_string()),
                    );
                    cells.extend(counts.modes.iter().chain(&counts.providers).map(i64::to_string));
                    for cell in cells {
                        row.col(|ui| {
                            let text = RichText::new(cell);
                            ui.label(if strong { text.strong() } else { text });
                        });
                    }
                });
            });
    });
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|c| c.to_uppercase().collect::<String>() + chars.as_str()).unwrap_or_default()
}
