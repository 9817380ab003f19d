//! The hosted sign-in pages' side of the front door (docs/DESIGN.md §9): a webmail starts a sign-in
//! with a return URL its client may use; the browser completes it on mailmfa's pages (enrol, code,
//! resend, passkey, locked, expired); the webmail redeems the ticket the browser brings back — once,
//! within a minute, and only the client that asked for it.
//!
//! A passkey mailbox's page runs the WebAuthn ceremony of its login transaction for the hosted
//! pages' own origin (`serve.public_url`): each page shown begins a new one (a new challenge, the
//! one before void), and the form answers it once.

use base64::Engine as _;
use zeroize::Zeroizing;

use super::api::{ApiRequest, CallContext, Done};
use super::engine;
use super::login::{CodeDelivery, LoginStart, parse_held, parse_login, shown};
use super::store::{ClientRow, SigninRow, TicketRow, Tx};
use super::{Service, ServiceError, ServiceResult};
use crate::domain::{
    Actor, BeginAnswer, EnrolmentState, LetterCode, LoginIp, MailboxAddress, MailboxStatus, Passcode, Provider,
    Purpose, Reason, RejectReason, Verified, VerifyAnswer, constant_time_eq, totp,
};

/// How long a ticket may wait to be redeemed.
const TICKET_SECONDS: i64 = 60;
/// How long the ticket lasts behind the page that shows new recovery codes: time to write them
/// down before going on.
const TICKET_SECONDS_WITH_CODES: i64 = 600;

/// A request of a sign-in page.
#[derive(Debug, Clone)]
pub enum PageRequest {
    /// Show the page.
    View {
        /// The sign-in.
        signin: String,
        /// The tokens the browser was remembered with (its cookie), one per mailbox.
        device: Vec<String>,
    },
    /// The code form.
    Code {
        /// The sign-in.
        signin: String,
        /// The form's token.
        csrf: String,
        /// The code typed.
        code: String,
        /// "Remember this device" was ticked.
        remember: bool,
    },
    /// The passkey form: the browser's answer to the page's ceremony.
    Passkey {
        /// The sign-in.
        signin: String,
        /// The form's token.
        csrf: String,
        /// The browser's `credential.toJSON()`, as JSON text.
        webauthn: String,
        /// "Remember this device" was ticked.
        remember: bool,
    },
    /// The "send a new code" form.
    Resend {
        /// The sign-in.
        signin: String,
        /// The form's token.
        csrf: String,
    },
}

/// Why a sign-in page shows a message over its form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageNote {
    /// The code was wrong (or already used).
    WrongCode,
    /// The code is not six digits.
    BadCode,
    /// The code expired; a new one can be sent.
    ExpiredCode,
    /// A new code was sent.
    Resent,
    /// No new code: too many were sent in the last hour.
    SendLimit,
    /// The form was not this page's (a stale page or a forged request).
    StaleForm,
    /// The passkey's answer was refused (another passkey, an old challenge, a failed check).
    PasskeyRefused,
}

/// What a sign-in page shows, or where it sends the browser.
#[derive(Debug)]
pub enum PageAnswer {
    /// Scan this QR code (or type the secret), then type the first code.
    Enrol {
        /// The page's details.
        page: PageFacts,
        /// The `otpauth://` URI the QR code carries.
        otpauth_uri: Zeroizing<String>,
        /// The secret in groups of four, for typing into an app by hand.
        secret_groups: Zeroizing<String>,
    },
    /// Type the code from the app, or the one just sent.
    Code {
        /// The page's details.
        page: PageFacts,
        /// Where the code comes from.
        provider: Provider,
        /// Where a sent code went (masked).
        sent_to: Option<String>,
    },
    /// Create a passkey (`create`), or sign in with one: the page's script runs the ceremony.
    Passkey {
        /// The page's details.
        page: PageFacts,
        /// The options for `parseCreationOptionsFromJSON` or `parseRequestOptionsFromJSON`.
        options: serde_json::Value,
        /// Whether the ceremony creates the mailbox's first passkey (else it signs in with one).
        create: bool,
    },
    /// Too many wrong codes: come back later.
    Locked {
        /// The mailbox.
        address: String,
        /// Seconds until the lock ends.
        retry_after_s: i64,
    },
    /// The sign-in ended or never was.
    Expired,
    /// Done: send the browser back to the webmail with its ticket, or first show the recovery
    /// codes that the completed enrolment brought, once.
    Done {
        /// The return URL with `mailmfa_ticket` added.
        redirect: String,
        /// New recovery codes to show before going on.
        recovery_codes: Option<IssuedRecoveryCodes>,
        /// A device to remember in the browser (its token), and for how many days.
        remember: Option<(String, i64)>,
    },
}

