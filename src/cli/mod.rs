//! The command line: parses arguments, calls the service, and prints a table, a sentence or JSON.
//! Exit status 0 on success, 1 for a refusal, 2 for bad input or any error (message on stderr).

mod args;
mod output;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::json;

pub use args::{Cli, Command};
use args::{
    ClientCommand, KeyCommand, LoginCommand, MailboxCommand, MailboxSetArgs, PostofficeCommand, ProviderCommand,
    ReportCommand, ServeArgs, SettingsCommand, StoreCommand, UserCommand,
};
use output::{Output, table, when};

use crate::domain::{
    BeginAnswer, ChallengeMode, Configurer, CoverageReport, DomainError, EmailAddress, KnownLocation, LetterCode,
    MailboxAddress, MailboxChallenge, PhoneNumber, PostOfficeName, Provider, Switch, VerifyAnswer,
};
use crate::service::{
    IfExists, KeyFolder, MailboxChanges, PostOfficeChanges, Service, ServiceError, StoreLocation, StoreMode,
};

/// A failed command: its exit status and one-line message.
#[derive(Debug)]
pub struct CliError {
    /// 1 for a refusal, 2 for anything else.
    pub status: u8,
    /// What went wrong.
    pub message: String,
}

impl From<ServiceError> for CliError {
    fn from(e: ServiceError) -> Self {
        let status = if e.is_refusal() { 1 } else { 2 };
        Self { status, message: one_line(&e.to_string()) }
    }
}

impl From<DomainError> for CliError {
    fn from(e: DomainError) -> Self {
        ServiceError::from(e).into()
    }
}

/// Keeps a message on one line, whatever a lower layer put in it.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

type CliResult = Result<Output, CliError>;

/// Runs one command (not the console) and prints its result; returns the exit status.
pub fn run(cli: Cli) -> ExitCode {
    let json = cli.json;
    let Some(command) = cli.command else {
        return ExitCode::from(2);
    };
    let location = match StoreLocation::resolve(cli.store.map(PathBuf::into_os_string), cli.shared) {
        Ok(location) => location,
        Err(e) => {
            output::print_error(&e.to_string());
            return ExitCode::from(2);
        }
    };
    match execute(command, &location) {
        Ok(out) => {
            let status = out.status();
            out.print(json);
            ExitCode::from(status)
        }
        Err(e) => {
            output::print_error(&e.message);
            ExitCode::from(e.status)
        }
    }
}

/// Opens the store at `location` with this machine's key folder.
pub fn open_service(location: &StoreLocation) -> Result<Service, CliError> {
    Ok(Service::open(location, &KeyFolder::default_location())?)
}

fn execute(command: Command, location: &StoreLocation) -> CliResult {
    if let Command::Key(KeyCommand::Import { file }) = &command {
        return key_import(location, file);
    }
    if let Command::Serve(args) = &command {
        return serve(location, args);
    }
    if let Command::Store(StoreCommand::Mode { mode }) = &command {
        let mode: StoreMode = parse(mode)?;
        // The store is opened as it is; the command is the explicit way to change its mode.
        let as_it_is = location.file().map_or_else(|| location.clone(), |path| StoreLocation::new(path, false));
        let mut service = open_service(&as_it_is)?;
        service.set_mode(mode)?;
        return Ok(Output::done(
            format!("The store {location} is now {mode}."),
            json!({"store": location.to_string(), "mode": mode.word()}),
        ));
    }
    if let Command::Store(StoreCommand::Copy { from, to, replace }) = &command {
        return copy_store(from, to, *replace);
    }
    let service = open_service(location)?;
    match command {
        Command::Postoffice(c) => postoffice(&service, c),
        Command::Mailbox(c) => mailbox(&service, c),
        Command::Provider(c) => provider(&service, c),
        Command::Settings(c) => settings(&service, c),
        Command::Import { file } => import(&service, &file),
        Command::Login(c) => login(&service, c),
        Command::User(UserCommand::Set(args)) => set_mailbox(&service, args, Configurer::EndUser),
        Command::Key(KeyCommand::Export { file }) => {
            service.export_key(&file, IfExists::Refuse)?;
            Ok(Output::done(
                format!(
                    "Wrote the store key to {}. Import it on the other server with `mailmfa key import`, then delete the file.",
                    file.display()
                ),
                json!({"exported": file.display().to_string(), "store_id": service.store_id()}),
            ))
        }
        Command::Client(c) => client(&service, c),
        Command::Key(KeyCommand::Import { .. }) | Command::Store(_) | Command::Serve(_) => {
            unreachable!("handled before the store is opened")
        }
        Command::Report(ReportCommand::Coverage { postoffice, csv }) => {
            coverage(&service, parse_opt(postoffice.as_deref())?.as_ref(), csv)
        }
        Command::Audit { mailbox, limit } => audit(&service, mailbox.as_deref(), limit),
    }
}

