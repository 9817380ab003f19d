//! Bulk import of post offices, mailboxes and policies from CSV with the header
//! `postoffice,mailbox,challenge,provider,sms_number,alt_email`. All or nothing: every row is
//! parsed first, then applied in one transaction; the first bad row aborts with its line number.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use super::admin::{check_destination, check_provider_choice};
use super::store::{StoreError, Tx};
use super::{ImportProblem, Service, ServiceError, ServiceResult};
use crate::domain::{
    ChallengeMode, Configurer, DomainError, EmailAddress, MailboxAddress, MailboxChallenge, MailboxName, PhoneNumber,
    PostOffice, PostOfficeId, PostOfficeName, Provider,
};

/// The columns, in the documented order.
pub const COLUMNS: [&str; 6] = ["postoffice", "mailbox", "challenge", "provider", "sms_number", "alt_email"];

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportSummary {
    /// Data rows read.
    pub rows: usize,
    /// Post offices created.
    pub postoffices_created: usize,
    /// Mailboxes created.
    pub mailboxes_created: usize,
    /// Existing mailboxes whose policy changed.
    pub mailboxes_updated: usize,
}

/// One parsed data row.
struct Row {
    line: u64,
    postoffice: PostOfficeName,
    target: Target,
}

enum Target {
    /// A row without a mailbox: the post office, with its default mode if given.
    PostOffice(Option<ChallengeMode>),
    /// A mailbox and the policy cells that were filled in.
    Mailbox {
        name: MailboxName,
        challenge: Option<MailboxChallenge>,
        provider: Option<Provider>,
        sms_number: Option<PhoneNumber>,
        alt_email: Option<EmailAddress>,
    },
}

fn cell<T: std::str::FromStr<Err = DomainError>>(raw: &str) -> Result<Option<T>, DomainError> {
    if raw.is_empty() { Ok(None) } else { raw.parse().map(Some) }
}

fn parse_row(line: u64, record: &csv::StringRecord, columns: &[usize; 6]) -> Result<Row, ImportProblem> {
    let get = |i: usize| record.get(columns[i]).unwrap_or("");
    let postoffice: PostOfficeName = get(0).parse()?;
    let mailbox_raw = get(1);
    let target = if mailbox_raw.is_empty() {
        if [3, 4, 5].iter().any(|&i| !get(i).is_empty()) {
            return Err(ImportProblem::CellsWithoutMailbox);
        }
        Target::PostOffice(cell(get(2))?)
    } else {
        let name = match mailbox_raw.rsplit_once('@') {
            Some((local, po)) => {
                let po: PostOfficeName = po.parse()?;
                if po != postoffice {
                    return Err(ImportProblem::WrongPostOffice { mailbox: mailbox_raw.to_owned(), postoffice });
                }
                local.parse()?
            }
            None => mailbox_raw.parse()?,
        };
        Target::Mailbox {
            name,
            challenge: cell(get(2))?,
            provider: cell(get(3))?,
            sms_number: cell(get(4))?,
            alt_email: cell(get(5))?,
        }
    };
    Ok(Row { line, postoffice, target })
}

/// The file's line number of a record (the csv crate's own line count skips blank lines, and its
/// record offsets point at the blank lines before a record).
struct LineIndex<'a> {
    bytes: &'a [u8],
    newlines: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, newlines: bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i).collect() }
    }

    fn line(&self, position: Option<&csv::Position>) -> u64 {
        position.map_or(0, |p| {
            let mut byte = usize::try_from(p.byte()).unwrap_or(usize::MAX).min(self.bytes.len());
            while self.bytes.get(byte).is_some_and(|b| *b == b'\n' || *b == b'\r') {
                byte += 1;
            }
            self.newlines.partition_point(|&newline| newline < byte) as u64 + 1
        })
    }
}

fn read_rows(mut input: impl Read) -> ServiceResult<Vec<Row>> {
    let mut bytes = Vec::new();
    input
        .read_to_end(&mut bytes)
        .map_err(|e| ServiceError::Import { line: 1, problem: ImportProblem::Csv(e.into()) })?;
    let lines = LineIndex::new(&bytes);
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(bytes.as_slice());
    let header_error = |problem: ImportProblem| ServiceError::Import { line: 1, problem };
    let headers = reader.headers().map_err(|e| header_error(ImportProblem::Header(e)))?.clone();
    if headers.is_empty() || headers.iter().all(str::is_empty) {
        return Err(header_error(ImportProblem::Empty));
    }
    let mut columns = [0usize; 6];
    for (slot, name) in columns.iter_mut().zip(COLUMNS) {
        *slot = headers
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
            .ok_or_else(|| header_error(ImportProblem::MissingColumn(name)))?;
    }
    if let Some(extra) = headers.iter().find(|h| !COLUMNS.iter().any(|c| c.eq_ignore_ascii_case(h))) {
        return Err(header_error(ImportProblem::UnknownColumn(extra.to_owned())));
    }
    if let Some(twice) = COLUMNS.iter().find(|c| headers.iter().filter(|h| h.eq_ignore_ascii_case(c)).count() > 1) {
        return Err(header_error(ImportProblem::DuplicateColumn(twice)));
    }
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = lines.line(record.position());
                if record.iter().all(str::is_empty) {
                    continue;
                }
                rows.push(
                    parse_row(line, &record, &columns).map_err(|problem| ServiceError::Import { line, problem })?,
                );
            }
            Err(e) => {
                let line = lines.line(e.position());
                let problem = match e.kind() {
                    csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                        ImportProblem::CellCount { expected: *expected_len, found: *len }
                    }
                    csv::ErrorKind::Utf8 { .. } => ImportProblem::Utf8,
                    _ => ImportProblem::Csv(e),
                };
                return Err(ServiceError::Import { line, problem });
            }
        }
    }
    Ok(rows)
}