/// What a sign-in page's form answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondStep {
    /// A code: from an app, sent, a recovery code or an access pass.
    Code,
    /// A passkey.
    Passkey,
}

/// Recovery codes issued by the enrolment a sign-in completed, and what enrolled.
#[derive(Debug)]
pub struct IssuedRecoveryCodes {
    /// The codes, shown once.
    pub codes: Vec<LetterCode>,
    /// What the mailbox enrolled with (an authenticator app's code, or a passkey): the codes
    /// stand in for it.
    pub after: SecondStep,
}

/// A page to show, and what the engine said of the code typed into it, if one was checked.
#[derive(Debug)]
pub struct PageShown {
    /// The page.
    pub answer: PageAnswer,
    /// The code's check, when the request was a code form with a code of the right shape.
    pub verified: Option<VerifyAnswer>,
}

impl From<PageAnswer> for PageShown {
    fn from(answer: PageAnswer) -> Self {
        Self { answer, verified: None }
    }
}

/// What every form page knows.
#[derive(Debug, Clone)]
pub struct PageFacts {
    /// The sign-in (the page's address).
    pub signin: String,
    /// The mailbox.
    pub address: String,
    /// The token its forms carry.
    pub csrf: String,
    /// A message over the form.
    pub note: Option<PageNote>,
    /// The scheme, host and port of the return URL (the forms' CSP lets them go there).
    pub return_origin: String,
    /// For how many days the browser may be remembered (0: the choice is not offered).
    pub remember_days: i64,
}

/// `POST /v1/signin`: a login that the hosted pages complete.
#[derive(Debug, Clone)]
pub struct SigninRequest {
    /// The mailbox, as sent.
    pub address: String,
    /// The login's IP address, as sent.
    pub ip: String,
    /// Where the browser goes back to, with a ticket.
    pub return_url: String,
}

/// What `POST /v1/signin` decided, and the sign-in whose pages complete it (unless it is `allow`).
#[derive(Debug)]
pub struct SigninStarted {
    /// The decision.
    pub answer: BeginAnswer,
    /// The sign-in's id: its page is `/signin/{id}`.
    pub signin: Option<String>,
}

impl ApiRequest for SigninRequest {
    type Answer = SigninStarted;

    fn action(&self) -> &'static str {
        "signin.begin"
    }

    fn subject(&self) -> (Option<String>, Option<String>) {
        (Some(shown(&self.address)), None)
    }

    fn run(&self, cx: &CallContext<'_>) -> ServiceResult<Done<SigninStarted>> {
        let (answer, signin, delivery) =
            cx.service.start_signin(cx.tx, cx.client()?, &self.address, &self.ip, &self.return_url)?;
        Ok(Done { answer: SigninStarted { answer, signin }, delivery })
    }
}

/// `POST /v1/signin/redeem`: the ticket a browser brought back, and the sign-in the webmail
/// started for it — a ticket of another sign-in (another user's, say) is refused.
#[derive(Debug, Clone)]
pub struct RedeemRequest {
    /// The ticket.
    pub ticket: String,
    /// The sign-in `POST /v1/signin` answered with.
    pub signin_id: String,
}

impl ApiRequest for RedeemRequest {
    /// The mailbox the ticket vouches for, or `None` for one unknown, used or expired.
    type Answer = Option<MailboxAddress>;

    fn action(&self) -> &'static str {
        "signin.redeem"
    }

    fn run(&self, cx: &CallContext<'_>) -> ServiceResult<Done<Option<MailboxAddress>>> {
        Ok(Done::only(cx.service.redeem_ticket(cx.tx, cx.client()?, &self.signin_id, &self.ticket)?))
    }

    fn guessed_wrong(answer: &Option<MailboxAddress>) -> bool {
        answer.is_none()
    }
}

