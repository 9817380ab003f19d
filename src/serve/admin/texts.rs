//! Every word the web administration shows, in one place: a translation is another [`AdminTexts`]
//! value. (The labels of modes, providers and states come from the domain's words, as in the console.)

/// The web administration's words.
pub struct AdminTexts {
    /// The language tag of the pages.
    pub lang: &'static str,
    /// After every page's title.
    pub title_suffix: &'static str,
    /// The navigation's link to the post offices.
    pub nav_postoffices: &'static str,
    /// The navigation's link to the audit log.
    pub nav_audit: &'static str,
    /// The navigation's link to the coverage report.
    pub nav_coverage: &'static str,
    /// The navigation's link to the providers.
    pub nav_providers: &'static str,
    /// The navigation's link to the settings.
    pub nav_settings: &'static str,
    /// The navigation's link to the API clients.
    pub nav_clients: &'static str,
    /// The navigation's link to the administrators.
    pub nav_admins: &'static str,
    /// The sign-out button.
    pub sign_out: &'static str,
    /// The title of a page out of reach.
    pub not_found_title: &'static str,
    /// What a page out of reach says.
    pub not_found: &'static str,
    /// The title of a form that came without its token.
    pub stale_title: &'static str,
    /// The title of a busy store's page.
    pub busy_title: &'static str,
    /// What a busy store says.
    pub store_busy: &'static str,
    /// The title of a refused change.
    pub not_done_title: &'static str,
    /// The link back from an error page.
    pub back_to_postoffices: &'static str,
    /// A change was saved.
    pub done_saved: &'static str,
    /// The code was reset.
    pub done_reset_code: &'static str,
    /// The known places were forgotten.
    pub done_reset_countries: &'static str,
    /// The mailbox was unlocked.
    pub done_unlock: &'static str,
    /// The remembered devices were forgotten.
    pub done_forget_devices: &'static str,
    /// An app password was removed.
    pub done_remove_app_password: &'static str,
    /// Something was removed.
    pub done_removed: &'static str,
    /// A time that never was.
    pub never: &'static str,
    /// The sign-in page's title.
    pub signin_title: &'static str,
    /// The sign-in page's heading.
    pub signin_heading: &'static str,
    /// A wrong name or password, or a paused account.
    pub signin_failed: &'static str,
    /// The name field.
    pub name_label: &'static str,
    /// The password field.
    pub password_label: &'static str,
    /// The button on to the next step.
    pub next_button: &'static str,
    /// The code page's title.
    pub code_title: &'static str,
    /// The code page's heading.
    pub code_heading: &'static str,
    /// Before the administrator's name.
    pub signing_in_as: &'static str,
    /// A wrong code, or a paused account.
    pub code_failed: &'static str,
    /// The code field.
    pub code_label: &'static str,
    /// The code page's button.
    pub sign_in_button: &'static str,
    /// The set-up pages' title.
    pub setup_title: &'static str,
    /// The set-up's password page heading.
    pub setup_heading: &'static str,
    /// Before the administrator's name on the set-up pages.
    pub administrator: &'static str,
    /// The new password field.
    pub choose_password: &'static str,
    /// The repeated password field.
    pub password_again: &'static str,
    /// The two passwords differ.
    pub passwords_differ: &'static str,
    /// The password is too short.
    pub password_short: &'static str,
    /// The set-up's QR page heading.
    pub enrol_heading: &'static str,
    /// Above the QR code.
    pub enrol_intro: &'static str,
    /// The QR code's alternative text.
    pub enrol_qr_alt: &'static str,
    /// Above the key for typing by hand.
    pub manual_entry: &'static str,
    /// A wrong first code.
    pub enrol_failed: &'static str,
    /// The first code's field.
    pub first_code_label: &'static str,
    /// The set-up's last button.
    pub finish_button: &'static str,
    /// The recovery codes page's title.
    pub codes_title: &'static str,
    /// The recovery codes page's heading.
    pub codes_heading: &'static str,
    /// What recovery codes are for.
    pub codes_intro: &'static str,
    /// The link on to the sign-in.
    pub codes_continue: &'static str,
    /// The post offices page's title.
    pub postoffices_title: &'static str,
    /// The post office column.
    pub column_postoffice: &'static str,
    /// The mailbox count column.
    pub column_mailboxes: &'static str,
    /// The default challenge column.
    pub column_default_challenge: &'static str,
    /// Before a post office's name.
    pub postoffice: &'static str,
    /// The mailbox filter's label.
    pub filter_label: &'static str,
    /// The mailbox filter's placeholder.
    pub filter_placeholder: &'static str,
    /// The filters' button.
    pub find_button: &'static str,
    /// After a count of mailboxes.
    pub mailboxes: &'static str,
    /// Before the filter's text.
    pub matching: &'static str,
    /// The link to the page before.
    pub previous_page: &'static str,
    /// Before the page's number.
    pub page: &'static str,
    /// Between the page's number and the pages.
    pub of: &'static str,
    /// The link to the next page.
    pub next_page: &'static str,
    /// The post office's defaults heading.
    pub defaults_heading: &'static str,
    /// The post office's mode field.
    pub default_challenge: &'static str,
    /// The post office's trusted networks field.
    pub trusted_networks: &'static str,
    /// The forms' save button.
    pub save_button: &'static str,
    /// A mailbox's status.
    pub fact_status: &'static str,
    /// A mailbox's mode in force.
    pub fact_challenge: &'static str,
    /// A mailbox's TOTP secret state.
    pub fact_secret: &'static str,
    /// A mailbox's last login.
    pub fact_last_login: &'static str,
    /// A mailbox's failure count.
    pub fact_failures: &'static str,
    /// A mailbox's unused recovery codes.
    pub fact_recovery_codes: &'static str,
    /// A mailbox's remembered devices.
    pub fact_devices: &'static str,
    /// A mailbox's access pass.
    pub fact_access_pass: &'static str,
    /// No access pass.
    pub none: &'static str,
    /// Before an access pass's end.
    pub until: &'static str,
    /// The mailbox form's heading.
    pub two_factor_heading: &'static str,
    /// The mailbox's mode field.
    pub challenge_label: &'static str,
    /// The mailbox's mode taken from its post office.
    pub inherit: &'static str,
    /// The mailbox's provider field.
    pub provider_label: &'static str,
    /// The mailbox's SMS number field.
    pub sms_label: &'static str,
    /// The mailbox's alternate address field.
    pub alt_email_label: &'static str,
    /// The actions' heading.
    pub actions_heading: &'static str,
    /// The QR code's button.
    pub show_qr: &'static str,
    /// The code reset's link.
    pub reset_code: &'static str,
    /// The country reset's link.
    pub reset_countries: &'static str,
    /// The unlock button.
    pub unlock: &'static str,
    /// The new recovery codes' link.
    pub new_recovery_codes: &'static str,
    /// The remembered devices' link.
    pub forget_devices: &'static str,
    /// The access pass form's heading.
    pub access_pass_heading: &'static str,
    /// The access pass's lifetime field.
    pub access_pass_minutes: &'static str,
    /// The access pass's single-use box.
    pub access_pass_once: &'static str,
    /// The access pass's button.
    pub access_pass_button: &'static str,
    /// The app passwords' heading.
    pub app_passwords_heading: &'static str,
    /// No app passwords.
    pub no_app_passwords: &'static str,
    /// An app password's remove link.
    pub remove_link: &'static str,
    /// The known places' heading.
    pub places_heading: &'static str,
    /// Before a place's last use.
    pub last_seen: &'static str,
    /// What a code reset asks.
    pub ask_reset_code: &'static str,
    /// What a code reset does.
    pub tell_reset_code: &'static str,
    /// What a country reset asks.
    pub ask_reset_countries: &'static str,
    /// What a country reset does.
    pub tell_reset_countries: &'static str,
    /// What new recovery codes ask.
    pub ask_recovery_codes: &'static str,
    /// What new recovery codes do.
    pub tell_recovery_codes: &'static str,
    /// What forgetting devices asks.
    pub ask_forget_devices: &'static str,
    /// What forgetting devices does.
    pub tell_forget_devices: &'static str,
    /// What removing an app password asks.
    pub ask_remove_app_password: &'static str,
    /// What removing an app password does.
    pub tell_remove_app_password: &'static str,
    /// The confirmation page's way back.
    pub cancel: &'static str,
    /// New recovery codes' title.
    pub recovery_codes_title: &'static str,
    /// Above new recovery codes.
    pub recovery_codes_note: &'static str,
    /// A new access pass's title.
    pub access_pass_title: &'static str,
    /// Before a new access pass's end.
    pub works_until: &'static str,
    /// After it, when it works once.
    pub works_once: &'static str,
    /// After a secret shown once.
    pub shown_only_now: &'static str,
    /// The QR code's title.
    pub qr_title: &'static str,
    /// Before the secret's state.
    pub secret_is: &'static str,
    /// Under the QR code's state.
    pub qr_warning: &'static str,
    /// The mailbox's QR code's alternative text.
    pub qr_alt: &'static str,
    /// The link back to the mailbox.
    pub back_to_mailbox: &'static str,
    /// The audit log's title.
    pub audit_title: &'static str,
    /// The audit log filter's label.
    pub audit_filter: &'static str,
    /// The audit log filter's placeholder.
    pub audit_placeholder: &'static str,
    /// The audit log's time column.
    pub column_when: &'static str,
    /// The audit log's actor column.
    pub column_who: &'static str,
    /// The audit log's mailbox column.
    pub column_mailbox: &'static str,
    /// The audit log's action column.
    pub column_action: &'static str,
    /// The audit log's outcome column.
    pub column_outcome: &'static str,
    /// The audit log's IP column.
    pub column_ip: &'static str,
    /// The audit log's detail column.
    pub column_detail: &'static str,
    /// The coverage report's title.
    pub coverage_title: &'static str,
    /// The CSV link.
    pub coverage_csv: &'static str,
    /// Before the total of mailboxes.
    pub all: &'static str,
    /// After the total of mailboxes.
    pub by_state: &'static str,
    /// The providers page's title.
    pub providers_title: &'static str,
    /// A provider's first switch.
    pub switch_enabled: &'static str,
    /// A provider's second switch.
    pub switch_admin: &'static str,
    /// A provider's third switch.
    pub switch_user: &'static str,
    /// The settings page's title.
    pub settings_title: &'static str,
    /// A secret that is not set.
    pub secret_not_set: &'static str,
    /// A secret that is set.
    pub secret_set: &'static str,
    /// The API clients page's title.
    pub clients_title: &'static str,
    /// Where keys come from, before the command.
    pub clients_intro: &'static str,
    /// The client column.
    pub column_client: &'static str,
    /// The allowed networks column.
    pub column_allowed_from: &'static str,
    /// The post offices column.
    pub column_postoffices: &'static str,
    /// Whether a client may read the metrics.
    pub column_metrics: &'static str,
    /// The last use column.
    pub column_last_used: &'static str,
    /// Any network.
    pub any: &'static str,
    /// Every post office.
    pub every: &'static str,
    /// A row's remove button.
    pub remove_button: &'static str,
    /// The administrators page's title.
    pub admins_title: &'static str,
    /// The name column.
    pub column_name: &'static str,
    /// The role column.
    pub column_role: &'static str,
    /// Whether an administrator finished the set-up.
    pub column_set_up: &'static str,
    /// Set up.
    pub yes: &'static str,
    /// Not set up yet.
    pub not_yet: &'static str,
    /// The new administrator form's heading.
    pub add_admin_heading: &'static str,
    /// The role field.
    pub role_label: &'static str,
    /// The post offices field.
    pub admin_postoffices_label: &'static str,
    /// The add button.
    pub add_button: &'static str,
    /// An administrator added.
    pub admin_added_title: &'static str,
    /// An administrator's set-up started again.
    pub admin_reset_title: &'static str,
    /// What a reset did, before the link.
    pub admin_reset_note: &'static str,
    /// The button that starts an administrator's set-up again.
    pub reset_button: &'static str,
    /// Before the new administrator's name.
    pub send: &'static str,
    /// After it.
    pub setup_link_note: &'static str,
    /// The link back to the administrators.
    pub back_to_admins: &'static str,
}