fn copy_store(from: &std::ffi::OsStr, to: &std::ffi::OsStr, replace: bool) -> CliResult {
    let from = StoreLocation::parse(from, false)?;
    let to = StoreLocation::parse(to, false)?;
    let summary = open_service(&from)?.copy_store(&to, &KeyFolder::default_location(), replace)?;
    let rows: Vec<Vec<String>> = summary.tables.iter().map(|(table, n)| vec![table.clone(), n.to_string()]).collect();
    let text = format!(
        "Copied {from} to {to} (store {}; the same key file opens it):\n{}",
        summary.store_id,
        output::table(&["TABLE", "ROWS"], &rows)
    );
    let tables: serde_json::Map<String, serde_json::Value> =
        summary.tables.iter().map(|(t, n)| (t.clone(), json!(n))).collect();
    Ok(Output::data(
        text,
        json!({"from": from.to_string(), "to": to.to_string(), "store_id": summary.store_id, "tables": tables}),
    ))
}

fn coverage(service: &Service, postoffice: Option<&PostOfficeName>, csv: bool) -> CliResult {
    let report = service.coverage(postoffice)?;
    let json = serde_json::to_value(&report).unwrap_or_default();
    if csv {
        return Ok(Output::data(report.to_csv(), json));
    }
    let cells = |name: &str, c: &crate::domain::CoverageCounts| {
        std::iter::once(name.to_owned()).chain(c.numbers().map(|n| n.to_string())).collect::<Vec<_>>()
    };
    let mut rows: Vec<Vec<String>> =
        report.postoffices.iter().map(|r| cells(r.postoffice.as_str(), &r.counts)).collect();
    rows.push(cells("(all)", &report.total));
    let headers: Vec<String> = CoverageReport::columns()
        .iter()
        .map(|word| if word == "postoffice" { "POST OFFICE".to_owned() } else { word.replace('_', " ").to_uppercase() })
        .collect();
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    Ok(Output::data(table(&headers, &rows), json))
}

fn parse<T: std::str::FromStr<Err = DomainError>>(raw: &str) -> Result<T, CliError> {
    raw.parse::<T>().map_err(CliError::from)
}

fn parse_opt<T: std::str::FromStr<Err = DomainError>>(raw: Option<&str>) -> Result<Option<T>, CliError> {
    raw.map(parse).transpose()
}

fn parse_switch(raw: Option<&str>) -> Result<Option<bool>, CliError> {
    Ok(parse_opt::<Switch>(raw)?.map(|s| s.0))
}

/// `Some("")` clears a value; anything else is parsed.
fn parse_clearable<T: std::str::FromStr<Err = DomainError>>(raw: Option<&str>) -> Result<Option<Option<T>>, CliError> {
    match raw {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(Some(None)),
        Some(s) => Ok(Some(Some(parse(s)?))),
    }
}