impl ApiRequest for PageRequest {
    type Answer = PageShown;

    fn action(&self) -> &'static str {
        "signin.page"
    }

    fn needs_client(&self) -> bool {
        false
    }

    fn run(&self, cx: &CallContext<'_>) -> ServiceResult<Done<PageShown>> {
        let (answer, delivery) = cx.service.signin_page(cx.tx, self)?;
        Ok(Done { answer, delivery })
    }
}

impl Service {
    /// Starts a sign-in: the decision and, unless it is `allow`, the sign-in whose pages complete it.
    fn start_signin(
        &self,
        tx: &Tx<'_>,
        client: &ClientRow,
        address: &str,
        ip: &str,
        return_url: &str,
    ) -> ServiceResult<(BeginAnswer, Option<String>, Option<CodeDelivery>)> {
        let allowed = client.return_urls.split(',').filter(|p| !p.is_empty()).any(|p| url_within(return_url, p));
        if !allowed {
            return Err(ServiceError::ReturnUrlRefused(return_url.chars().take(200).collect()));
        }
        let (address, ip) = parse_login(address, ip)?;
        super::api::in_scope(client, &address)?;
        let LoginStart { answer, delivery } =
            self.decide_login_in(tx, &user(&address), &address, ip, None, Purpose::Login)?;
        if answer.provider() == Some(Provider::Passkey) {
            // The page could not run the ceremony: say so to the webmail now, not to the user.
            self.hosted_relying_party(tx)?;
        }
        let Some(transaction) = self.open_transaction(tx, client, (&address, ip), &answer, Purpose::Login)? else {
            return Ok((answer, None, delivery));
        };
        let now = self.now();
        let row = SigninRow {
            id: self.random_hex(16)?,
            client_id: client.id.clone(),
            transaction_id: transaction.transaction_id,
            mailbox: address.to_string(),
            return_url: return_url.to_owned(),
            csrf: self.random_hex(16)?,
            expires_at: now + transaction.expires_in,
        };
        tx.insert_signin(&row, now)?;
        // The code goes out when the page is first opened: a browser remembered for the mailbox
        // then needs none, and gets none.
        if let Some(delivery) = delivery {
            let sealed = tx.key().seal(&held_context(&row.id), delivery.held().as_bytes())?;
            tx.hold_signin_code(&row.id, &sealed)?;
        }
        Ok((answer, Some(row.id), None))
    }

