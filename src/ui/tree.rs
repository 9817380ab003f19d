//! The console tree on the left: `mailmfa (store)` → `Post Offices` → each post office → its
//! mailboxes, then `Challenge Providers`, `Settings` and `Audit Log`. Only the visible rows are
//! drawn, so a store with thousands of post offices scrolls as smoothly as a small one. Arrow keys
//! move the selection (Left/Right collapse and expand) while the tree is the active pane.

use std::collections::HashSet;
use std::ops::Range;

use egui::{Align2, FontId, Key, Rect, Role, Sense, Shape, Stroke, Ui, WidgetInfo, pos2, vec2};

use super::actions;
use super::intent::{Intent, Window};
use super::model::{Node, Snapshot};
use super::ui_command::Target;

/// Height of one tree row.
const ROW_HEIGHT: f32 = 20.0;
/// Indentation per level.
const INDENT: f32 = 16.0;

/// One visible row: which node, addressed by index into the snapshot so nothing is cloned per
/// frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    Root,
    PostOffices,
    PostOffice(usize),
    Mailbox(usize, usize),
    Providers,
    Clients,
    Admins,
    Settings,
    Reports,
    Audit,
}

impl Item {
    fn depth(self) -> usize {
        match self {
            Self::Root => 0,
            Self::PostOffices
            | Self::Providers
            | Self::Clients
            | Self::Admins
            | Self::Settings
            | Self::Reports
            | Self::Audit => 1,
            Self::PostOffice(_) => 2,
            Self::Mailbox(..) => 3,
        }
    }
}

/// The tree's own state: which nodes are expanded and where it is scrolled.
pub struct Tree {
    expanded: HashSet<Node>,
    visible: Range<usize>,
    scroll_to_selection: bool,
}

impl Default for Tree {
    fn default() -> Self {
        Self {
            expanded: [Node::Root, Node::PostOffices].into_iter().collect(),
            visible: 0..0,
            scroll_to_selection: false,
        }
    }
}

impl Tree {
    /// The post offices whose mailboxes the tree shows (their rows must be loaded).
    pub fn expanded_postoffices(&self) -> impl Iterator<Item = &crate::domain::PostOfficeName> {
        self.expanded.iter().filter_map(|n| match n {
            Node::PostOffice(name) => Some(name),
            _ => None,
        })
    }

    /// Expands the ancestors of `node` and scrolls it into view.
    pub fn reveal(&mut self, node: &Node) {
        self.expanded.insert(Node::Root);
        match node {
            Node::PostOffice(_) => {
                self.expanded.insert(Node::PostOffices);
            }
            Node::Mailbox(address) => {
                self.expanded.insert(Node::PostOffices);
                self.expanded.insert(Node::PostOffice(address.postoffice.clone()));
            }
            _ => {}
        }
        self.scroll_to_selection = true;
    }

    /// Forgets expanded post offices that no longer exist.
    pub fn retain_existing(&mut self, snapshot: &Snapshot) {
        self.expanded.retain(|n| match n {
            Node::PostOffice(name) => snapshot.postoffice(name).is_some(),
            _ => true,
        });
    }

