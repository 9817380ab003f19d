<?php

/**
 * What the sign-in gate (MailmfaGate) and the settings section (MailmfaSettings) share: the
 * plugin's state in the Roundcube session, the client of the login service, the remembered-browser
 * cookie, and the pieces of HTML both show: notes, lists of recovery codes, and the pieces of a
 * code page (the code form with the recovery-code field folded under it, *Send a new code*, and
 * the QR code of an enrolment) — the gate's at sign-in, the settings' at a step-up — and the
 * passkey form, whose ceremony `mailmfa-passkey.js` runs in the browser.
 *
 * An enrolment's QR code and key are fetched from the service for the page being drawn
 * (`POST /v1/login/enrolment`) and never kept in the session, which Roundcube writes to its
 * database: the session keeps only the transaction id.
 *
 * Copyright (C) The mailmfa developers. Licensed under the MIT license.
 */
abstract class MailmfaPages
{
    /** The session key of the plugin's state. */
    const SESSION = 'mailmfa';

    /** The cookie that holds the token of a browser the user asked to remember (one per mailbox). */
    const DEVICE_COOKIE = 'mailmfa_device_';

    /** The providers the code pages have words for (`codeintro<provider>`). */
    const PROVIDERS = ['totp', 'sms', 'smtp', 'passkey'];

    /** The providers whose enrolment a page of the plugin runs: a QR code, or a new passkey. */
    const ENROLLED_HERE = ['totp', 'passkey'];

    /** The longest `credential.toJSON()` taken from a form (the service takes 16 kB bodies). */
    const MAX_WEBAUTHN = 12000;

    /** @var rcube_plugin The plugin, for its texts and its skin */
    protected $plugin;

    /** @var rcmail */
    protected $rc;

    /** @var array|null The enrolment the page being drawn shows (`otpauth_uri`, `qr`), this request only */
    protected $enrolment;

    /**
     * @param rcube_plugin $plugin The plugin these pages belong to
     * @param rcmail       $rc     Roundcube
     */
    public function __construct(rcube_plugin $plugin, rcmail $rc)
    {
        $this->plugin = $plugin;
        $this->rc     = $rc;
    }

    /**
     * A text of the plugin, with its variables filled in.
     *
     * @param string $label The label in `localization/`
     * @param array  $vars  The label's variables
     */
    protected function text($label, array $vars = [])
    {
        return $this->plugin->gettext(['name' => $label, 'vars' => $vars]);
    }

    /**
     * The client of the configured service.
     */
    protected function client()
    {
        return new MailmfaClient(
            $this->rc->config->get('mailmfa_url', ''),
            $this->rc->config->get('mailmfa_key', ''),
            $this->rc->config->get('mailmfa_timeout', 10)
        );
    }

    /**
     * Writes why a call to the service failed to Roundcube's error log (never a code or key).
     */
    protected function log_failure($call, MailmfaError $e)
    {
        rcube::raise_error(['code' => 500, 'file' => __FILE__, 'line' => __LINE__,
            'message' => "mailmfa: $call for " . $this->rc->get_user_name() . ' failed: ' . $e->getMessage()], true, false);
    }

    /**
     * The name of the remembered-browser cookie of the signed-in mailbox: one per mailbox, so
     * that a browser remembered for two mailboxes keeps both (the name does not show the address).
     */
    protected function device_cookie()
    {
        return self::DEVICE_COOKIE . substr(hash('sha256', strtolower($this->rc->get_user_name())), 0, 16);
    }

    /**
     * Whether this request is one of the plugin's own forms: a POST that carries the session's
     * request token. Roundcube checks the token only on a POST with a body, so a link or an image
     * on another site (a GET), or an empty POST, reaches an action unchecked: every action that
     * changes something asks this first.
     */
    protected function from_own_form()
    {
        return self::is_form_post($_SERVER['REQUEST_METHOD'] ?? '',
            rcube_utils::get_input_string('_token', rcube_utils::INPUT_POST), $this->rc->get_request_token());
    }

