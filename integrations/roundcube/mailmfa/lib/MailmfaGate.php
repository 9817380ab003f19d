<?php

/**
 * The sign-in gate: after Roundcube has checked the IMAP password (`login_after`), it asks the
 * service (`POST /v1/login/begin`) whether this sign-in needs a second factor. If it does, the
 * user sees the plugin's own page — a QR code to enrol an authenticator app, a field for the code,
 * or for a passkey mailbox *Create a passkey* / *Use your passkey* (the ceremony runs on this
 * page's origin, which the API client declares with `--origin`) — and `ready` turns every other
 * request of the session away (pages, frames and AJAX alike) until the service accepts a code or
 * a passkey. Then the recovery codes of a new enrolment are shown once. A passkey's answer that
 * the service refuses spends its challenge: the page begins a new one for the next try.
 *
 * The sign-in's state lives in the Roundcube session under MailmfaPages::SESSION: the
 * transaction, the provider, where to go afterwards, or why the sign-in stopped. An enrolment's
 * QR code and key are not part of it: the enrolment page asks the service for them each time it
 * is drawn.
 *
 * Copyright (C) The mailmfa developers. Licensed under the MIT license.
 */
class MailmfaGate extends MailmfaPages
{
    /** The actions of the plugin's own sign-in task, the only ones open before the code. */
    const SIGN_IN_ACTIONS = ['', 'index', 'verify', 'resend'];

    /** The labels of the title and the text of each page that ends a sign-in. */
    const STOPPED_TEXTS = [
        'locked'      => ['lockedtitle', 'lockedtext'],
        'sendlimit'   => ['sendlimittitle', 'sendlimittext'],
        'refused'     => ['refusedtitle', 'refusedtext'],
        'unavailable' => ['unavailabletitle', 'unavailabletext'],
        'expired'     => ['expiredtitle', 'expiredtext'],
    ];

    /** @var array What the page being sent shows beyond the session state (codes, lines of text) */
    private $shown = [];

    /**
     * Hook `login_after`: the IMAP password is proven; ask the service about this sign-in.
     *
     * @param array $args The query Roundcube redirects to after the login
     *
     * @return array Where to go: there when no code is needed, else the plugin's page
     */
    public function login_after($args)
    {
        unset($args['abort'], $args['_err']);

        $this->begin(array_filter($args, 'is_string'));

        return $this->passed() ? $args : ['_task' => 'mailmfa'];
    }

    /**
     * Hook `ready`: runs for every request of a signed-in session, AJAX included. Until the
     * second factor is done, only the plugin's own sign-in actions get through; everything
     * else is sent to the sign-in page (an AJAX request gets a redirect command and no data).
     *
     * @param array $args Task and action of the request
     *
     * @return array The same task and action
     */
    public function ready($args)
    {
        if ($this->passed()) {
            return $args;
        }

        if ($args['task'] == 'mailmfa' && in_array((string) $args['action'], self::SIGN_IN_ACTIONS, true)) {
            return $args;
        }

        // Ends the request: a Location header, or for AJAX a JSON answer that only redirects.
        $this->rc->output->redirect(['_task' => 'mailmfa']);
    }

    /**
     * Action `index` of the task `mailmfa`: the page the sign-in is at.
     */
    public function sign_in_page()
    {
        // A session that did not come through login_after (e.g. one older than the plugin)
        // is asked about now, its password having been proven when it began.
        if (!isset($_SESSION[self::SESSION])) {
            $this->begin(['_task' => 'mail']);
        }

        $state = $_SESSION[self::SESSION];

        if ($this->passed()) {
            $this->rc->output->redirect($state['return'] ?? ['_task' => 'mail']);
        }

        if (!empty($state['stopped'])) {
            $this->stopped_page($state);
        }

        if ($state['provider'] == 'passkey') {
            $this->page_setup();
            $this->plugin->include_script('mailmfa-passkey.js');
            $this->rc->output->send('mailmfa.passkey');
        }

        if ($state['decision'] == 'enroll') {
            try {
                $this->fetch_enrolment($state['transaction']);
            }
            catch (MailmfaError $e) {
                if ($e->status == 404) {
                    $this->stop('expired');
                }

                $this->log_failure('enrolment', $e);
                $this->stop('unavailable');
            }
        }

        $this->page_setup();
        $this->rc->output->send($state['decision'] == 'enroll' ? 'mailmfa.enroll' : 'mailmfa.challenge');
    }