    /// Draws the tree. `active` says whether the arrow keys are the tree's.
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        snapshot: &Snapshot,
        root_label: &str,
        selected: &Node,
        active: bool,
        intents: &mut Vec<Intent>,
    ) {
        let items = self.items(snapshot);
        let selected_index = items.iter().position(|&item| is_node(item, selected, snapshot));

        if active && !ui.ctx().egui_wants_keyboard_input() {
            self.keyboard(ui, &items, selected_index, snapshot, intents);
        }

        let spacing = ui.spacing().item_spacing.y;
        let mut area = egui::ScrollArea::both().id_salt("console-tree").auto_shrink(false);
        if self.scroll_to_selection {
            self.scroll_to_selection = false;
            if let Some(index) = selected_index.filter(|i| !self.fully_visible(*i)) {
                let shown = self.visible.len().max(1) as f32;
                let offset = (index as f32 - shown / 2.0).max(0.0) * (ROW_HEIGHT + spacing);
                area = area.vertical_scroll_offset(offset);
            }
        }
        area.show_rows(ui, ROW_HEIGHT, items.len(), |ui, range| {
            self.visible = range.clone();
            for index in range {
                let Some(&item) = items.get(index) else { continue };
                self.row_ui(ui, item, snapshot, root_label, selected, intents);
            }
        });
    }

    fn fully_visible(&self, index: usize) -> bool {
        self.visible.start < index && index + 1 < self.visible.end
    }

    fn keyboard(
        &mut self,
        ui: &Ui,
        items: &[Item],
        selected: Option<usize>,
        snapshot: &Snapshot,
        intents: &mut Vec<Intent>,
    ) {
        let (down, up, left, right, home, end) = ui.input(|i| {
            (
                i.key_pressed(Key::ArrowDown),
                i.key_pressed(Key::ArrowUp),
                i.key_pressed(Key::ArrowLeft),
                i.key_pressed(Key::ArrowRight),
                i.key_pressed(Key::Home),
                i.key_pressed(Key::End),
            )
        });
        let Some(current) = selected else {
            if down || up || home || end {
                intents.push(Intent::Select(Node::Root));
            }
            return;
        };
        let mut target = None;
        if down {
            target = Some((current + 1).min(items.len().saturating_sub(1)));
        } else if up {
            target = Some(current.saturating_sub(1));
        } else if home {
            target = Some(0);
        } else if end {
            target = Some(items.len().saturating_sub(1));
        } else if let Some(&item) = items.get(current) {
            let node = node_of(item, snapshot);
            let expandable = is_expandable(item, snapshot);
            if right && expandable {
                if self.expanded.contains(&node) {
                    target = Some(current + 1);
                } else {
                    self.expanded.insert(node);
                }
            } else if left {
                if expandable && self.expanded.contains(&node) {
                    self.expanded.remove(&node);
                } else {
                    target = items[..current].iter().rposition(|i| i.depth() < item.depth());
                }
            }
        }
        if let Some(item) = target.filter(|t| *t != current).and_then(|t| items.get(t)) {
            intents.push(Intent::Select(node_of(*item, snapshot)));
            self.scroll_to_selection = true;
        }
    }

    fn items(&self, snapshot: &Snapshot) -> Vec<Item> {
        let mut items = vec![Item::Root];
        if !self.expanded.contains(&Node::Root) {
            return items;
        }
        items.push(Item::PostOffices);
        if self.expanded.contains(&Node::PostOffices) {
            for (p, po) in snapshot.postoffices.iter().enumerate() {
                items.push(Item::PostOffice(p));
                if self.expanded.contains(&Node::PostOffice(po.name.clone())) {
                    let count = snapshot.rows(&po.name).map_or(0, |rows| rows.len());
                    items.extend((0..count).map(|m| Item::Mailbox(p, m)));
                }
            }
        }
        items.extend([Item::Providers, Item::Clients, Item::Admins, Item::Settings, Item::Reports, Item::Audit]);
        items
    }

    fn row_ui(
        &mut self,
        ui: &mut Ui,
        item: Item,
        snapshot: &Snapshot,
        root_label: &str,
        selected: &Node,
        intents: &mut Vec<Intent>,
    ) {
        let label = label_of(item, snapshot, root_label);
        let is_selected = is_node(item, selected, snapshot);
        let width = ui.available_width().max(ui.clip_rect().width());
        let (rect, response) = ui.allocate_exact_size(vec2(width, ROW_HEIGHT), Sense::click());
        response.widget_info(|| WidgetInfo::selected(Role::TreeItem, true, is_selected, &label));

        let indent = rect.left() + 4.0 + INDENT * item.depth() as f32;
        let expandable = is_expandable(item, snapshot);
        let node = node_of(item, snapshot);
        let expanded = self.expanded.contains(&node);
        let toggle_rect = Rect::from_center_size(pos2(indent + 6.0, rect.center().y), vec2(14.0, 14.0));
        let toggle = expandable.then(|| {
            let verb = if expanded { "Collapse" } else { "Expand" };
            let toggle = ui.interact(toggle_rect, response.id.with("toggle"), Sense::click());
            toggle.widget_info(|| WidgetInfo::labeled(Role::Button, true, format!("{verb} {label}")));
            toggle
        });

        if ui.is_rect_visible(rect) {
            let visuals = ui.visuals();
            if is_selected {
                ui.painter().rect_filled(rect, 2.0, visuals.selection.bg_fill);
            } else if response.hovered() {
                ui.painter().rect_filled(rect, 2.0, visuals.widgets.hovered.weak_bg_fill);
            }
            let text_color = if is_selected { visuals.selection.stroke.color } else { visuals.text_color() };
            if expandable {
                paint_triangle(ui, toggle_rect, expanded, text_color);
            }
            paint_icon(ui, item, pos2(indent + 20.0, rect.center().y));
            ui.painter().text(
                pos2(indent + 30.0, rect.center().y),
                Align2::LEFT_CENTER,
                &label,
                FontId::proportional(14.0),
                text_color,
            );
        }

        if toggle.as_ref().is_some_and(egui::Response::clicked) || (expandable && response.double_clicked()) {
            if expanded {
                self.expanded.remove(&node);
            } else {
                self.expanded.insert(node.clone());
            }
        }
        if response.clicked() || response.secondary_clicked() {
            intents.push(Intent::Select(node.clone()));
        }
        if matches!(item, Item::Mailbox(..))
            && response.double_clicked()
            && let Node::Mailbox(address) = &node
        {
            intents.push(Intent::Open(Window::MailboxProperties(address.clone())));
        }
        response.context_menu(|ui| actions::menu_ui(ui, &Target::for_node(&node, snapshot), intents));
    }
}