    /**
     * Whether a request of `$method` that posted `$token` is a form of this session.
     *
     * @param string $method        The request's method
     * @param mixed  $token         The `_token` it posted
     * @param string $session_token The session's request token
     */
    public static function is_form_post($method, $token, $session_token)
    {
        return $method === 'POST' && is_string($token) && $token !== ''
            && is_string($session_token) && hash_equals($session_token, $token);
    }

    /**
     * Keeps a note in the plugin's session state under `$key`, for the next page to show once.
     *
     * @param string $key   Where the page looks for it
     * @param string $label A label of this plugin
     * @param string $type  error, warning, information or confirmation
     * @param array  $vars  The label's variables
     */
    protected function keep_note($key, $label, $type, array $vars = [])
    {
        $_SESSION[self::SESSION][$key] = [$label, $type, $vars];
    }

    /**
     * The note kept under `$key` in the plugin's session state, shown once and then forgotten.
     */
    protected function take_note($key, $attrib)
    {
        $note = $_SESSION[self::SESSION][$key] ?? null;
        unset($_SESSION[self::SESSION][$key]);

        if (!$note) {
            return '';
        }

        list($label, $type, $vars) = $note;

        return $this->note_box($this->text($label, $vars), $type, $attrib['id'] ?? null);
    }

    /**
     * A note in Elastic's alert style; errors are announced to screen readers at once.
     */
    protected function note_box($text, $type, $id = null)
    {
        $classes = [
            'error'        => 'boxerror',
            'warning'      => 'boxwarning',
            'confirmation' => 'boxconfirmation',
        ];

        return html::div([
                'id'    => $id,
                'class' => ($classes[$type] ?? 'boxinformation') . ' mailmfa-note',
                'role'  => $type == 'error' ? 'alert' : 'status',
            ],
            rcube::Q($text)
        );
    }

    /**
     * Recovery codes as a list to copy or print.
     */
    protected function codes_list(array $codes, $id)
    {
        $items = implode('', array_map(function ($code) { return html::tag('li', null, rcube::Q($code)); }, $codes));

        return html::tag('ol', ['id' => $id, 'class' => 'mailmfa-codes'], $items);
    }

    /**
     * What a code page needs of a begin's answer that waits for a code (`challenge` or
     * `enroll`): the transaction, the provider, where a code went, how long a browser may be
     * remembered; for a passkey the options of its ceremony (public: the browser gets them). Never
     * the enrolment's secret or QR code, which the session must not hold.
     *
     * @param array $answer The service's answer to `POST /v1/login/begin`
     *
     * @return array|null null when the answer waits for no code, or cannot be shown
     */
    public static function waiting_for_code(array $answer)
    {
        $decision = $answer['decision'] ?? '';

        if (!in_array($decision, ['challenge', 'enroll'], true)
            || !is_string($answer['transaction_id'] ?? null) || $answer['transaction_id'] === ''
            || !in_array($answer['provider'] ?? '', self::PROVIDERS, true)
            || ($decision == 'enroll' && !in_array($answer['provider'], self::ENROLLED_HERE, true))
            || ($answer['provider'] == 'passkey' && !self::usable_webauthn_options($answer['webauthn'] ?? null))
        ) {
            return null;
        }

        $waiting = [
            'decision'    => $decision,
            'transaction' => $answer['transaction_id'],
            'provider'    => $answer['provider'],
            'sent_to'     => isset($answer['sent_to']) ? (string) $answer['sent_to'] : null,
            'remember'    => (int) ($answer['remember_days'] ?? 0),
        ];

        if ($answer['provider'] == 'passkey') {
            $waiting['webauthn'] = $answer['webauthn'];
        }

        return $waiting;
    }

    /**
     * Whether `$options` can be the `publicKey` options of a passkey ceremony: an object with a
     * challenge.
     */
    public static function usable_webauthn_options($options)
    {
        return is_array($options) && is_string($options['challenge'] ?? null) && $options['challenge'] !== '';
    }