fn postoffice(service: &Service, command: PostofficeCommand) -> CliResult {
    match command {
        PostofficeCommand::Add { name } => {
            let name: PostOfficeName = parse(&name)?;
            service.add_postoffice(&name)?;
            Ok(Output::done(format!("Added post office {name}."), json!({"postoffice": name, "added": true})))
        }
        PostofficeCommand::Remove { name, with_mailboxes } => {
            let name: PostOfficeName = parse(&name)?;
            let removed = service.remove_postoffice(&name, with_mailboxes)?;
            Ok(Output::done(
                format!("Removed post office {name} and {removed} mailboxes."),
                json!({"postoffice": name, "removed": true, "mailboxes_removed": removed}),
            ))
        }
        PostofficeCommand::List => {
            let list = service.postoffices()?;
            let rows = list
                .iter()
                .map(|p| {
                    vec![
                        p.name.to_string(),
                        p.challenge.to_string(),
                        p.users_may_configure.to_string(),
                        crate::domain::join_networks(&p.trusted_networks),
                        p.mailboxes.to_string(),
                    ]
                })
                .collect::<Vec<_>>();
            let value = list
                .iter()
                .map(|p| {
                    json!({"name": p.name, "challenge": p.challenge, "users_may_configure": p.users_may_configure,
                           "trusted_networks": p.trusted_networks.iter().map(ToString::to_string).collect::<Vec<_>>(),
                           "mailboxes": p.mailboxes})
                })
                .collect::<Vec<_>>();
            Ok(Output::data(
                table(&["POST OFFICE", "CHALLENGE", "USERS MAY CONFIGURE", "TRUSTED NETWORKS", "MAILBOXES"], &rows),
                value.into(),
            ))
        }
        PostofficeCommand::Set { name, challenge, users_may_configure, trusted_networks } => {
            let name: PostOfficeName = parse(&name)?;
            let changes = PostOfficeChanges {
                challenge: parse_opt(challenge.as_deref())?,
                users_may_configure: parse_switch(users_may_configure.as_deref())?,
                trusted_networks: trusted_networks.as_deref().map(crate::domain::parse_networks).transpose()?,
            };
            if changes == PostOfficeChanges::default() {
                return Err(usage("give --challenge, --users-may-configure and/or --trusted-networks"));
            }
            service.set_postoffice(&name, &changes)?;
            let po = service.postoffice(&name)?;
            let trusted = crate::domain::join_networks(&po.trusted_networks);
            Ok(Output::done(
                format!(
                    "Post office {name}: challenge {}, users may configure: {}, trusted networks: {}.",
                    po.challenge,
                    po.users_may_configure,
                    if trusted.is_empty() { "none" } else { &trusted }
                ),
                json!({"postoffice": name, "challenge": po.challenge, "users_may_configure": po.users_may_configure,
                       "trusted_networks": po.trusted_networks.iter().map(ToString::to_string).collect::<Vec<_>>()}),
            ))
        }
    }
}