    /**
     * Action `verify` (POST, with Roundcube's request token): checks the typed code.
     */
    public function verify()
    {
        $state = $_SESSION[self::SESSION] ?? [];

        if (empty($state['transaction']) || !empty($state['stopped'])) {
            $this->rc->output->redirect(['_task' => 'mailmfa']);
        }

        if (!$this->from_own_form()) {
            $this->note('invalidrequest', 'error');
        }

        $passkey = $state['provider'] == 'passkey' ? $this->posted_webauthn() : null;
        $code    = $passkey === null ? $this->posted_code() : null;

        if ($passkey === null && $code === null) {
            $this->note($state['provider'] == 'passkey' ? 'passkeymissing' : 'codemissing', 'error');
        }

        $remember = !empty(rcube_utils::get_input_string('_remember', rcube_utils::INPUT_POST)) && !empty($state['remember']);

        try {
            $answer = $passkey !== null
                ? $this->client()->verify_passkey($state['transaction'], $passkey, $remember)
                : $this->client()->verify($state['transaction'], $code, $remember);
        }
        catch (MailmfaError $e) {
            if ($e->status == 404) {
                $this->stop('expired');
            }

            $this->log_failure('verify', $e);
            $this->note('unavailablenow', 'error');
        }

        if (($answer['result'] ?? '') === 'accepted') {
            $this->accepted($state, $answer);
        }

        // Each of these ends the request.
        $reason = $answer['reason'] ?? '';

        if ($passkey !== null && in_array($reason, ['invalid_code', 'no_challenge'], true)) {
            $this->new_challenge($state, 'passkeyrefused');
        }

        if ($reason == 'invalid_code') {
            $this->note(self::wrong_code_label($state['provider']), 'error');
        }

        if ($reason == 'expired') {
            $this->note('codeexpired', 'error');
        }

        if ($reason == 'locked') {
            $this->stop_locked($answer['retry_after_s'] ?? null);
        }

        $this->stop('expired');
    }

    /**
     * The service refused a passkey's answer, which spent the challenge: a new sign-in
     * transaction with a new challenge for the next try, and the note (ends the request). A begin
     * that now answers otherwise (a lock) ends the sign-in as it says.
     */
    private function new_challenge(array $state, $label)
    {
        $this->begin($state['return'] ?? ['_task' => 'mail']);

        if (!empty($_SESSION[self::SESSION]['stopped']) || $this->passed()) {
            $this->rc->output->redirect(['_task' => 'mailmfa']);
        }

        $this->note($label, 'error');
    }

    /**
     * Action `resend` (POST, with Roundcube's request token): a new SMS or e-mail code.
     */
    public function resend()
    {
        $state = $_SESSION[self::SESSION] ?? [];

        if (empty($state['transaction']) || !empty($state['stopped']) || in_array($state['provider'], ['totp', 'passkey'], true)) {
            $this->rc->output->redirect(['_task' => 'mailmfa']);
        }

        if (!$this->from_own_form()) {
            $this->note('invalidrequest', 'error');
        }

        try {
            $answer = $this->client()->resend($state['transaction']);
        }
        catch (MailmfaError $e) {
            if ($e->status == 404) {
                $this->stop('expired');
            }

            $this->log_failure('resend', $e);
            $this->note('unavailablenow', 'error');
        }

        // Each of these ends the request.
        if (isset($answer['sent_to'])) {
            $_SESSION[self::SESSION]['sent_to'] = (string) $answer['sent_to'];
            $this->note('resent', 'confirmation', ['sentto' => (string) $answer['sent_to']]);
        }

        if (($answer['decision'] ?? '') != 'locked') {
            $this->note('unavailablenow', 'error');
        }

        if (($answer['reason'] ?? '') == 'send_limit') {
            $this->note('sendlimit', 'warning', ['minutes' => self::minutes((int) ($answer['retry_after_s'] ?? 0))]);
        }

        $this->stop_locked($answer['retry_after_s'] ?? null);
    }

    /**
     * Action `codes`: the recovery codes a completed enrolment brought, once (the sign-in is
     * done by then). Shown again, the page has nothing to show and goes on to the mailbox.
     */
    public function codes_page()
    {
        $state = $_SESSION[self::SESSION] ?? [];
        $codes = $state['recovery_codes'] ?? [];
        unset($_SESSION[self::SESSION]['recovery_codes']);

        if (!$this->passed() || empty($codes)) {
            $this->rc->output->redirect($state['return'] ?? ['_task' => 'mail']);
        }

        $this->shown = ['codes' => $codes, 'return' => $state['return'] ?? ['_task' => 'mail']];
        $this->page_setup();
        $this->rc->output->send('mailmfa.codes');
    }