    /**
     * The browser's answer to a passkey ceremony, as the passkey form posted it (`_webauthn`,
     * the JSON of `credential.toJSON()`): decoded with its objects kept as objects, so that it
     * goes to the service as the browser wrote it; null when there is none or it cannot be one.
     *
     * @param mixed $raw The posted value
     *
     * @return object|null
     */
    public static function usable_webauthn_answer($raw)
    {
        if (!is_string($raw) || $raw === '' || strlen($raw) > self::MAX_WEBAUTHN) {
            return null;
        }

        $answer = json_decode($raw, false, 16);

        if (!is_object($answer) || !is_string($answer->id ?? null) || !is_object($answer->response ?? null)) {
            return null;
        }

        return $answer;
    }

    /**
     * The passkey answer posted by the passkey form of this request, or null.
     */
    protected function posted_webauthn()
    {
        return $_SERVER['REQUEST_METHOD'] === 'POST' ? self::usable_webauthn_answer($_POST['_webauthn'] ?? null) : null;
    }

    /**
     * The QR code and key URI of `POST /v1/login/enrolment`'s answer, if it has both.
     *
     * @return array|null {"otpauth_uri", "qr"}
     */
    public static function usable_enrolment(array $answer)
    {
        $uri = $answer['otpauth_uri'] ?? null;
        $png = $answer['qr_png_base64'] ?? null;

        if (!is_string($uri) || strpos($uri, 'otpauth://') !== 0 || !is_string($png) || !preg_match('/^[A-Za-z0-9+\/]+=*$/', $png)) {
            return null;
        }

        return ['otpauth_uri' => $uri, 'qr' => $png];
    }

    /**
     * The enrolment secret of an `otpauth://` URI in groups of four, for typing it into an app.
     *
     * @return string[]
     */
    public static function secret_groups($otpauth_uri)
    {
        parse_str((string) parse_url((string) $otpauth_uri, PHP_URL_QUERY), $query);
        $secret = strtoupper(preg_replace('/[^A-Za-z2-7]/', '', (string) ($query['secret'] ?? '')));

        return $secret === '' ? [] : str_split($secret, 4);
    }

    /**
     * The note after a wrong code: of the app, of a message, or (on a passkey page) the recovery
     * code.
     */
    public static function wrong_code_label($provider)
    {
        $labels = ['totp' => 'wrongcode', 'passkey' => 'wrongrecoverycode'];

        return $labels[$provider] ?? 'wrongsentcode';
    }

    /**
     * Whole minutes, rounded up, never below one.
     */
    public static function minutes($seconds)
    {
        return max(1, (int) ceil($seconds / 60));
    }

    /**
     * Asks the service for the QR code and key of a transaction that waits for the first code of
     * a new authenticator app, for the page about to be drawn.
     *
     * @param string $transaction The transaction
     *
     * @throws MailmfaError When it cannot be had (404: the transaction ended)
     */
    protected function fetch_enrolment($transaction)
    {
        $enrolment = self::usable_enrolment($this->client()->enrolment($transaction));

        if ($enrolment === null) {
            throw new MailmfaError('the enrolment came without its QR code or its key');
        }

        $this->enrolment = $enrolment;
    }

    /**
     * The enrolment's QR code, as the service drew it.
     */
    protected function qrcode_html($id)
    {
        return html::img([
                'id'     => $id,
                'class'  => 'mailmfa-qrcode',
                'src'    => 'data:image/png;base64,' . ($this->enrolment['qr'] ?? ''),
                'alt'    => $this->text('qrcodealt'),
                'width'  => 240,
                'height' => 240,
        ]);
    }

    /**
     * The enrolment's secret in groups of four, for typing it into an app.
     */
    protected function secret_html($id)
    {
        $groups  = array_map(function ($group) { return html::span(null, $group); },
            self::secret_groups($this->enrolment['otpauth_uri'] ?? ''));
        $details = $this->text('manualdetails', ['address' => $this->rc->get_user_name()]);

        return html::div(['class' => 'mailmfa-manual'],
            html::p(null, rcube::Q($this->text('manualentry')))
            . html::tag('code', ['id' => $id, 'class' => 'mailmfa-secret'], implode(' ', $groups))
            . html::p(['class' => 'mailmfa-details'], rcube::Q($details))
        );
    }