    /// Whether one of a browser's tokens is of a device the mailbox remembered (the login is then
    /// recorded and audited as accepted).
    fn remembered_browser(
        &self,
        tx: &Tx<'_>,
        address: &MailboxAddress,
        ip: LoginIp,
        tokens: &[String],
    ) -> ServiceResult<bool> {
        for token in tokens {
            if self.remembered_device_in(tx, &user(address), address, ip, token)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The code a sign-in held back, unsealed, if it still holds one (given out once).
    fn take_held_code(&self, tx: &Tx<'_>, signin: &SigninRow) -> ServiceResult<Option<Zeroizing<String>>> {
        let Some(sealed) = tx.take_signin_code(&signin.id)? else { return Ok(None) };
        let opened = tx.key().open(&held_context(&signin.id), &sealed)?;
        Ok(std::str::from_utf8(&opened).ok().map(|text| Zeroizing::new(text.to_owned())))
    }

    /// The mailbox a ticket vouches for: once, within its lifetime, for the client and the
    /// sign-in that asked for it.
    fn redeem_ticket(
        &self,
        tx: &Tx<'_>,
        client: &ClientRow,
        signin_id: &str,
        ticket: &str,
    ) -> ServiceResult<Option<MailboxAddress>> {
        let hash = tx.key().code_hash(TICKET_CONTEXT, ticket);
        let mailbox = tx.take_ticket(&hash, &client.id, signin_id, self.now())?;
        Ok(mailbox.map(|m| m.parse()).transpose()?)
    }

    /// A sign-in page, or one of its forms.
    fn signin_page(&self, tx: &Tx<'_>, request: &PageRequest) -> ServiceResult<(PageShown, Option<CodeDelivery>)> {
        let now = self.now();
        let id = match request {
            PageRequest::View { signin, .. }
            | PageRequest::Code { signin, .. }
            | PageRequest::Passkey { signin, .. }
            | PageRequest::Resend { signin, .. } => signin,
        };
        let Some(signin) = tx.signin(id, now)? else { return Ok((PageAnswer::Expired.into(), None)) };
        let forged = match request {
            PageRequest::View { .. } => false,
            PageRequest::Code { csrf, .. } | PageRequest::Passkey { csrf, .. } | PageRequest::Resend { csrf, .. } => {
                !constant_time_eq(csrf.as_bytes(), signin.csrf.as_bytes())
            }
        };
        if forged {
            return Ok((self.page_of(tx, &signin, Some(PageNote::StaleForm))?.into(), None));
        }
        let Some(transaction) = tx.transaction(&signin.transaction_id, now)? else {
            tx.end_signin(&signin.id)?;
            return Ok((PageAnswer::Expired.into(), None));
        };
        let (address, ip) = parse_login(&transaction.mailbox, &transaction.ip)?;
        match request {
            PageRequest::View { device, .. } if self.remembered_browser(tx, &address, ip, device)? => {
                // The code held for this sign-in is not needed: it is voided unsent, and does not
                // count against the send limit.
                if let Some(pending) = self.take_held_code(tx, &signin)?.and_then(|held| parse_held(&held)) {
                    engine::withdraw_code(tx, &pending)?;
                }
                let redirect = self.complete_signin(tx, &signin, &transaction.id, TICKET_SECONDS)?;
                Ok((PageAnswer::Done { redirect, recovery_codes: None, remember: None }.into(), None))
            }
            PageRequest::View { .. } => {
                let delivery = match self.take_held_code(tx, &signin)? {
                    Some(held) => self.held_delivery(tx, &user(&address), &address, ip, &held)?,
                    None => None,
                };
                Ok((self.page_of(tx, &signin, None)?.into(), delivery))
            }
            PageRequest::Code { code, remember, .. } => {
                let Ok(code) = code.trim().parse::<Passcode>() else {
                    return Ok((self.page_of(tx, &signin, Some(PageNote::BadCode))?.into(), None));
                };
                let verified = self.verify_login_in(tx, &user(&address), &address, ip, &code, *remember)?;
                Ok((self.checked_on_page(tx, &signin, &transaction.id, verified, SecondStep::Code)?, None))
            }
            PageRequest::Passkey { webauthn, remember, .. } => {
                // Text that is not JSON is answered as a malformed response: refused and counted.
                let response = serde_json::from_str(webauthn).unwrap_or(serde_json::Value::Null);
                let login = (&address, ip);
                let verified =
                    self.verify_passkey_in(tx, &user(&address), login, &transaction.id, &response, *remember)?;
                Ok((self.checked_on_page(tx, &signin, &transaction.id, verified, SecondStep::Passkey)?, None))
            }
            PageRequest::Resend { .. } => {
                let LoginStart { answer, delivery } =
                    self.decide_login_in(tx, &user(&address), &address, ip, None, Purpose::Login)?;
                let note = match answer {
                    BeginAnswer::Challenge { sent_to: Some(_), .. } => {
                        let until = now + self.login_lifetime(tx)?;
                        tx.extend_transaction(&transaction.id, until)?;
                        Some(PageNote::Resent)
                    }
                    BeginAnswer::Locked { reason: Some(Reason::SendLimit), .. } => Some(PageNote::SendLimit),
                    _ => None,
                };
                Ok((self.page_of(tx, &signin, note)?.into(), delivery))
            }
        }
    }

    /// What a checked form comes to: accepted, the sign-in is complete (with the recovery codes
    /// an enrolment brought: an app's first code, or a first passkey); else the page again, saying
    /// what was wrong.
    fn checked_on_page(
        &self,
        tx: &Tx<'_>,
        signin: &SigninRow,
        transaction: &str,
        verified: Verified,
        answered: SecondStep,
    ) -> ServiceResult<PageShown> {
        let answer = match verified.answer {
            VerifyAnswer::Accepted => {
                let lifetime =
                    if verified.recovery_codes.is_some() { TICKET_SECONDS_WITH_CODES } else { TICKET_SECONDS };
                let redirect = self.complete_signin(tx, signin, transaction, lifetime)?;
                let days = self.world.current(tx)?.settings.remember_days;
                let remember = verified.device_token.map(|token| (token, days));
                let recovery_codes =
                    verified.recovery_codes.map(|codes| IssuedRecoveryCodes { codes, after: answered });
                PageAnswer::Done { redirect, recovery_codes, remember }
            }
            VerifyAnswer::Rejected { reason } => {
                let note = match reason {
                    _ if answered == SecondStep::Passkey => PageNote::PasskeyRefused,
                    RejectReason::Expired => PageNote::ExpiredCode,
                    RejectReason::InvalidCode | RejectReason::Locked | RejectReason::NoChallenge => PageNote::WrongCode,
                };
                self.page_of(tx, signin, Some(note))?
            }
        };
        Ok(PageShown { answer, verified: Some(verified.answer) })
    }

    /// Ends an accepted sign-in: its transaction and pages end, and the return URL gets a ticket
    /// that works once within `lifetime` seconds.
    fn complete_signin(
        &self,
        tx: &Tx<'_>,
        signin: &SigninRow,
        transaction: &str,
        lifetime: i64,
    ) -> ServiceResult<String> {
        tx.end_transaction(transaction)?;
        tx.end_signin(&signin.id)?;
        let ticket = self.new_ticket()?;
        let hash = tx.key().code_hash(TICKET_CONTEXT, &ticket);
        tx.insert_ticket(&TicketRow {
            hash,
            client_id: signin.client_id.clone(),
            signin_id: signin.id.clone(),
            mailbox: signin.mailbox.clone(),
            expires_at: self.now() + lifetime,
        })?;
        Ok(with_ticket(&signin.return_url, &ticket))
    }

    /// What the page of a live sign-in shows now; for a passkey, with a new ceremony.
    fn page_of(&self, tx: &Tx<'_>, signin: &SigninRow, note: Option<PageNote>) -> ServiceResult<PageAnswer> {
        let now = self.now();
        let address: MailboxAddress = signin.mailbox.parse()?;
        let mailbox = super::admin::existing_mailbox(tx, &address)?;
        if let Some(retry_after_s) = mailbox.locked_for(now) {
            return Ok(PageAnswer::Locked { address: signin.mailbox.clone(), retry_after_s });
        }
        let page = PageFacts {
            signin: signin.id.clone(),
            address: signin.mailbox.clone(),
            csrf: signin.csrf.clone(),
            note,
            return_origin: origin_of(&signin.return_url).to_owned(),
            remember_days: self.world.current(tx)?.settings.remember_days,
        };
        let provider = mailbox.challenge_provider(&tx.providers()?).unwrap_or(mailbox.provider);
        if provider == Provider::Passkey {
            let relying_party = self.hosted_relying_party(tx)?;
            let ceremony = (&address, signin.transaction_id.as_str());
            let options = self.start_passkey_ceremony(tx, &user(&address), ceremony, &relying_party)?;
            // The ceremony registers a first passkey, else asks for one of the mailbox's.
            return Ok(PageAnswer::Passkey { page, options, create: mailbox.passkeys == 0 });
        }
        if provider == Provider::Totp
            && mailbox.status(now) == MailboxStatus::Pending
            && let Some(secret) = tx.totp_secret(mailbox.id)?.filter(|s| s.state == EnrolmentState::Pending)
        {
            let snapshot = self.world.current(tx)?;
            let otpauth_uri = totp::otpauth_uri(&snapshot.settings.issuer, &address, &secret.secret);
            let b32 = totp::secret_base32(&secret.secret);
            let groups: Vec<&str> = b32.as_bytes().chunks(4).filter_map(|c| std::str::from_utf8(c).ok()).collect();
            return Ok(PageAnswer::Enrol { page, otpauth_uri, secret_groups: Zeroizing::new(groups.join(" ")) });
        }
        let sent_to = match provider {
            Provider::Totp | Provider::Passkey => None,
            Provider::Sms => mailbox.sms_number.as_ref().map(|n| n.masked()),
            Provider::Smtp => mailbox.alt_email.as_ref().map(|e| e.masked()),
        };
        Ok(PageAnswer::Code { page, provider, sent_to })
    }

    fn new_ticket(&self) -> ServiceResult<String> {
        let mut bytes = [0u8; 24];
        self.world.random.fill(&mut bytes)?;
        Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }
}

const TICKET_CONTEXT: &str = "signin:ticket";

/// What binds the sealed code a sign-in holds: the sign-in.
fn held_context(signin: &str) -> String {
    format!("signin:held:{signin}")
}

/// Whether `url` lies within `prefix`: the same scheme and host (and port) exactly, and a path that
/// starts with the prefix's path — `https://mail.example.com` does not admit
/// `https://mail.example.com.evil.example/`.
pub fn url_within(url: &str, prefix: &str) -> bool {
    let (url_origin, url_rest) = split_origin(url);
    let (prefix_origin, prefix_rest) = split_origin(prefix);
    !url_origin.is_empty()
        && url_origin.eq_ignore_ascii_case(prefix_origin)
        && url_rest.starts_with(prefix_rest)
        && !url.contains(|c: char| c.is_whitespace() || c.is_control())
}

/// `scheme://authority` and the rest (path, query, fragment).
fn split_origin(url: &str) -> (&str, &str) {
    let Some(scheme_end) = url.find("://") else { return ("", url) };
    let after = scheme_end + 3;
    let end = url[after..].find(['/', '?', '#']).map_or(url.len(), |i| after + i);
    (&url[..end], &url[end..])
}

/// The path of a URL without its query, and without a trailing `/` (`""` for none): where the
/// pages live below a public address such as `https://example.com/mfa/`.
pub fn path_of(url: &str) -> &str {
    let rest = split_origin(url).1;
    rest.split(['?', '#']).next().unwrap_or("").trim_end_matches('/')
}

/// The origin of a URL, for the pages' CSP.
pub fn origin_of(url: &str) -> &str {
    split_origin(url).0
}

/// The return URL with the ticket added as `mailmfa_ticket` (before any fragment).
fn with_ticket(url: &str, ticket: &str) -> String {
    let (base, fragment) = url.split_once('#').map_or((url, None), |(b, f)| (b, Some(f)));
    let joiner = if base.contains('?') { '&' } else { '?' };
    let mut out = format!("{base}{joiner}mailmfa_ticket={ticket}");
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// Who a hosted sign-in's steps are audited as: the mailbox's user signing in.
fn user(address: &MailboxAddress) -> Actor {
    Actor::User(address.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_urls_stay_within_their_prefix() {
        for (url, prefix, ok) in [
            ("https://mail.example.com/?_task=login", "https://mail.example.com/", true),
            ("https://mail.example.com/roundcube/x", "https://mail.example.com/roundcube/", true),
            ("https://MAIL.example.com/", "https://mail.example.com", true),
            ("https://mail.example.com.evil.example/", "https://mail.example.com", false),
            ("https://mail.example.com@evil.example/", "https://mail.example.com", false),
            ("http://mail.example.com/", "https://mail.example.com/", false),
            ("https://mail.example.com:8443/", "https://mail.example.com/", false),
            ("https://mail.example.com/other", "https://mail.example.com/roundcube/", false),
            ("//evil.example/", "https://mail.example.com/", false),
            ("https://mail.example.com/\nx", "https://mail.example.com/", false),
        ] {
            assert_eq!(url_within(url, prefix), ok, "{url} within {prefix}");
        }
    }

    #[test]
    fn tickets_join_the_query() {
        assert_eq!(with_ticket("https://a.example/back", "T"), "https://a.example/back?mailmfa_ticket=T");
        assert_eq!(with_ticket("https://a.example/b?x=1#top", "T"), "https://a.example/b?x=1&mailmfa_ticket=T#top");
        assert_eq!(origin_of("https://a.example:8080/b?x"), "https://a.example:8080");
    }
}
