//! `mailmfa mailbox add|remove|list|show|set|reset|unlock|tap|recovery-codes|qr|passkeys|passkey-remove`.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::json;

use super::output::{Output, table, when};
use super::values::words;
use super::{CliError, CliResult};
use crate::domain::{
    Cell, Clearable, Configurer, EmailAddress, KnownLocation, LetterCode, MAILBOX_COLUMNS, MailProgramPolicy,
    MailPrograms, MailboxAddress, MailboxChallenge, PasskeyName, PhoneNumber, PostOfficeName, Provider, Vocabulary,
};
use crate::service::{IfExists, MailboxChanges, ResetParts, Service};

/// `mailmfa mailbox …`
#[derive(Debug, Subcommand)]
pub enum MailboxCommand {
    /// Create a mailbox in an existing post office.
    Add {
        /// mailbox@postoffice
        address: MailboxAddress,
    },
    /// Remove a mailbox.
    Remove {
        /// mailbox@postoffice
        address: MailboxAddress,
    },
    /// List mailboxes.
    List {
        /// Only this post office's mailboxes.
        #[arg(long, value_name = "NAME")]
        postoffice: Option<PostOfficeName>,
    },
    /// Show one mailbox's two-factor settings and state.
    Show {
        /// mailbox@postoffice
        address: MailboxAddress,
    },
    /// Change a mailbox's challenge mode, provider, SMS number, alternate address or mail-program
    /// policy.
    Set {
        #[command(flatten)]
        args: MailboxSetArgs,
        /// Whether its mail programs (IMAP, POP3, SMTP) may sign in with the mailbox password:
        /// password, app-passwords, enrolled (app passwords once it has its second factor), or
        /// inherit (its post office's).
        #[arg(long, value_name = "POLICY", value_parser = words::<MailPrograms>())]
        mail_programs: Option<MailPrograms>,
    },
    /// Reset the two factor code, the country exceptions, the remembered devices and/or the app
    /// passwords.
    Reset {
        /// mailbox@postoffice
        address: MailboxAddress,
        /// Forget the TOTP secret and the passkeys (and the remembered devices): the next login
        /// enrols again, with a new QR code or a new passkey.
        #[arg(long)]
        code: bool,
        /// Forget the known countries and IP addresses.
        #[arg(long)]
        countries: bool,
        /// Forget the devices the user asked to remember: each is challenged again.
        #[arg(long)]
        devices: bool,
        /// Remove every app password: each mail program needs a new one.
        #[arg(long)]
        app_passwords: bool,
    },
    /// Unlock a mailbox locked after failed codes.
    Unlock {
        /// mailbox@postoffice
        address: MailboxAddress,
    },
    /// Issue a temporary access pass (TAP) for a user who lost their device: ten letters that
    /// stand in for any code until they expire (or once), and clear the mailbox's lock. Shown once.
    Tap {
        /// mailbox@postoffice
        address: MailboxAddress,
        /// How long it works, from 10 minutes to 43200 (30 days).
        #[arg(long, default_value_t = 60, value_name = "N")]
        minutes: i64,
        /// It works for one login only.
        #[arg(long)]
        once: bool,
    },
    /// How many recovery codes the mailbox has left; with --new, issue a new set of ten (the old
    /// ones stop working) and show them once.
    RecoveryCodes {
        /// mailbox@postoffice
        address: MailboxAddress,
        /// Issue new codes, voiding the old.
        #[arg(long)]
        new: bool,
    },
    /// Write the enrolment QR code (PNG) of the mailbox's pending or active TOTP secret.
    Qr {
        /// mailbox@postoffice
        address: MailboxAddress,
        /// The PNG file to write.
        #[arg(long, value_name = "FILE.png")]
        out: PathBuf,
    },
    /// List the mailbox's passkeys and security keys (name, created, last used).
    Passkeys {
        /// mailbox@postoffice
        address: MailboxAddress,
    },
    /// Remove one of the mailbox's passkeys: signing in with it is refused from now on.
    PasskeyRemove {
        /// mailbox@postoffice
        address: MailboxAddress,
        /// The passkey's name, as `mailbox passkeys` lists it.
        name: PasskeyName,
    },
}