fn mailbox(service: &Service, command: MailboxCommand) -> CliResult {
    match command {
        MailboxCommand::Add { address } => {
            let address: MailboxAddress = parse(&address)?;
            service.add_mailbox(&address)?;
            Ok(Output::done(format!("Added mailbox {address}."), json!({"mailbox": address, "added": true})))
        }
        MailboxCommand::Remove { address } => {
            let address: MailboxAddress = parse(&address)?;
            service.remove_mailbox(&address)?;
            Ok(Output::done(format!("Removed mailbox {address}."), json!({"mailbox": address, "removed": true})))
        }
        MailboxCommand::List { postoffice } => {
            let po: Option<PostOfficeName> = parse_opt(postoffice.as_deref())?;
            let list = service.mailboxes(po.as_ref())?;
            let rows = list
                .iter()
                .map(|m| {
                    vec![
                        m.address.to_string(),
                        challenge_cell(m.challenge, m.effective_challenge),
                        m.provider.to_string(),
                        m.status.to_string(),
                        m.last_login.map(when).unwrap_or_default(),
                        m.known_countries.join(", "),
                    ]
                })
                .collect::<Vec<_>>();
            let value = list
                .iter()
                .map(|m| {
                    json!({
                        "address": m.address, "challenge": m.challenge, "effective_challenge": m.effective_challenge,
                        "provider": m.provider, "status": m.status, "last_login": m.last_login.map(when),
                        "known_countries": m.known_countries,
                    })
                })
                .collect::<Vec<_>>();
            Ok(Output::data(
                table(&["MAILBOX", "CHALLENGE", "PROVIDER", "STATUS", "LAST LOGIN", "KNOWN COUNTRIES"], &rows),
                value.into(),
            ))
        }
        MailboxCommand::Show { address } => show_mailbox(service, &parse(&address)?),
        MailboxCommand::Set(args) => set_mailbox(service, args, Configurer::Administrator),
        MailboxCommand::Reset { address, code, countries, devices } => {
            let address: MailboxAddress = parse(&address)?;
            if !code && !countries && !devices {
                return Err(usage("give --code, --countries and/or --devices"));
            }
            let mut said = Vec::new();
            if code {
                service.reset_two_factor_code(&address)?;
                said.push(
                    "Reset the two factor code (and forgot the remembered devices): the next login enrols again."
                        .to_owned(),
                );
            }
            let mut devices_forgotten = json!(null);
            if devices && !code {
                let n = service.forget_devices(&address)?;
                said.push(format!("Forgot {n} remembered device{}.", if n == 1 { "" } else { "s" }));
                devices_forgotten = json!(n);
            }
            let mut forgotten = json!(null);
            if countries {
                let (c, i) = service.reset_country_exceptions(&address)?;
                said.push(format!("Forgot {c} known countries and {i} known IP addresses."));
                forgotten = json!({"countries": c, "ips": i});
            }
            Ok(Output::done(
                format!("{address}: {}", said.join(" ")),
                json!({"mailbox": address, "code_reset": code, "countries_reset": countries, "forgotten": forgotten,
                       "devices_forgotten": devices_forgotten}),
            ))
        }
        MailboxCommand::Unlock { address } => {
            let address: MailboxAddress = parse(&address)?;
            service.unlock(&address)?;
            Ok(Output::done(format!("Unlocked {address}."), json!({"mailbox": address, "unlocked": true})))
        }
        MailboxCommand::Tap { address, minutes, once } => {
            let address: MailboxAddress = parse(&address)?;
            let issued = service.issue_access_pass(&address, minutes, once)?;
            let until = when(issued.expires_at);
            let pass = issued.pass.shown();
            Ok(Output::done(
                format!(
                    "Temporary access pass for {address}: {pass}\nIt works {} until {until}, in place of a code; \
                     give it to the user by a channel you trust. It is not shown again.",
                    if once { "for one login" } else { "for every login" }
                ),
                json!({"address": address, "tap": pass, "expires_at": until, "once": once}),
            ))
        }
        MailboxCommand::RecoveryCodes { address, new: true } => {
            let address: MailboxAddress = parse(&address)?;
            let codes = service.new_recovery_codes(&address)?;
            Ok(Output::done(
                format!(
                    "New recovery codes for {address} (the old ones no longer work):\n{}",
                    recovery_codes_text(&codes)
                ),
                json!({"address": address, "recovery_codes": codes}),
            ))
        }
        MailboxCommand::RecoveryCodes { address, new: false } => {
            let address: MailboxAddress = parse(&address)?;
            let left = service.mailbox(&address)?.recovery_codes_left;
            Ok(Output::done(
                format!(
                    "{address} has {left} unused recovery code{}. `--new` issues ten new ones.",
                    if left == 1 { "" } else { "s" }
                ),
                json!({"address": address, "recovery_codes_left": left}),
            ))
        }
        MailboxCommand::Qr { address, out } => {
            let address: MailboxAddress = parse(&address)?;
            let state = service.write_enrolment_qr(&address, &out, IfExists::Refuse)?;
            Ok(Output::done(
                format!("Wrote the QR code of {address}'s {} TOTP secret to {}.", state.word(), out.display()),
                json!({"mailbox": address, "state": state, "file": out.display().to_string()}),
            ))
        }
    }
}