/// English.
pub const ENGLISH: AdminTexts = AdminTexts {
    lang: "en",
    title_suffix: " · mailmfa administration",
    nav_postoffices: "Post offices",
    nav_audit: "Audit log",
    nav_coverage: "Coverage",
    nav_providers: "Providers",
    nav_settings: "Settings",
    nav_clients: "API clients",
    nav_admins: "Administrators",
    sign_out: "Sign out",
    not_found_title: "Not found",
    not_found: "There is no such page, or it is not yours to see.",
    stale_title: "Out of date",
    busy_title: "Try again",
    store_busy: "The store is busy or unreachable; try again in a moment.",
    not_done_title: "Not done",
    back_to_postoffices: "Back to the post offices",
    done_saved: "Saved.",
    done_reset_code: "The two factor code was reset: the next sign-in enrols again with a new QR code.",
    done_reset_countries: "The known countries and IP addresses were forgotten.",
    done_unlock: "Unlocked.",
    done_forget_devices: "The remembered devices were forgotten.",
    done_remove_app_password: "The app password was removed.",
    done_removed: "Removed.",
    never: "never",
    signin_title: "Sign in",
    signin_heading: "Sign in to mailmfa administration",
    signin_failed: "The name or password is not right, or signing in is paused after too many attempts. Try again in a few minutes.",
    name_label: "Name",
    password_label: "Password",
    next_button: "Next",
    code_title: "Sign-in code",
    code_heading: "Enter your sign-in code",
    signing_in_as: "Signing in as",
    code_failed: "That code is not right, or signing in is paused after too many attempts.",
    code_label: "6-digit code from your authenticator app, or a recovery code",
    sign_in_button: "Sign in",
    setup_title: "Set up",
    setup_heading: "Set up your administrator account",
    administrator: "Administrator",
    choose_password: "Choose a password (at least 12 characters)",
    password_again: "The same password again",
    passwords_differ: "The two passwords differ.",
    password_short: "Choose a password of at least 12 characters.",
    enrol_heading: "Add mailmfa to your authenticator app",
    enrol_intro: "A second step is required for every administrator. Scan this code with an authenticator app, then type the 6-digit code it shows.",
    enrol_qr_alt: "QR code to add this administrator to an authenticator app",
    manual_entry: "Can't scan it? Add an account by hand with this key:",
    enrol_failed: "That code is not right. Check the time on your phone and try the next code.",
    first_code_label: "6-digit code",
    finish_button: "Finish",
    codes_title: "Recovery codes",
    codes_heading: "Save your recovery codes",
    codes_intro: "If you lose your phone, each of these codes signs you in once in place of a code from the app. They are shown only now.",
    codes_continue: "I have saved them. Sign in",
    postoffices_title: "Post offices",
    column_postoffice: "Post office",
    column_mailboxes: "Mailboxes",
    column_default_challenge: "Default challenge",
    postoffice: "Post office",
    filter_label: "Find a mailbox",
    filter_placeholder: "part of the name",
    find_button: "Find",
    mailboxes: "mailboxes",
    matching: "matching",
    previous_page: "← Previous",
    page: "Page",
    of: "of",
    next_page: "Next →",
    defaults_heading: "Post office defaults",
    default_challenge: "Default challenge",
    trusted_networks: "Trusted networks (CIDR, comma-separated)",
    save_button: "Save",
    fact_status: "Status",
    fact_challenge: "Challenge in force",
    fact_secret: "TOTP secret",
    fact_last_login: "Last login",
    fact_failures: "Failures",
    fact_recovery_codes: "Recovery codes left",
    fact_devices: "Remembered devices",
    fact_access_pass: "Access pass",
    none: "none",
    until: "until",
    two_factor_heading: "Two Factor",
    challenge_label: "Challenge",
    inherit: "Inherit from the post office",
    provider_label: "Provider",
    sms_label: "SMS number (E.164)",
    alt_email_label: "Alternate e-mail address",
    actions_heading: "Actions",
    show_qr: "Show the QR code",
    reset_code: "Reset two factor code…",
    reset_countries: "Reset country exceptions…",
    unlock: "Unlock",
    new_recovery_codes: "New recovery codes…",
    forget_devices: "Forget remembered devices…",
    access_pass_heading: "Temporary access pass",
    access_pass_minutes: "Valid for (minutes, 10 to 43200)",
    access_pass_once: "Works once",
    access_pass_button: "Issue an access pass",
    app_passwords_heading: "App passwords",
    no_app_passwords: "None.",
    remove_link: "Remove…",
    places_heading: "Known countries and IP addresses",
    last_seen: "last seen",
    ask_reset_code: "Reset the two factor code",
    tell_reset_code: "The secret is forgotten: the next sign-in shows a new QR code to enrol again, and remembered devices are forgotten.",
    ask_reset_countries: "Reset country exceptions",
    tell_reset_countries: "The known countries and IP addresses are forgotten: the next sign-in from any of them is challenged.",
    ask_recovery_codes: "Issue new recovery codes",
    tell_recovery_codes: "Ten new codes are shown once; every earlier code stops working.",
    ask_forget_devices: "Forget remembered devices",
    tell_forget_devices: "Every browser that skipped the code is asked for it again.",
    ask_remove_app_password: "Remove the app password",
    tell_remove_app_password: "The mail program that uses it can no longer sign in.",
    cancel: "Cancel",
    recovery_codes_title: "New recovery codes",
    recovery_codes_note: "Give these to the mailbox's user. They are shown only now.",
    access_pass_title: "Temporary access pass",
    works_until: "It works until",
    works_once: ", once",
    shown_only_now: ". Shown only now.",
    qr_title: "QR code",
    secret_is: "The secret is",
    qr_warning: ". Whoever sees this code can make the mailbox's codes; this showing is in the audit log.",
    qr_alt: "The mailbox's enrolment QR code",
    back_to_mailbox: "Back to the mailbox",
    audit_title: "Audit log",
    audit_filter: "Find entries",
    audit_placeholder: "mailbox, action, administrator…",
    column_when: "When",
    column_who: "Who",
    column_mailbox: "Mailbox",
    column_action: "Action",
    column_outcome: "Outcome",
    column_ip: "IP",
    column_detail: "Detail",
    coverage_title: "Coverage",
    coverage_csv: "Download as CSV",
    all: "All",
    by_state: "mailboxes by state",
    providers_title: "Challenge providers",
    switch_enabled: "Enabled",
    switch_admin: "Administrators may configure",
    switch_user: "Users may configure",
    settings_title: "Settings",
    secret_not_set: "not set",
    secret_set: "set (hidden); type a new one to change it",
    clients_title: "API clients",
    clients_intro: "New clients and their keys are made with",
    column_client: "Client",
    column_allowed_from: "Allowed from",
    column_postoffices: "Post offices",
    column_metrics: "Metrics",
    column_last_used: "Last used",
    any: "any",
    every: "all",
    remove_button: "Remove",
    admins_title: "Administrators",
    column_name: "Name",
    column_role: "Role",
    column_set_up: "Set up",
    yes: "yes",
    not_yet: "not yet",
    add_admin_heading: "Add an administrator",
    role_label: "Role",
    admin_postoffices_label: "Post offices (comma-separated, for a post-office administrator)",
    add_button: "Add",
    admin_added_title: "Administrator added",
    admin_reset_title: "Administrator reset",
    admin_reset_note: "Their password, authenticator app, recovery codes and sessions no longer work.",
    reset_button: "Reset",
    send: "Send",
    setup_link_note: "this set-up link. It works once, for 24 hours, and is shown only now:",
    back_to_admins: "Back to the administrators",
};
