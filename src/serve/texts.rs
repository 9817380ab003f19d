//! Every word the hosted sign-in pages show a mail user, in one place: a translation is another
//! [`Texts`] value.

/// The pages' words.
pub struct Texts {
    /// The language tag of the pages.
    pub lang: &'static str,
    /// The title of the enrol page.
    pub enrol_title: &'static str,
    /// Above the QR code.
    pub enrol_intro: &'static str,
    /// The QR code's alternative text.
    pub qr_alt: &'static str,
    /// Above the secret for typing by hand.
    pub manual_entry: &'static str,
    /// The link that hands the account to an authenticator app on the same phone.
    pub add_on_this_device: &'static str,
    /// Above the first code's field.
    pub enrol_code_intro: &'static str,
    /// The title of the code page.
    pub code_title: &'static str,
    /// The code page's lead for an authenticator app.
    pub code_from_app: &'static str,
    /// The code page's lead for a code sent by SMS, before the masked number.
    pub code_sent_sms: &'static str,
    /// The code page's lead for a code e-mailed, before the masked address.
    pub code_sent_email: &'static str,
    /// The code field's label.
    pub code_label: &'static str,
    /// The submit button.
    pub verify_button: &'static str,
    /// The folded-away way in for a user without their phone: a recovery code or an access pass.
    pub access_pass_summary: &'static str,
    /// The label of the recovery code / access pass field.
    pub access_pass_label: &'static str,
    /// The title of the page that shows new recovery codes.
    pub codes_title: &'static str,
    /// What recovery codes are for, above them.
    pub codes_intro: &'static str,
    /// What recovery codes are for, above them, after a passkey was created.
    pub codes_intro_passkey: &'static str,
    /// The link that saves them as a text file.
    pub codes_download: &'static str,
    /// The text file's first line.
    pub codes_file_heading: &'static str,
    /// The link on to the mailbox.
    pub codes_continue: &'static str,
    /// The checkbox that remembers the browser, before the number of days.
    pub remember_device: &'static str,
    /// "days".
    pub days: &'static str,
    /// The resend button.
    pub resend_button: &'static str,
    /// A wrong code.
    pub wrong_code: &'static str,
    /// Not six digits.
    pub bad_code: &'static str,
    /// The sent code expired.
    pub expired_code: &'static str,
    /// A new code went out.
    pub resent: &'static str,
    /// The send limit was reached.
    pub send_limit: &'static str,
    /// A form from an old page.
    pub stale_form: &'static str,
    /// The locked page's title.
    pub locked_title: &'static str,
    /// The locked page's text, before the time.
    pub locked_text: &'static str,
    /// The expired page's title.
    pub expired_title: &'static str,
    /// The expired page's text.
    pub expired_text: &'static str,
    /// The title of the page that creates a mailbox's first passkey.
    pub passkey_create_title: &'static str,
    /// What a passkey is, on that page.
    pub passkey_create_intro: &'static str,
    /// The button that creates it.
    pub passkey_create_button: &'static str,
    /// The title of the page that signs in with a passkey.
    pub passkey_title: &'static str,
    /// What to do, on that page.
    pub passkey_intro: &'static str,
    /// The button that uses it.
    pub passkey_button: &'static str,
    /// Without JavaScript: what to do instead.
    pub passkey_no_script: &'static str,
    /// The browser cannot run the ceremony.
    pub passkey_unsupported: &'static str,
    /// The user cancelled, or the browser's dialog timed out (or found no passkey).
    pub passkey_cancelled: &'static str,
    /// The authenticator could not do it (another error of the browser).
    pub passkey_failed: &'static str,
    /// The service refused the passkey's answer.
    pub passkey_refused: &'static str,
    /// The folded-away way in on the passkey sign-in page.
    pub passkey_recovery_summary: &'static str,
    /// The folded-away way in on the page that creates a passkey.
    pub passkey_create_recovery_summary: &'static str,
    /// "Signing in as".
    pub signing_in_as: &'static str,
    /// The footer.
    pub footer: &'static str,
}