fn node_of(item: Item, snapshot: &Snapshot) -> Node {
    match item {
        Item::Root => Node::Root,
        Item::PostOffices => Node::PostOffices,
        Item::PostOffice(p) => {
            snapshot.postoffices.get(p).map_or(Node::PostOffices, |po| Node::PostOffice(po.name.clone()))
        }
        Item::Mailbox(p, m) => snapshot
            .postoffices
            .get(p)
            .and_then(|po| snapshot.rows(&po.name))
            .and_then(|rows| rows.get(m))
            .map_or(Node::PostOffices, |row| Node::Mailbox(row.address.clone())),
        Item::Providers => Node::Providers,
        Item::Clients => Node::Clients,
        Item::Admins => Node::Admins,
        Item::Settings => Node::Settings,
        Item::Reports => Node::Reports,
        Item::Audit => Node::Audit,
    }
}

fn is_node(item: Item, node: &Node, snapshot: &Snapshot) -> bool {
    match (item, node) {
        (Item::Root, Node::Root)
        | (Item::PostOffices, Node::PostOffices)
        | (Item::Providers, Node::Providers)
        | (Item::Clients, Node::Clients)
        | (Item::Admins, Node::Admins)
        | (Item::Settings, Node::Settings)
        | (Item::Reports, Node::Reports)
        | (Item::Audit, Node::Audit) => true,
        (Item::PostOffice(p), Node::PostOffice(name)) => snapshot.postoffices.get(p).is_some_and(|po| &po.name == name),
        (Item::Mailbox(p, m), Node::Mailbox(address)) => snapshot
            .postoffices
            .get(p)
            .filter(|po| po.name == address.postoffice)
            .and_then(|po| snapshot.rows(&po.name))
            .and_then(|rows| rows.get(m))
            .is_some_and(|row| &row.address == address),
        _ => false,
    }
}

fn is_expandable(item: Item, snapshot: &Snapshot) -> bool {
    match item {
        Item::Root | Item::PostOffices => true,
        Item::PostOffice(p) => snapshot.postoffices.get(p).is_some_and(|po| po.mailboxes > 0),
        _ => false,
    }
}

fn label_of(item: Item, snapshot: &Snapshot, root_label: &str) -> String {
    match item {
        Item::Root => root_label.to_owned(),
        Item::PostOffices => "Post Offices".to_owned(),
        Item::PostOffice(p) => snapshot.postoffices.get(p).map(|po| po.name.to_string()).unwrap_or_default(),
        Item::Mailbox(p, m) => snapshot
            .postoffices
            .get(p)
            .and_then(|po| snapshot.rows(&po.name))
            .and_then(|rows| rows.get(m))
            .map(|row| row.address.mailbox.to_string())
            .unwrap_or_default(),
        Item::Providers => "Challenge Providers".to_owned(),
        Item::Clients => "API Clients".to_owned(),
        Item::Admins => "Administrators".to_owned(),
        Item::Settings => "Settings".to_owned(),
        Item::Reports => "Reports".to_owned(),
        Item::Audit => "Audit Log".to_owned(),
    }
}