    /**
     * The session state a begin's answer leads to.
     *
     * @param array $answer The service's answer to `POST /v1/login/begin` ([] when there was none)
     * @param array $return Where to go once the sign-in is complete
     * @param int   $now    The time (Unix)
     *
     * @return array `passed`, the transaction of a code page, or why the sign-in `stopped`
     */
    public static function state_after_begin(array $answer, array $return, $now)
    {
        $state = ['return' => $return];

        switch ($answer['decision'] ?? '') {
        case 'allow':
            $state['passed'] = true;
            break;

        case 'challenge':
        case 'enroll':
            // The transaction and how the code comes; an enrolment's secret and QR code stay
            // with the service, which the enrolment page asks each time it is drawn.
            $waiting = self::waiting_for_code($answer);
            if ($waiting === null) {
                $state['stopped'] = 'unavailable';
                break;
            }

            $state += $waiting;
            break;

        case 'locked':
            $state['stopped']  = ($answer['reason'] ?? '') == 'send_limit' ? 'sendlimit' : 'locked';
            $state['retry_at'] = $now + (int) ($answer['retry_after_s'] ?? 0);
            break;

        case 'refused':
            $state['stopped'] = 'refused';
            break;

        default:
            $state['stopped'] = 'unavailable';
        }

        return $state;
    }

    /**
     * Asks the service about this sign-in and keeps its answer in the session.
     *
     * @param array $return Where to go once the sign-in is complete
     */
    private function begin($return)
    {
        try {
            $answer = $this->client()->begin($this->rc->get_user_name(), rcube_utils::remote_addr(), $this->device_token());
        }
        catch (MailmfaError $e) {
            $this->log_failure('begin', $e);

            // Only a service that is down lets a sign-in through, never an answer a user can cause.
            if ($e->unavailable() && $this->rc->config->get('mailmfa_fail_open', false)) {
                rcube::raise_error(['code' => 500, 'file' => __FILE__, 'line' => __LINE__,
                    'message' => 'mailmfa: mailmfa_fail_open lets ' . $this->rc->get_user_name()
                        . ' in without a second factor'], true, false);
                $_SESSION[self::SESSION] = ['return' => $return, 'passed' => true];

                return;
            }

            $answer = [];
        }

        $_SESSION[self::SESSION] = self::state_after_begin($answer, $return, time());
    }

    /**
     * The remembered-browser token this browser sent for the mailbox, or null. A cookie that
     * cannot be one of the service's tokens is deleted and never sent.
     */
    private function device_token()
    {
        $name = $this->device_cookie();

        if (!isset($_COOKIE[$name])) {
            return null;
        }

        $token = self::usable_device_token($_COOKIE[$name]);

        if ($token === null) {
            rcube_utils::setcookie($name, '', time() - 86400);
        }

        return $token;
    }

    /**
     * The value of a remembered-browser cookie if it can be one of the service's tokens (URL-safe
     * base64, as the service writes them, of at most 128 characters), else null.
     *
     * @param mixed $value The cookie's value as PHP read it (a string, or an array for `name[]`)
     *
     * @return string|null
     */
    public static function usable_device_token($value)
    {
        return is_string($value) && preg_match('/^[A-Za-z0-9_-]{1,128}$/', $value) ? $value : null;
    }

    /**
     * The code was accepted: the session becomes a full one, and goes on to the recovery codes
     * of a new enrolment or where the sign-in was going (ends the request).
     *
     * @param array $state  The sign-in's state
     * @param array $answer The service's answer to the code
     */
    private function accepted(array $state, array $answer)
    {
        // The session gets a new id, and the id it had while waiting for the code stops working.
        $this->rc->session->regenerate_id(true);
        $this->rc->session->set_auth_cookie();

        $_SESSION[self::SESSION] = ['passed' => true];

        // The browser is remembered: its next sign-in brings the token and needs no code.
        if (!empty($answer['device_token']) && !empty($state['remember'])) {
            rcube_utils::setcookie($this->device_cookie(), (string) $answer['device_token'],
                time() + 86400 * (int) $state['remember']);
        }

        // A completed enrolment brings recovery codes: shown once, before the mailbox.
        if (!empty($answer['recovery_codes']) && is_array($answer['recovery_codes'])) {
            $_SESSION[self::SESSION]['recovery_codes'] = array_map('strval', $answer['recovery_codes']);
            $_SESSION[self::SESSION]['return'] = $state['return'] ?? ['_task' => 'mail'];
            $this->rc->output->redirect(['_task' => 'mailmfa', '_action' => 'codes']);
        }

        $this->rc->output->redirect($state['return'] ?? ['_task' => 'mail']);
    }