/// The options of `mailbox set` (and of `user set`).
#[derive(Debug, Args)]
pub struct MailboxSetArgs {
    /// mailbox@postoffice
    pub address: MailboxAddress,
    /// The challenge mode, or inherit the post office's.
    #[arg(long, value_name = "MODE", value_parser = words::<MailboxChallenge>())]
    pub challenge: Option<MailboxChallenge>,
    /// What delivers the codes.
    #[arg(long, value_name = "PROVIDER", value_parser = words::<Provider>())]
    pub provider: Option<Provider>,
    /// SMS number in E.164 form (+15551234567); "" clears it.
    #[arg(long, value_name = "E164")]
    pub sms_number: Option<Clearable<PhoneNumber>>,
    /// Alternate e-mail address for codes (not the mailbox itself); "" clears it.
    #[arg(long, value_name = "ADDRESS")]
    pub alt_email: Option<Clearable<EmailAddress>>,
}

/// Runs a `mailbox` command.
pub fn run(service: &Service, command: MailboxCommand) -> CliResult {
    match command {
        MailboxCommand::Add { address } => {
            service.add_mailbox(&address)?;
            Ok(Output::done(format!("Added mailbox {address}."), json!({"mailbox": address, "added": true})))
        }
        MailboxCommand::Remove { address } => {
            service.remove_mailbox(&address)?;
            Ok(Output::done(format!("Removed mailbox {address}."), json!({"mailbox": address, "removed": true})))
        }
        MailboxCommand::List { postoffice } => list(service, postoffice.as_ref()),
        MailboxCommand::Show { address } => show(service, &address),
        MailboxCommand::Set { args, mail_programs } => set(service, args, mail_programs, Configurer::Administrator),
        MailboxCommand::Reset { address, code, countries, devices, app_passwords } => {
            reset(service, &address, ResetParts { code, countries, devices, app_passwords })
        }
        MailboxCommand::Unlock { address } => {
            service.unlock(&address)?;
            Ok(Output::done(format!("Unlocked {address}."), json!({"mailbox": address, "unlocked": true})))
        }
        MailboxCommand::Tap { address, minutes, once } => {
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
        MailboxCommand::RecoveryCodes { address, new } => recovery_codes(service, &address, new),
        MailboxCommand::Qr { address, out } => {
            let state = service.write_enrolment_qr(&address, &out, IfExists::Refuse)?;
            Ok(Output::done(
                format!("Wrote the QR code of {address}'s {} TOTP secret to {}.", state.word(), out.display()),
                json!({"mailbox": address, "state": state, "file": out.display().to_string()}),
            ))
        }
        MailboxCommand::Passkeys { address } => passkeys(service, &address),
        MailboxCommand::PasskeyRemove { address, name } => {
            service.remove_passkey(&address, &name)?;
            Ok(Output::done(
                format!("Removed the passkey \"{name}\" of {address}."),
                json!({"address": address, "name": name, "removed": true}),
            ))
        }
    }
}

/// `mailbox passkeys`: one line per passkey, or all of them as JSON (never a key).
fn passkeys(service: &Service, address: &MailboxAddress) -> CliResult {
    let list = service.passkeys(address)?;
    let rows = list
        .iter()
        .map(|p| {
            vec![
                p.name.to_string(),
                when(p.created_at),
                p.last_used_at.map(when).unwrap_or_else(|| "never".to_owned()),
                p.aaguid.clone().unwrap_or_default(),
            ]
        })
        .collect::<Vec<_>>();
    Ok(Output::data(
        table(&["NAME", "CREATED", "LAST USED", "AAGUID"], &rows),
        json!({"address": address, "passkeys": list}),
    ))
}

/// `mailbox list`: the console's columns, with the words a script types.
fn list(service: &Service, postoffice: Option<&PostOfficeName>) -> CliResult {
    let list = service.mailboxes(postoffice)?;
    let rows = list
        .iter()
        .map(|m| {
            MAILBOX_COLUMNS
                .iter()
                .map(|column| match (column.cell)(m, Vocabulary::Words) {
                    Cell::Text(text) => text,
                    Cell::Time(time) => time.map(when).unwrap_or_default(),
                    Cell::Status(status) => status.to_string(),
                })
                .collect()
        })
        .collect::<Vec<_>>();
    let headers: Vec<String> = MAILBOX_COLUMNS.iter().map(|c| c.title.to_uppercase()).collect();
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    Ok(Output::data(table(&headers, &rows), Output::json_of(&list)?))
}

/// `mailbox reset`: what the service forgot, in a sentence.
fn reset(service: &Service, address: &MailboxAddress, parts: ResetParts) -> CliResult {
    if parts.is_empty() {
        return Err(CliError::usage("give --code, --countries, --devices and/or --app-passwords"));
    }
    let done = service.reset_mailbox(address, parts)?;
    let mut said = Vec::new();
    if done.code_reset {
        said.push("Reset the two factor code: the next login enrols again.".to_owned());
    }
    if let Some(n) = done.devices_forgotten {
        said.push(format!("Forgot {n} remembered device{}.", if n == 1 { "" } else { "s" }));
    }
    if let Some((countries, ips)) = done.places_forgotten {
        said.push(format!("Forgot {countries} known countries and {ips} known IP addresses."));
    }
    if let Some(n) = done.app_passwords_removed {
        said.push(format!("Removed {n} app password{}.", if n == 1 { "" } else { "s" }));
    }
    Ok(Output::done(
        format!("{address}: {}", said.join(" ")),
        json!({"mailbox": address, "code_reset": done.code_reset, "countries_reset": parts.countries,
               "forgotten": done.places_forgotten.map(|(countries, ips)| json!({"countries": countries, "ips": ips})),
               "devices_forgotten": done.devices_forgotten, "app_passwords_removed": done.app_passwords_removed}),
    ))
}

fn recovery_codes(service: &Service, address: &MailboxAddress, new: bool) -> CliResult {
    if new {
        let codes = service.new_recovery_codes(address)?;
        return Ok(Output::done(
            format!("New recovery codes for {address} (the old ones no longer work):\n{}", recovery_codes_text(&codes)),
            json!({"address": address, "recovery_codes": codes}),
        ));
    }
    let left = service.mailbox(address)?.recovery_codes_left;
    Ok(Output::done(
        format!(
            "{address} has {left} unused recovery code{}. `--new` issues ten new ones.",
            if left == 1 { "" } else { "s" }
        ),
        json!({"address": address, "recovery_codes_left": left}),
    ))
}

/// Recovery codes as a user copies them: two columns, and what they are for.
pub fn recovery_codes_text(codes: &[LetterCode]) -> String {
    let table = LetterCode::table(codes, 2);
    format!(
        "{}\nEach works once in place of a code if the phone is lost. They are not shown again: \
         keep them somewhere safe.",
        table.lines().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n")
    )
}

/// `mailbox show`: one line per fact, or all of them as JSON.
fn show(service: &Service, address: &MailboxAddress) -> CliResult {
    let d = service.mailbox(address)?;
    let r = &d.mailbox;
    let now = service.now();
    let locked_until = r.locked_for(now).and(r.locked_until).map(when);
    let values = |list: &[KnownLocation]| list.iter().map(|c| c.value.as_str()).collect::<Vec<_>>().join(", ");
    let lines = [
        ("Mailbox", r.address.to_string()),
        ("Challenge", challenge_cell(r.challenge, r.effective_challenge().word())),
        ("Provider", format!("{} ({})", r.provider, r.provider.label())),
        ("Status", r.status(now).to_string()),
        ("TOTP enrolment", r.enrolment.word().to_owned()),
        ("SMS number", r.sms_number.as_ref().map(ToString::to_string).unwrap_or_default()),
        ("Alternate e-mail", r.alt_email.as_ref().map(ToString::to_string).unwrap_or_default()),
        ("Failed attempts", r.failures.to_string()),
        ("Locked until", locked_until.clone().unwrap_or_default()),
        ("Access pass until", d.access_pass_until.map(when).unwrap_or_default()),
        ("Recovery codes left", d.recovery_codes_left.to_string()),
        ("Remembered devices", d.remembered_devices.to_string()),
        ("Mail programs", mail_programs_cell(r.mail_programs, d.mail_program_policy, d.password_in_mail_programs)),
        ("App passwords", d.app_passwords.len().to_string()),
        ("Passkeys", r.passkeys.to_string()),
        ("Last login", r.last_login.map(when).unwrap_or_default()),
        ("Known countries", values(&d.known_countries)),
        ("Known IP addresses", values(&d.known_ips)),
    ];
    let text: String = lines.iter().map(|(k, v)| format!("{k:<20} {v}\n")).collect();
    let seen = |list: &[KnownLocation], name: &str| {
        list.iter()
            .map(|k| json!({name: k.value, "first_seen": when(k.first_seen), "last_seen": when(k.last_seen)}))
            .collect::<Vec<_>>()
    };
    let value = json!({
        "address": r.address, "postoffice": r.address.postoffice, "challenge": r.challenge,
        "effective_challenge": r.effective_challenge(), "provider": r.provider, "status": r.status(now),
        "enrolment": r.enrolment, "sms_number": r.sms_number, "alt_email": r.alt_email, "failures": r.failures,
        "locked_until": locked_until, "last_login": r.last_login.map(when),
        "access_pass_until": d.access_pass_until.map(when),
        "recovery_codes_left": d.recovery_codes_left,
        "remembered_devices": d.remembered_devices,
        "mail_programs": r.mail_programs, "effective_mail_programs": d.mail_program_policy,
        "password_in_mail_programs": d.password_in_mail_programs, "app_passwords": d.app_passwords.len(), "passkeys": r.passkeys,
        "known_countries": seen(&d.known_countries, "country"), "known_ips": seen(&d.known_ips, "ip"),
    });
    Ok(Output::data(text, value))
}

/// A challenge setting as a table cell: the mode's word, and whether it is inherited.
fn challenge_cell(own: MailboxChallenge, effective: &str) -> String {
    match own {
        MailboxChallenge::Inherit => format!("{effective} (inherited)"),
        MailboxChallenge::Mode(_) => effective.to_owned(),
    }
}

/// A mail-program policy as a line of `mailbox show`: the policy in force, whether it is
/// inherited, and whether the mailbox password still opens the mailbox in mail programs.
fn mail_programs_cell(own: MailPrograms, effective: MailProgramPolicy, password: bool) -> String {
    let inherited = if own == MailPrograms::Inherit { " (inherited)" } else { "" };
    let open = if password { "mailbox password accepted" } else { "app passwords only" };
    format!("{effective}{inherited}: {open}")
}

/// `mailbox set` for administrators (who may also set the mail-program policy), `user set` for
/// end users.
pub fn set(service: &Service, args: MailboxSetArgs, mail_programs: Option<MailPrograms>, by: Configurer) -> CliResult {
    let address = args.address;
    let changes = MailboxChanges {
        challenge: args.challenge,
        provider: args.provider,
        sms_number: args.sms_number.map(|c| c.0),
        alt_email: args.alt_email.map(|c| c.0),
        mail_programs,
    };
    if changes.is_empty() {
        let also = if by == Configurer::Administrator { ", --mail-programs" } else { "" };
        return Err(CliError::usage(format!(
            "give at least one of --challenge, --provider, --sms-number, --alt-email{also}"
        )));
    }
    service.set_mailbox(&address, &changes, by)?;
    let r = service.mailbox(&address)?.mailbox;
    Ok(Output::done(
        format!(
            "{address}: challenge {}, provider {}.",
            challenge_cell(r.challenge, r.effective_challenge().word()),
            r.provider
        ),
        json!({"mailbox": address, "challenge": r.challenge, "effective_challenge": r.effective_challenge(),
               "provider": r.provider, "sms_number": r.sms_number, "alt_email": r.alt_email,
               "mail_programs": r.mail_programs}),
    ))
}