/// Recovery codes as a user copies them: two columns, and what they are for.
fn recovery_codes_text(codes: &[LetterCode]) -> String {
    let table = LetterCode::table(codes, 2);
    format!(
        "{}\nEach works once in place of a code if the phone is lost. They are not shown again: \
         keep them somewhere safe.",
        table.lines().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n")
    )
}

fn challenge_cell(own: MailboxChallenge, effective: ChallengeMode) -> String {
    match own {
        MailboxChallenge::Inherit => format!("{effective} (inherited)"),
        MailboxChallenge::Mode(m) => m.to_string(),
    }
}

fn show_mailbox(service: &Service, address: &MailboxAddress) -> CliResult {
    let d = service.mailbox(address)?;
    let r = &d.mailbox;
    let now = service.now();
    let mut text = String::new();
    let mut line = |k: &str, v: String| text.push_str(&format!("{k:<20} {v}\n"));
    line("Mailbox", r.address.to_string());
    line("Challenge", challenge_cell(r.challenge, r.effective_challenge()));
    line("Provider", format!("{} ({})", r.provider, r.provider.label()));
    line("Status", r.status(now).to_string());
    line("TOTP enrolment", r.enrolment.word().to_owned());
    line("SMS number", r.sms_number.as_ref().map(ToString::to_string).unwrap_or_default());
    line("Alternate e-mail", r.alt_email.as_ref().map(ToString::to_string).unwrap_or_default());
    line("Failed attempts", r.failures.to_string());
    line("Locked until", r.locked_for(now).and(r.locked_until).map(when).unwrap_or_default());
    line("Access pass until", d.access_pass_until.map(when).unwrap_or_default());
    line("Recovery codes left", d.recovery_codes_left.to_string());
    line("Remembered devices", d.remembered_devices.to_string());
    line("Last login", r.last_login.map(when).unwrap_or_default());
    let values = |list: &[KnownLocation]| list.iter().map(|c| c.value.as_str()).collect::<Vec<_>>().join(", ");
    line("Known countries", values(&d.known_countries));
    line("Known IP addresses", values(&d.known_ips));
    let seen = |list: &[KnownLocation], name: &str| {
        list.iter()
            .map(|k| json!({name: k.value, "first_seen": when(k.first_seen), "last_seen": when(k.last_seen)}))
            .collect::<Vec<_>>()
    };
    let value = json!({
        "address": r.address, "postoffice": r.address.postoffice, "challenge": r.challenge,
        "effective_challenge": r.effective_challenge(), "provider": r.provider, "status": r.status(now),
        "enrolment": r.enrolment, "sms_number": r.sms_number, "alt_email": r.alt_email, "failures": r.failures,
        "locked_until": r.locked_for(now).and(r.locked_until).map(when), "last_login": r.last_login.map(when),
        "access_pass_until": d.access_pass_until.map(when),
        "recovery_codes_left": d.recovery_codes_left,
        "remembered_devices": d.remembered_devices,
        "known_countries": seen(&d.known_countries, "country"), "known_ips": seen(&d.known_ips, "ip"),
    });
    Ok(Output::data(text, value))
}