    /**
     * For a phone that cannot scan its own screen, a link that hands the account to the
     * authenticator app on it (shown on touch screens only).
     */
    protected function applink_html($id)
    {
        $uri = (string) ($this->enrolment['otpauth_uri'] ?? '');

        if (strpos($uri, 'otpauth://') !== 0) {
            return '';
        }

        return html::p(['class' => 'mailmfa-applink'],
            html::a(['href' => $uri, 'id' => $id, 'class' => 'btn btn-secondary'], rcube::Q($this->text('applink'))));
    }

    /**
     * The code field and its button, and folded away below them the field for a recovery code
     * or an access pass, both posting to `$action`.
     *
     * @param string $id       The form's id
     * @param array  $action   Where the forms post to (`_task`, `_action`)
     * @param string $label    The label of the code field
     * @param bool   $enroll   The field follows a QR code (it is not focused: that would scroll
     *                         the QR code out of sight)
     * @param int    $remember Days a browser may be remembered (0: no box to tick)
     */
    protected function code_form_html($id, array $action, $label, $enroll, $remember)
    {
        $input = html::tag('input', [
                'type'           => 'text',
                'name'           => '_code',
                'id'             => 'mailmfa-code',
                'class'          => 'form-control mailmfa-code',
                'autocomplete'   => 'one-time-code',
                'inputmode'      => 'numeric',
                'pattern'        => '[0-9 ]*',
                'maxlength'      => 12,
                'autocapitalize' => 'off',
                'spellcheck'     => 'false',
                'required'       => true,
                'autofocus'      => !$enroll,
        ]);
        $button = html::tag('button', ['type' => 'submit', 'class' => 'btn btn-primary mainaction', 'id' => 'mailmfa-verify'],
            rcube::Q($this->text('verify')));

        $form = $this->rc->output->form_tag(['id' => $id, 'method' => 'post', 'action' => $this->rc->url($action)],
            html::label(['for' => 'mailmfa-code', 'class' => 'mailmfa-label'], rcube::Q($this->text($label)))
            . html::div('mailmfa-code-row', $input . $button)
            . $this->remember_box($remember, 'mailmfa-remember')
        );

        return $form . $this->pass_details_html($action, $remember, false);
    }

    /**
     * The passkey form: the button that runs the ceremony (`mailmfa-passkey.js`, which the page
     * must include), the hidden field its answer goes into, and what to do without JavaScript;
     * below it the field for a recovery code or an access pass, open when there is no script.
     *
     * @param string $id       The form's id
     * @param array  $action   Where the forms post to (`_task`, `_action`)
     * @param bool   $create   A new passkey (`navigator.credentials.create`), else the one the
     *                         mailbox has (`get`)
     * @param array  $options  The ceremony's `publicKey` options, as the service made them
     * @param int    $remember Days a browser may be remembered (0: no box to tick)
     * @param string $label    The button's label (a label of this plugin)
     */
    protected function passkey_form_html($id, array $action, $create, array $options, $remember, $label = null)
    {
        $label  = $label ?? ($create ? 'passkeycreate' : 'passkeyuse');
        $button = html::tag('button', ['type' => 'button', 'class' => 'btn btn-primary mainaction mailmfa-passkey-button',
                'id' => 'mailmfa-passkey', 'hidden' => 'hidden'],
            rcube::Q($this->text($label)));
        $nojs   = html::p(['id' => 'mailmfa-passkey-nojs', 'class' => 'mailmfa-passkey-nojs'],
            rcube::Q($this->text('passkeynojs')));
        // html::div would drop `hidden`, which the script takes away when there is something to say.
        $failed = html::tag('div', ['id' => 'mailmfa-passkey-failed', 'class' => 'boxerror mailmfa-note mailmfa-passkey-failed',
                'role' => 'alert', 'hidden' => 'hidden'], '');
        $field  = html::tag('input', ['type' => 'hidden', 'name' => '_webauthn', 'value' => '']);

        $form = $this->rc->output->form_tag([
                'id'               => $id,
                'method'           => 'post',
                'action'           => $this->rc->url($action),
                'class'            => 'mailmfa-passkey-form',
                'data-ceremony'    => $create ? 'create' : 'get',
                'data-options'     => json_encode($options, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE),
                'data-failed'      => $this->text($create ? 'passkeycreatefailed' : 'passkeyfailed'),
                'data-unsupported' => $this->text('passkeyunsupported'),
            ],
            $nojs . $failed . $field . html::p(['class' => 'formbuttons'], $button) . $this->remember_box($remember, 'mailmfa-remember')
        );

        return $form;
    }