    /**
     * Whether this session has done its second factor (or needed none).
     */
    private function passed()
    {
        return !empty($_SESSION[self::SESSION]['passed']);
    }

    /**
     * Ends the sign-in on one of the pages that end it, and sends the browser there (ends the
     * request).
     *
     * @param string   $why      locked, sendlimit, refused, unavailable or expired
     * @param int|null $retry_at When a lock ends (Unix time)
     */
    private function stop($why, $retry_at = null)
    {
        $_SESSION[self::SESSION] = ['stopped' => $why, 'retry_at' => $retry_at];
        $this->rc->output->redirect(['_task' => 'mailmfa']);
    }

    /**
     * Ends the sign-in on the locked page (ends the request). When the answer that told of the
     * lock did not say how long it lasts (verify's `locked` does not), a begin asks: on a locked
     * mailbox it answers `locked` with the time, and sends no code.
     *
     * @param int|null $retry_after_s Seconds the lock lasts, if known
     */
    private function stop_locked($retry_after_s = null)
    {
        if ($retry_after_s === null) {
            try {
                $answer = $this->client()->begin($this->rc->get_user_name(), rcube_utils::remote_addr());
                $retry_after_s = $answer['retry_after_s'] ?? null;
            }
            catch (MailmfaError $e) {
                $this->log_failure('begin', $e);
            }
        }

        $this->stop('locked', $retry_after_s === null ? null : time() + (int) $retry_after_s);
    }

    /**
     * Keeps a note for the sign-in page and sends the browser back to it (ends the request).
     *
     * @param string $label A label of this plugin
     * @param string $type  error, warning, information or confirmation
     * @param array  $vars  The label's variables
     */
    private function note($label, $type, $vars = [])
    {
        $this->keep_note('note', $label, $type, $vars);
        $this->rc->output->redirect(['_task' => 'mailmfa']);
    }

    /**
     * A page that ends the sign-in: the session ends with it, so that nothing of the mailbox
     * can be reached from it, and the next step is a new sign-in.
     */
    private function stopped_page($state)
    {
        $why = isset(self::STOPPED_TEXTS[$state['stopped']]) ? $state['stopped'] : 'unavailable';
        list($title, $text) = self::STOPPED_TEXTS[$why];
        $locked = $why == 'locked' || $why == 'sendlimit';

        $lines = [$this->text($text, ['address' => $this->rc->get_user_name()])];

        if ($locked) {
            $retry_at = (int) ($state['retry_at'] ?? 0);
            $lines[]  = $retry_at > time()
                ? $this->text('lockedwhen', [
                    'minutes' => self::minutes($retry_at - time()),
                    'time'    => $this->rc->format_date($retry_at, $this->rc->config->get('time_format', 'H:i')),
                ])
                : $this->text('lockedlater');
        }

        $this->rc->kill_session();

        $this->shown = ['title' => $title, 'lines' => $lines, 'id' => $locked ? 'mailmfa-locked' : 'mailmfa-refused'];
        $this->page_setup();
        $this->rc->output->send('mailmfa.stopped');
    }

    /**
     * What every sign-in page needs: its title and stylesheet, and no background requests
     * (they would only be turned away by the gate).
     */
    private function page_setup()
    {
        $this->rc->output->set_pagetitle($this->text('pagetitle'));
        $this->rc->output->set_env('refresh_interval', 0);
        $this->rc->output->set_env('session_lifetime', 0);
        $this->plugin->include_stylesheet($this->plugin->local_skin_path() . '/mailmfa.css');
    }

    /**
     * Template object: the note left by the last action on the sign-in page, once.
     */
    public function note_object($attrib)
    {
        return $this->take_note('note', $attrib);
    }

    /**
     * Template object: what to do, in the words of the provider.
     */
    public function prompt_object($attrib)
    {
        $state = $_SESSION[self::SESSION];
        $label = $state['decision'] == 'enroll' ? 'enrolintro' . ($state['provider'] == 'passkey' ? 'passkey' : '')
            : 'codeintro' . $state['provider'];
        $text  = $this->text($label, [
            'address' => $this->rc->get_user_name(),
            'sentto'  => $state['sent_to'] ?? '',
        ]);

        return html::p(['id' => $attrib['id'] ?? null, 'class' => 'mailmfa-prompt'], rcube::Q($text));
    }