/// `mailbox set` for administrators, `user set` for end users.
pub(crate) fn set_mailbox(service: &Service, args: MailboxSetArgs, by: Configurer) -> CliResult {
    let address: MailboxAddress = parse(&args.address)?;
    let changes = MailboxChanges {
        challenge: parse_opt(args.challenge.as_deref())?,
        provider: parse_opt(args.provider.as_deref())?,
        sms_number: parse_clearable::<PhoneNumber>(args.sms_number.as_deref())?,
        alt_email: parse_clearable::<EmailAddress>(args.alt_email.as_deref())?,
    };
    if changes.is_empty() {
        return Err(usage("give at least one of --challenge, --provider, --sms-number, --alt-email"));
    }
    service.set_mailbox(&address, &changes, by)?;
    let r = service.mailbox(&address)?.mailbox;
    Ok(Output::done(
        format!(
            "{address}: challenge {}, provider {}.",
            challenge_cell(r.challenge, r.effective_challenge()),
            r.provider
        ),
        json!({"mailbox": address, "challenge": r.challenge, "effective_challenge": r.effective_challenge(),
               "provider": r.provider, "sms_number": r.sms_number, "alt_email": r.alt_email}),
    ))
}

fn login(service: &Service, command: LoginCommand) -> CliResult {
    match command {
        LoginCommand::Begin { address, ip, device_token } => {
            let answer = service.login_begin(&address, &ip, device_token.as_deref())?;
            let why = answer.reason().map(|r| format!(" ({})", r.describe())).unwrap_or_default();
            let text = match &answer {
                BeginAnswer::Allow { .. } => format!("Allow: no second factor needed{why}."),
                BeginAnswer::Challenge { provider, sent_to: Some(to), .. } => {
                    format!("Challenge: a code was sent by {} to {to}{why}.", provider.label())
                }
                BeginAnswer::Challenge { .. } => format!("Challenge: ask for the code from the TOTP app{why}."),
                BeginAnswer::Enroll { otpauth_uri, .. } => format!(
                    "Enroll: show the user this key as a QR code, then ask for the first code from the app{why}.\n{otpauth_uri}"
                ),
                BeginAnswer::Locked { retry_after_s, .. } => format!("Locked: try again in {retry_after_s} s{why}."),
                BeginAnswer::Refused { reason } => format!("Refused: {}.", reason.describe()),
            };
            let json = serde_json::to_value(&answer).unwrap_or_default();
            Ok(if answer.proceeds() { Output::done(text, json) } else { Output::refused(text, json) })
        }
        LoginCommand::Verify { address, ip, code, remember } => {
            let verified = service.login_verify(&address, &ip, &code, remember)?;
            let json = serde_json::to_value(&verified).unwrap_or_default();
            Ok(match verified.answer {
                VerifyAnswer::Accepted => {
                    let mut text = "Accepted.".to_owned();
                    if let Some(codes) = &verified.recovery_codes {
                        text += &format!("\n{}", recovery_codes_text(codes));
                    }
                    match (&verified.device_token, remember) {
                        (Some(token), _) => text += &format!("\nDevice remembered; its token: {token}"),
                        (None, true) => {
                            text += "\nThe device was not remembered (remember.days is 0, or this was an access pass)."
                        }
                        (None, false) => {}
                    }
                    Output::done(text, json)
                }
                VerifyAnswer::Rejected { reason } => Output::refused(format!("Rejected: {reason}."), json),
            })
        }
    }
}