fn paint_triangle(ui: &Ui, rect: Rect, expanded: bool, color: egui::Color32) {
    let c = rect.center();
    let points = if expanded {
        vec![pos2(c.x - 4.0, c.y - 2.0), pos2(c.x + 4.0, c.y - 2.0), pos2(c.x, c.y + 3.0)]
    } else {
        vec![pos2(c.x - 2.0, c.y - 4.0), pos2(c.x + 3.0, c.y), pos2(c.x - 2.0, c.y + 4.0)]
    };
    ui.painter().add(Shape::convex_polygon(points, color, Stroke::NONE));
}

/// A small painted glyph per kind of node (no icon font needed).
fn paint_icon(ui: &Ui, item: Item, center: egui::Pos2) {
    let painter = ui.painter();
    let r = Rect::from_center_size(center, vec2(12.0, 10.0));
    match item {
        Item::Root => {
            painter.rect_filled(r, 2.0, egui::Color32::from_rgb(28, 86, 160));
            painter.rect_filled(r.shrink(3.0), 0.0, egui::Color32::WHITE);
        }
        Item::PostOffices | Item::PostOffice(_) => {
            let color = egui::Color32::from_rgb(214, 168, 62);
            painter.rect_filled(Rect::from_min_size(r.min - vec2(0.0, 1.5), vec2(5.0, 3.0)), 1.0, color);
            painter.rect_filled(r, 1.5, color);
        }
        Item::Mailbox(..) => {
            let stroke = Stroke::new(1.2, egui::Color32::from_rgb(90, 120, 170));
            painter.rect_stroke(r, 1.0, stroke, egui::StrokeKind::Inside);
            painter.line_segment([r.left_top(), r.center()], stroke);
            painter.line_segment([r.right_top(), r.center()], stroke);
        }
        Item::Providers => {
            painter.circle_filled(center, 5.0, egui::Color32::from_rgb(46, 160, 67));
        }
        Item::Clients => {
            let color = egui::Color32::from_rgb(150, 110, 40);
            painter.circle_stroke(pos2(center.x - 2.5, center.y), 3.0, Stroke::new(1.6, color));
            painter.line_segment(
                [pos2(center.x + 0.5, center.y), pos2(center.x + 6.0, center.y)],
                Stroke::new(1.6, color),
            );
            painter.line_segment(
                [pos2(center.x + 4.5, center.y), pos2(center.x + 4.5, center.y + 3.0)],
                Stroke::new(1.6, color),
            );
        }
        Item::Admins => {
            // A person: a head over shoulders.
            let color = egui::Color32::from_rgb(90, 110, 170);
            painter.circle_filled(pos2(center.x, center.y - 2.5), 2.5, color);
            painter.line_segment(
                [pos2(center.x - 4.5, center.y + 4.5), pos2(center.x + 4.5, center.y + 4.5)],
                Stroke::new(3.0, color),
            );
        }
        Item::Settings => {
            painter.circle_stroke(center, 4.5, Stroke::new(2.0, egui::Color32::GRAY));
        }
        Item::Reports => {
            for (i, h) in [4.0, 8.0, 6.0].into_iter().enumerate() {
                let x = r.left() + 1.5 + 3.5 * i as f32;
                painter.rect_filled(
                    Rect::from_min_max(pos2(x, r.bottom() - h), pos2(x + 2.5, r.bottom())),
                    0.0,
                    egui::Color32::from_rgb(70, 110, 180),
                );
            }
        }
        Item::Audit => {
            let stroke = Stroke::new(1.2, egui::Color32::GRAY);
            painter.rect_stroke(r.shrink2(vec2(1.5, -1.0)), 1.0, stroke, egui::StrokeKind::Inside);
            for dy in [-2.0, 0.5, 3.0] {
                painter
                    .line_segment([pos2(r.left() + 4.0, center.y + dy), pos2(r.right() - 4.0, center.y + dy)], stroke);
            }
        }
    }
}