    /**
     * The field for a recovery code or an access pass, folded away under its summary.
     *
     * @param array $action   Where the form posts to (`_task`, `_action`)
     * @param int   $remember Days a browser may be remembered (0: no box to tick)
     * @param bool  $passkey  It stands under a passkey form: a recovery code is the way without one
     */
    protected function pass_details_html(array $action, $remember, $passkey)
    {
        return html::tag('details', ['class' => 'mailmfa-access-pass', 'id' => 'mailmfa-access-pass'],
            html::tag('summary', null, rcube::Q($this->text($passkey ? 'passkeypasssummary' : 'accesspasssummary')))
            . $this->pass_form($action, $remember));
    }

    /**
     * The form for the temporary access pass an administrator gives a user who lost their phone,
     * or a recovery code. Both have letters, which the numeric code field does not take.
     */
    private function pass_form(array $action, $remember)
    {
        $pass = html::tag('input', [
                'type'           => 'text',
                'name'           => '_code',
                'id'             => 'mailmfa-pass',
                'class'          => 'form-control mailmfa-pass',
                'autocomplete'   => 'off',
                'autocapitalize' => 'off',
                'spellcheck'     => 'false',
                'maxlength'      => 16,
                'placeholder'    => 'abcde-fghjk',
                'required'       => true,
        ]);
        $button = html::tag('button', ['type' => 'submit', 'class' => 'btn btn-secondary', 'id' => 'mailmfa-pass-verify'],
            rcube::Q($this->text('verify')));

        return $this->rc->output->form_tag(['id' => 'mailmfa-pass-form', 'method' => 'post', 'action' => $this->rc->url($action)],
            html::label(['for' => 'mailmfa-pass', 'class' => 'mailmfa-label'], rcube::Q($this->text('accesspasslabel')))
            . html::div('mailmfa-code-row', $pass . $button)
            . $this->remember_box($remember, 'mailmfa-remember-pass')
        );
    }

    /**
     * "Remember this browser for N days", where the service allows remembering.
     */
    private function remember_box($days, $id)
    {
        if (empty($days)) {
            return '';
        }

        $box = html::tag('input', ['type' => 'checkbox', 'name' => '_remember', 'value' => '1', 'id' => $id]);

        return html::div('mailmfa-remember form-check', $box . ' ' . html::label(['for' => $id, 'class' => 'form-check-label'],
            rcube::Q($this->text('rememberdevice', ['days' => (int) $days]))));
    }

    /**
     * "Send a new code", for codes that come by SMS or e-mail (nothing for an app's code).
     *
     * @param string $id       The form's id
     * @param array  $action   Where it posts to (`_task`, `_action`)
     * @param string $provider The provider of the code
     */
    protected function resend_form_html($id, array $action, $provider)
    {
        if ($provider == 'totp' || $provider == 'passkey') {
            return '';
        }

        $button = html::tag('button', ['type' => 'submit', 'class' => 'btn btn-secondary', 'id' => 'mailmfa-resend'],
            rcube::Q($this->text('resend')));

        return $this->rc->output->form_tag(['id' => $id, 'method' => 'post', 'action' => $this->rc->url($action)], $button);
    }

    /**
     * The code typed into a code form, without spaces and dashes; null when there is none or it
     * cannot be a code.
     */
    protected function posted_code()
    {
        $code = preg_replace('/[\s-]+/', '', (string) rcube_utils::get_input_string('_code', rcube_utils::INPUT_POST));

        return $code === '' || strlen($code) > 64 ? null : $code;
    }
}