fn provider(service: &Service, command: ProviderCommand) -> CliResult {
    match command {
        ProviderCommand::Test { provider, to } => {
            let provider: Provider = parse(&provider)?;
            let test = service.send_test(provider, &to)?;
            let destination = test.destination();
            Ok(Output::done(
                format!("Sent a test message by {} to {destination}.", provider.label()),
                json!({"provider": provider, "to": destination, "sent": true}),
            ))
        }
        ProviderCommand::List => {
            let list = service.providers()?;
            let rows = list
                .iter()
                .map(|(p, s)| {
                    vec![
                        p.to_string(),
                        p.label().to_owned(),
                        s.enabled.to_string(),
                        s.admin_configurable.to_string(),
                        s.user_configurable.to_string(),
                    ]
                })
                .collect::<Vec<_>>();
            let value = list
                .iter()
                .map(|(p, s)| json!({"provider": p, "label": p.label(), "enabled": s.enabled, "admin_configurable": s.admin_configurable, "user_configurable": s.user_configurable}))
                .collect::<Vec<_>>();
            Ok(Output::data(
                table(&["PROVIDER", "NAME", "ENABLED", "ADMINS MAY CONFIGURE", "USERS MAY CONFIGURE"], &rows),
                value.into(),
            ))
        }
        ProviderCommand::Set { provider, enabled, admin_configurable, user_configurable } => {
            let provider: Provider = parse(&provider)?;
            let enabled = parse_switch(enabled.as_deref())?;
            let admin = parse_switch(admin_configurable.as_deref())?;
            let user = parse_switch(user_configurable.as_deref())?;
            if enabled.is_none() && admin.is_none() && user.is_none() {
                return Err(usage("give --enabled, --admin-configurable and/or --user-configurable"));
            }
            let s = service.set_provider(provider, enabled, admin, user)?;
            Ok(Output::done(
                format!(
                    "Provider {provider}: enabled {}, administrators may configure {}, users may configure {}.",
                    s.enabled, s.admin_configurable, s.user_configurable
                ),
                json!({"provider": provider, "enabled": s.enabled, "admin_configurable": s.admin_configurable, "user_configurable": s.user_configurable}),
            ))
        }
    }
}

fn settings(service: &Service, command: SettingsCommand) -> CliResult {
    match command {
        SettingsCommand::Show => {
            let list = service.settings()?;
            let rows = list
                .iter()
                .map(|s| {
                    vec![
                        s.def.key.to_owned(),
                        s.shown.clone(),
                        if s.is_set { "" } else { "(default)" }.to_owned(),
                        s.def.help.to_owned(),
                    ]
                })
                .collect::<Vec<_>>();
            let value: serde_json::Map<String, serde_json::Value> =
                list.iter().map(|s| (s.def.key.to_owned(), json!(s.shown))).collect();
            Ok(Output::data(table(&["KEY", "VALUE", "", "MEANING"], &rows), value.into()))
        }
        SettingsCommand::Set { key, value } => {
            service.set_setting(&key, &value)?;
            let shown =
                service.settings()?.into_iter().find(|s| s.def.key == key.trim()).map(|s| s.shown).unwrap_or_default();
            Ok(Output::done(format!("Set {} = {shown}.", key.trim()), json!({"key": key.trim(), "value": shown})))
        }
    }
}

fn import(service: &Service, file: &Path) -> CliResult {
    let s = service.import_csv_file(file)?;
    Ok(Output::done(
        format!(
            "Imported {} rows: {} post offices and {} mailboxes created, {} mailboxes updated.",
            s.rows, s.postoffices_created, s.mailboxes_created, s.mailboxes_updated
        ),
        serde_json::to_value(s).unwrap_or_default(),
    ))
}

fn key_import(location: &StoreLocation, file: &Path) -> CliResult {
    let (service, written) = Service::import_key(location, &KeyFolder::default_location(), file)?;
    Ok(Output::done(
        format!("Installed the store key at {}. Delete {} now.", written.display(), file.display()),
        json!({"imported": true, "key_file": written.display().to_string(), "store_id": service.store_id()}),
    ))
}

fn audit(service: &Service, mailbox: Option<&str>, limit: usize) -> CliResult {
    let mailbox: Option<MailboxAddress> = parse_opt(mailbox)?;
    let list = service.audit(mailbox.as_ref(), limit)?;
    let rows = list
        .iter()
        .map(|a| {
            vec![
                when(a.at),
                a.actor.clone(),
                a.mailbox.clone().unwrap_or_default(),
                a.action.clone(),
                a.ip.clone().unwrap_or_default(),
                a.country.clone().unwrap_or_default(),
                a.outcome.clone(),
                a.detail.clone().unwrap_or_default(),
            ]
        })
        .collect::<Vec<_>>();
    let value = list
        .iter()
        .map(|a| {
            json!({"id": a.id, "at": when(a.at), "actor": a.actor, "mailbox": a.mailbox, "action": a.action,
                   "ip": a.ip, "country": a.country, "outcome": a.outcome, "detail": a.detail})
        })
        .collect::<Vec<_>>();
    Ok(Output::data(
        table(&["TIME", "ACTOR", "MAILBOX", "ACTION", "IP", "COUNTRY", "OUTCOME", "DETAIL"], &rows),
        value.into(),
    ))
}