/// English.
pub const ENGLISH: Texts = Texts {
    lang: "en",
    enrol_title: "Set up two-step sign\u{2011}in",
    enrol_intro: "Scan this code with an authenticator app (such as Google or Microsoft Authenticator) on your phone.",
    qr_alt: "QR code to add this mailbox to an authenticator app",
    manual_entry: "Can't scan it? Add an account by hand with this key:",
    add_on_this_device: "On this phone? Add the account to your authenticator app",
    enrol_code_intro: "Then type the 6-digit code the app shows.",
    code_title: "Enter your sign-in code",
    code_from_app: "Open your authenticator app and type the 6-digit code it shows for this mailbox.",
    code_sent_sms: "We sent a 6-digit code by text message to",
    code_sent_email: "We e-mailed a 6-digit code to",
    code_label: "6-digit code",
    verify_button: "Sign in",
    access_pass_summary: "Lost your phone? Use a recovery code",
    access_pass_label: "Recovery code, or access pass from your administrator",
    codes_title: "Save your recovery codes",
    codes_intro: "If you lose your phone, each of these codes signs you in once in place of a code from the app. \
                  Write them down or save them somewhere safe: they are shown only now.",
    codes_intro_passkey: "If you lose the device or security key that holds your passkey, each of these codes signs you in \
                          once in its place. Write them down or save them somewhere safe: they are shown only now.",
    codes_download: "Save as a text file",
    codes_file_heading: "Recovery codes: each works once in place of a sign-in code.",
    codes_continue: "I have saved them. Continue",
    remember_device: "Remember this device for",
    days: "days",
    resend_button: "Send a new code",
    wrong_code: "That code is not right. Check the code and try again.",
    bad_code: "The code has 6 digits.",
    expired_code: "That code has expired. Send a new one.",
    resent: "A new code is on its way. The earlier one no longer works.",
    send_limit: "Too many codes were sent in the last hour. Try again later.",
    stale_form: "This page was out of date. Please try again.",
    locked_title: "Sign-in paused",
    locked_text: "Too many wrong codes. For your safety, signing in is paused. Try again in",
    expired_title: "This sign-in has ended",
    expired_text: "Sign-in pages work for a few minutes only. Go back to your webmail and sign in again.",
    passkey_create_title: "Create a passkey",
    passkey_create_intro: "A passkey signs you in with your screen lock, fingerprint, face or a security key: nothing \
                           to type, and nothing a fake website could steal. Your browser asks where to keep it: this \
                           device, your phone or a security key.",
    passkey_create_button: "Create a passkey",
    passkey_title: "Sign in with your passkey",
    passkey_intro: "Use the passkey you created for this mailbox: unlock it with your screen lock, fingerprint or \
                    face, or touch your security key.",
    passkey_button: "Use my passkey",
    passkey_no_script: "A passkey needs JavaScript, which is turned off for this page. Turn it on and reload the page, \
                        or use a recovery code or an access pass from your administrator below.",
    passkey_unsupported: "This browser cannot use passkeys. Open this page in an up-to-date browser, or use a \
                          recovery code below.",
    passkey_cancelled: "No passkey was used: the request was cancelled, timed out, or found no passkey for this \
                        mailbox on this device. Try again, or choose another device or security key.",
    passkey_failed: "Your device could not use a passkey here. Try again, or choose another device or security key.",
    passkey_refused: "That passkey was not accepted. Try again with the passkey you created for this mailbox.",
    passkey_recovery_summary: "Can't use your passkey? Use a recovery code",
    passkey_create_recovery_summary: "Can't create one now? Use a recovery code or access pass",
    signing_in_as: "Signing in as",
    footer: "Two-step sign-in protects your mailbox even if your password is stolen.",
};