impl Service {
    /// Imports the CSV file at `path` (see [`Service::import_csv`]).
    pub fn import_csv_file(&self, path: &Path) -> ServiceResult<ImportSummary> {
        let file = std::fs::File::open(path).map_err(|source| ServiceError::Io {
            action: "read",
            path: path.to_path_buf(),
            source,
        })?;
        self.import_csv(std::io::BufReader::new(file))
    }

    /// Imports a CSV file: creates missing post offices and mailboxes and applies the policies in
    /// the filled-in cells. Nothing changes unless every row is valid.
    pub fn import_csv(&self, input: impl Read) -> ServiceResult<ImportSummary> {
        let rows = read_rows(input)?;
        let now = self.now();
        self.audited("import", None, |tx| {
            let mut summary = ImportSummary { rows: rows.len(), ..ImportSummary::default() };
            let mut postoffices: HashMap<PostOfficeName, PostOfficeId> = HashMap::new();
            for row in &rows {
                let in_line = |e: ServiceError| match e {
                    ServiceError::Import { .. } => e,
                    ServiceError::Domain(e) => ServiceError::Import { line: row.line, problem: e.into() },
                    other => ServiceError::Import { line: row.line, problem: ImportProblem::Refused(Box::new(other)) },
                };
                apply_row(tx, row, now, &mut postoffices, &mut summary).map_err(in_line)?;
            }
            let detail = format!(
                "rows={} postoffices_created={} mailboxes_created={} mailboxes_updated={}",
                summary.rows, summary.postoffices_created, summary.mailboxes_created, summary.mailboxes_updated
            );
            Ok((summary, detail))
        })
    }
}

fn apply_row(
    tx: &Tx<'_>,
    row: &Row,
    now: i64,
    postoffices: &mut HashMap<PostOfficeName, PostOfficeId>,
    summary: &mut ImportSummary,
) -> ServiceResult<()> {
    let po_id = match postoffices.get(&row.postoffice) {
        Some(id) => *id,
        None => {
            let id = match tx.postoffice(&row.postoffice)? {
                Some(po) => po.id,
                None => {
                    summary.postoffices_created += 1;
                    tx.insert_postoffice(&row.postoffice, now)?
                        .ok_or_else(|| ServiceError::PostOfficeExists(row.postoffice.clone()))?
                }
            };
            postoffices.insert(row.postoffice.clone(), id);
            id
        }
    };
    match &row.target {
        Target::PostOffice(None) => Ok(()),
        Target::PostOffice(Some(mode)) => {
            let po = tx
                .postoffice(&row.postoffice)?
                .ok_or_else(|| StoreError::Corrupt(format!("post office {} vanished", row.postoffice)))?;
            tx.update_postoffice(&PostOffice { challenge: *mode, ..po })?;
            Ok(())
        }
        Target::Mailbox { name, challenge, provider, sms_number, alt_email } => {
            let address = MailboxAddress::new(name.clone(), row.postoffice.clone());
            let current = match tx.insert_mailbox(po_id, name, now)? {
                Some(id) => {
                    summary.mailboxes_created += 1;
                    (id, MailboxChallenge::Inherit, Provider::Totp, None, None, true)
                }
                None => {
                    let mb = tx
                        .mailbox(&address)?
                        .ok_or_else(|| StoreError::Corrupt(format!("mailbox {address} vanished")))?;
                    (mb.id, mb.challenge, mb.provider, mb.sms_number, mb.alt_email, false)
                }
            };
            let (id, old_challenge, old_provider, old_sms, old_alt, created) = current;
            let changed = challenge.is_some() || provider.is_some() || sms_number.is_some() || alt_email.is_some();
            if !changed {
                return Ok(());
            }
            let provider_new = provider.unwrap_or(old_provider);
            if provider.is_some() {
                check_provider_choice(tx, provider_new, Configurer::Administrator)?;
            }
            let sms = sms_number.clone().or(old_sms);
            let alt = alt_email.clone().or(old_alt);
            check_destination(&address, provider_new, sms.as_ref(), alt.as_ref())?;
            tx.update_mailbox_policy(id, challenge.unwrap_or(old_challenge), provider_new, sms.as_ref(), alt.as_ref())?;
            if !created {
                summary.mailboxes_updated += 1;
            }
            Ok(())
        }
    }
}