    /**
     * Template object: the enrolment QR code, as the service drew it.
     */
    public function qrcode_object($attrib)
    {
        return $this->qrcode_html($attrib['id'] ?? 'mailmfa-qrcode');
    }

    /**
     * Template object: the enrolment secret in groups of four, for typing it into an app.
     */
    public function secret_object($attrib)
    {
        return $this->secret_html($attrib['id'] ?? 'mailmfa-secret');
    }

    /**
     * Template object: for a phone that cannot scan its own screen, a link that hands the
     * account to the authenticator app on it (shown on touch screens only).
     */
    public function applink_object($attrib)
    {
        return $this->applink_html($attrib['id'] ?? 'mailmfa-applink');
    }

    /**
     * Template object: the code field and its button, and folded away below them the field for
     * a recovery code or an access pass.
     */
    public function code_form_object($attrib)
    {
        $state  = $_SESSION[self::SESSION];
        $enroll = $state['decision'] == 'enroll';

        return $this->code_form_html($attrib['id'] ?? 'mailmfa-code-form', ['_task' => 'mailmfa', '_action' => 'verify'],
            $enroll ? 'enrolstep2' : 'codelabel', $enroll, $state['remember'] ?? 0);
    }

    /**
     * Template object: the title of the passkey page.
     */
    public function passkey_title_object()
    {
        return rcube::Q($this->text($_SESSION[self::SESSION]['decision'] == 'enroll' ? 'passkeyenroltitle' : 'passkeytitle'));
    }

    /**
     * Template object: the passkey button (its ceremony run by `mailmfa-passkey.js`), and folded
     * away below it the field for a recovery code or an access pass.
     */
    public function passkey_form_object($attrib)
    {
        $state  = $_SESSION[self::SESSION];
        $action = ['_task' => 'mailmfa', '_action' => 'verify'];

        return $this->passkey_form_html($attrib['id'] ?? 'mailmfa-passkey-form', $action, $state['decision'] == 'enroll',
                (array) ($state['webauthn'] ?? []), $state['remember'] ?? 0)
            . $this->pass_details_html($action, $state['remember'] ?? 0, true);
    }

    /**
     * Template object: "send a new code", for codes that come by SMS or e-mail.
     */
    public function resend_form_object($attrib)
    {
        return $this->resend_form_html($attrib['id'] ?? 'mailmfa-resend-form', ['_task' => 'mailmfa', '_action' => 'resend'],
            $_SESSION[self::SESSION]['provider']);
    }

    /**
     * Template object: sign out instead (Roundcube's own logout, with its request token).
     */
    public function signout_object($attrib)
    {
        $url = $this->rc->url(['_task' => 'logout', '_token' => $this->rc->get_request_token()]);

        return html::a(['href' => $url, 'id' => $attrib['id'] ?? 'mailmfa-signout', 'class' => 'mailmfa-signout'],
            rcube::Q($this->text('signout')));
    }

    /**
     * Template object: the recovery codes of a new enrolment.
     */
    public function codes_object($attrib)
    {
        return $this->codes_list($this->shown['codes'] ?? [], $attrib['id'] ?? 'mailmfa-codes');
    }

    /**
     * Template object: on from the recovery codes to where the sign-in was going.
     */
    public function continue_object($attrib)
    {
        return html::a([
                'href'  => $this->rc->url($this->shown['return'] ?? ['_task' => 'mail']),
                'id'    => $attrib['id'] ?? 'mailmfa-continue',
                'class' => 'btn btn-primary mainaction',
            ],
            rcube::Q($this->text('codescontinue'))
        );
    }

    /**
     * Template object: the title of the page that ended the sign-in.
     */
    public function stopped_title_object()
    {
        return rcube::Q($this->text($this->shown['title'] ?? 'unavailabletitle'));
    }

    /**
     * Template object: why the sign-in ended, and for a lock when to try again. Its id says
     * which kind of page it is: `mailmfa-locked` after a lock, else `mailmfa-refused`.
     */
    public function stopped_text_object($attrib)
    {
        $lines = array_map(function ($line) { return html::p(null, rcube::Q($line)); }, $this->shown['lines'] ?? []);

        return html::div(['id' => $attrib['id'] ?? $this->shown['id'] ?? null, 'class' => 'mailmfa-stopped-text', 'role' => 'alert'],
            implode('', $lines));
    }

    /**
     * Template object: back to Roundcube's login page.
     */
    public function back_object($attrib)
    {
        return html::a(['href' => './', 'id' => $attrib['id'] ?? 'mailmfa-back', 'class' => 'btn btn-primary'],
            rcube::Q($this->text('backtosignin')));
    }
}