fn serve(location: &StoreLocation, args: &ServeArgs) -> CliResult {
    let listen = match &args.listen {
        Some(raw) => Some(raw.trim().parse().map_err(|_| usage(&format!("--listen {raw:?} is not address:port")))?),
        None => None,
    };
    let options = crate::serve::ServeOptions { listen, max_batch: args.max_batch };
    let keys = KeyFolder::default_location();
    if args.windows_service {
        return windows_service(location, keys, options);
    }
    let announce = |addr: std::net::SocketAddr, https: bool| {
        let scheme = if https { "https" } else { "http" };
        output::print_note(&format!("listening on {scheme}://{addr} (Ctrl-C stops)"));
    };
    crate::serve::run(location, &keys, &options, crate::serve::shutdown_signal(), announce)
        .map_err(|e| CliError { status: 2, message: one_line(&e.to_string()) })?;
    Ok(Output::done("Stopped.".to_owned(), json!({"stopped": true})))
}

#[cfg(windows)]
fn windows_service(location: &StoreLocation, keys: KeyFolder, options: crate::serve::ServeOptions) -> CliResult {
    crate::serve::windows::run(location.clone(), keys, options)
        .map_err(|e| CliError { status: 2, message: one_line(&e.to_string()) })?;
    Ok(Output::done("Stopped.".to_owned(), json!({"stopped": true})))
}

#[cfg(not(windows))]
fn windows_service(_: &StoreLocation, _: KeyFolder, _: crate::serve::ServeOptions) -> CliResult {
    Err(usage("--windows-service runs only on Windows, under the service manager; on Linux use a systemd unit"))
}

fn client(service: &Service, command: ClientCommand) -> CliResult {
    match command {
        ClientCommand::Add { name, allow, return_url } => {
            let allow = crate::domain::parse_networks(allow.as_deref().unwrap_or(""))?;
            let return_urls = crate::domain::parse_url_prefixes(return_url.as_deref().unwrap_or(""))?;
            let (client, key) = service.add_client(&name, &allow, &return_urls)?;
            Ok(Output::done(
                format!(
                    "Created the API client {}. Its key, shown only now:\n{}\nGive it to the webmail as Authorization: Bearer KEY.",
                    client.name,
                    key.0.as_str()
                ),
                json!({"name": client.name, "key": key.0.as_str(), "allow": client.allow, "return_urls": client.return_urls}),
            ))
        }
        ClientCommand::List => {
            let list = service.clients()?;
            let rows = list
                .iter()
                .map(|c| {
                    vec![
                        c.name.clone(),
                        if c.allow.is_empty() { "any".to_owned() } else { c.allow.join(", ") },
                        c.return_urls.join(", "),
                        when(c.created_at),
                        c.last_used.map(when).unwrap_or_else(|| "never".to_owned()),
                    ]
                })
                .collect::<Vec<_>>();
            let value = list
                .iter()
                .map(|c| {
                    json!({"name": c.name, "allow": c.allow, "return_urls": c.return_urls,
                           "created": when(c.created_at), "last_used": c.last_used.map(when)})
                })
                .collect::<Vec<_>>();
            Ok(Output::data(
                table(&["CLIENT", "ALLOWED FROM", "RETURN URLS", "CREATED", "LAST USED"], &rows),
                value.into(),
            ))
        }
        ClientCommand::Remove { name } => {
            service.remove_client(&name)?;
            Ok(Output::done(format!("Removed the API client {name}."), json!({"name": name, "removed": true})))
        }
    }
}

fn usage(message: &str) -> CliError {
    CliError { status: 2, message: message.to_owned() }
}
