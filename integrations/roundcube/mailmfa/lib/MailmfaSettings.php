<?php

/**
 * Settings → Two-factor authentication: users change their own challenge mode and provider where
 * the administrator allows it (`PUT /v1/users/{address}/settings`), get new recovery codes (shown
 * once), and forget the browsers remembered for their mailbox. Where the post office does not let
 * users configure their settings, the page shows them read-only.
 *
 * Whoever has only the session (a stolen cookie, a shared computer left signed in) must not be
 * able to change where the codes go: a new provider, SMS number or alternate address, new recovery
 * codes and forgetting the remembered browsers first ask for a fresh code (a step-up:
 * `POST /v1/login/begin` with `"purpose": "step_up"`). The change waits in the session under
 * `step_up` while the code page of the settings asks for the code, and is carried out with the
 * token the accepted code brings (`Mailmfa-Step-Up`); it is dropped when the step-up ends, however
 * it ends. Changing only the challenge mode needs no step-up. A new app password for a mail program
 * (Settings → Mail programs, MailmfaMailPrograms) and adding or removing a passkey (Settings →
 * Passkeys, MailmfaPasskeys) run the same step-up, and go back to their own page. For a mailbox
 * that signs in with a passkey the step-up is a passkey ceremony on the code page.
 *
 * The modes and providers, and their names, are the service's (`choices` in its answer); a
 * translation may name one itself as `challenge_<value>` or `provider_<value>`.
 *
 * Copyright (C) The mailmfa developers. Licensed under the MIT license.
 */
class MailmfaSettings extends MailmfaPages
{
    /** The refusals of a change that have words of their own (`refused_<reason>`). */
    const REFUSALS = ['self_service_off', 'provider_disabled', 'provider_not_user_configurable', 'step_up_required'];

    /** The step-up of a new app password: Settings → Mail programs runs this section's step-up. */
    const APP_PASSWORD = 'app_password';

    /** The step-ups of Settings → Passkeys: adding one, removing one. */
    const PASSKEY_ADD    = 'passkey_add';
    const PASSKEY_REMOVE = 'passkey_remove';

    /** What a step-up can be run for, and the label of the note when it is done. */
    const STEP_UP_ACTIONS = [
        'save'               => 'saved',
        'codes'              => 'newcodesshown',
        'browsers'           => 'browsersforgotten',
        self::APP_PASSWORD   => 'apppasswordmade',
        self::PASSKEY_ADD    => 'passkeyadded',
        self::PASSKEY_REMOVE => 'passkeyremoved',
    ];

    /** The step-ups that carry a change to send once the code is accepted. */
    const STEP_UP_CHANGES = ['save', self::APP_PASSWORD, self::PASSKEY_ADD, self::PASSKEY_REMOVE];

    /** Where the code page of a step-up is. */
    const STEP_UP_PAGE = ['_task' => 'settings', '_action' => 'plugin.mailmfa-step-up'];

    /** @var MailmfaMailPrograms|null Settings → Mail programs, whose new app passwords wait for a step-up here */
    private $mail_programs;

    /** @var MailmfaPasskeys|null Settings → Passkeys, whose additions and removals wait for a step-up here */
    private $passkeys;

    /**
     * Settings → Passkeys: adding or removing a passkey runs this section's step-up, and the
     * accepted step-up hands it back.
     */
    public function set_passkeys(MailmfaPasskeys $passkeys)
    {
        $this->passkeys = $passkeys;
    }

    /**
     * Settings → Mail programs: a new app password runs this section's step-up, and the accepted
     * code hands it back.
     */
    public function set_mail_programs(MailmfaMailPrograms $mail_programs)
    {
        $this->mail_programs = $mail_programs;
    }

    /**
     * Hook `settings_actions`: the section Settings → Two-factor authentication.
     */
    public function settings_actions($args)
    {
        $args['actions'][] = [
            'action' => 'plugin.mailmfa-settings',
            'class'  => 'twofactorauth mailmfa',
            'label'  => 'settingstitle',
            'title'  => 'settingshint',
            'domain' => 'mailmfa',
        ];

        return $args;
    }

    /**
     * Action `plugin.mailmfa-settings`: the self-service form. A step-up left unfinished (the
     * user went back to the settings instead of typing the code) ends here with its change.
     */
    public function page()
    {
        unset($_SESSION[self::SESSION]['step_up']);

        $this->rc->output->set_pagetitle($this->text('settingstitle'));
        $this->rc->output->send('mailmfa.settings');
    }

    /**
     * Action `plugin.mailmfa-settings-save` (POST with the request token): sends the user's
     * change to the service — a change of where the codes go after a step-up.
     */
    public function save()
    {
        $this->refuse_unless_own_form();

        // Where the post office decides, the page offered nothing to change, and the service
        // refuses every change: none is sent, and no code is asked for.
        if (!empty($_SESSION[self::SESSION]['current']['fixed'])) {
            $this->back_to_page('refused_self_service_off', 'error');
        }

        $posted = [];
        foreach (['challenge', 'provider', 'sms_number', 'alt_email'] as $name) {
            $posted[$name] = rcube_utils::get_input_string("_$name", rcube_utils::INPUT_POST);
        }

        // What the page showed and offered: a choice left as it was is not sent, so that a new
        // number alone does not send the mode again (and a mode alone needs no step-up).
        $shown    = $_SESSION[self::SESSION]['current'] ?? [];
        $settings = self::changes($posted, $shown, $shown['offered'] ?? ['challenge' => [], 'provider' => []]);

        if (empty($settings)) {
            $this->back_to_page('nothingtosave', 'information');
        }

        if (self::needs_step_up($settings)) {
            $this->begin_step_up('save', $settings);
        }

        try {
            $answer = $this->client()->user_settings($this->rc->get_user_name(), $settings);
        }
        catch (MailmfaError $e) {
            list($label, $vars) = self::refusal($e);
            if ($label == 'settingsunavailable') {
                $this->log_failure('settings', $e);
            }
            $this->back_to_page($label, 'error', $vars);
        }

        $this->back_to_page('saved', 'confirmation', $this->saved_vars($answer));
    }

    /**
     * Action `plugin.mailmfa-recovery-codes` (POST with the request token): after a step-up, ten
     * new recovery codes, shown once on the settings page; the old ones stop working.
     */
    public function new_recovery_codes()
    {
        $this->refuse_unless_own_form();
        $this->begin_step_up('codes');
    }

    /**
     * Action `plugin.mailmfa-forget-browsers` (POST with the request token): after a step-up,
     * every browser remembered for the mailbox, this one included, asks for a code again.
     */
    public function forget_browsers()
    {
        $this->refuse_unless_own_form();
        $this->begin_step_up('browsers');
    }

    /**
     * Action `plugin.mailmfa-step-up`: the code page of a step-up, in the settings. For a mailbox
     * without an authenticator app it is the enrolment of one, whose QR code the service draws
     * for this page.
     */
    public function step_up_page()
    {
        $pending = $this->pending_step_up();

        if ($pending['decision'] == 'enroll') {
            try {
                $this->fetch_enrolment($pending['transaction']);
            }
            catch (MailmfaError $e) {
                if ($e->status == 404) {
                    $this->end_step_up($pending['action'], 'stepupexpired', 'error');
                }

                $this->log_failure('enrolment', $e);
                $this->end_step_up($pending['action'], 'settingsunavailable', 'error');
            }
        }

        if ($pending['provider'] == 'passkey') {
            $this->plugin->include_script('mailmfa-passkey.js');
        }

        $this->rc->output->set_pagetitle($this->text('stepuptitle'));
        $this->rc->output->send('mailmfa.stepup');
    }

    /**
     * Action `plugin.mailmfa-step-up-verify` (POST with the request token): checks the code of
     * the step-up, and when it is accepted carries out the change that waited for it.
     */
    public function step_up_verify()
    {
        $pending = $this->pending_step_up();

        if (!$this->from_own_form()) {
            $this->step_up_note('invalidrequest', 'error');
        }

        $passkey = $pending['provider'] == 'passkey' ? $this->posted_webauthn() : null;
        $code    = $passkey === null ? $this->posted_code() : null;

        if ($passkey === null && $code === null) {
            $this->step_up_note($pending['provider'] == 'passkey' ? 'passkeymissing' : 'codemissing', 'error');
        }

        try {
            $answer = $passkey !== null
                ? $this->client()->verify_passkey($pending['transaction'], $passkey)
                : $this->client()->verify($pending['transaction'], $code);
        }
        catch (MailmfaError $e) {
            if ($e->status == 404) {
                $this->end_step_up($pending['action'], 'stepupexpired', 'error');
            }

            $this->log_failure('verify', $e);
            $this->step_up_note('unavailablenow', 'error');
        }

        if (($answer['result'] ?? '') === 'accepted') {
            $this->carry_out($pending, $answer);
        }

        // Each of these ends the request.
        $reason = $answer['reason'] ?? '';

        if ($passkey !== null && in_array($reason, ['invalid_code', 'no_challenge'], true)) {
            // The refused answer spent the challenge: a new step-up for the next try.
            $this->begin_step_up($pending['action'], $pending['settings'] ?? [], 'passkeyrefused');
        }

        if ($reason == 'invalid_code') {
            $this->step_up_note(self::wrong_code_label($pending['provider']), 'error');
        }

        if ($reason == 'expired') {
            $this->step_up_note('codeexpired', 'error');
        }

        if ($reason == 'locked') {
            $this->end_step_up($pending['action'], 'stepuplockedlater', 'error');
        }

        $this->end_step_up($pending['action'], 'stepupexpired', 'error');
    }

    /**
     * Action `plugin.mailmfa-step-up-resend` (POST with the request token): a new SMS or e-mail
     * code for the step-up.
     */
    public function step_up_resend()
    {
        $pending = $this->pending_step_up();

        if ($pending['provider'] == 'totp') {
            $this->rc->output->redirect(self::STEP_UP_PAGE);
        }

        if (!$this->from_own_form()) {
            $this->step_up_note('invalidrequest', 'error');
        }

        try {
            $answer = $this->client()->resend($pending['transaction']);
        }
        catch (MailmfaError $e) {
            if ($e->status == 404) {
                $this->end_step_up($pending['action'], 'stepupexpired', 'error');
            }

            $this->log_failure('resend', $e);
            $this->step_up_note('unavailablenow', 'error');
        }

        // Each of these ends the request.
        if (isset($answer['sent_to'])) {
            // The service gives the transaction a new lifetime with the new code.
            $_SESSION[self::SESSION]['step_up']['sent_to'] = (string) $answer['sent_to'];
            $_SESSION[self::SESSION]['step_up']['until']   = time() + $pending['lifetime'];
            $this->step_up_note('resent', 'confirmation', ['sentto' => (string) $answer['sent_to']]);
        }

        if (($answer['decision'] ?? '') != 'locked') {
            $this->step_up_note('unavailablenow', 'error');
        }

        $minutes = self::minutes((int) ($answer['retry_after_s'] ?? 0));

        if (($answer['reason'] ?? '') == 'send_limit') {
            $this->step_up_note('sendlimit', 'warning', ['minutes' => $minutes]);
        }

        $this->end_step_up($pending['action'], 'stepuplocked', 'error', ['minutes' => $minutes]);
    }

    /**
     * Whether a change needs a step-up: anything but the challenge mode changes where the codes
     * go (the service refuses it without one).
     *
     * @param array $changes The changes by name, as changes() makes them
     */
    public static function needs_step_up(array $changes)
    {
        return !empty(array_diff_key($changes, ['challenge' => true]));
    }

    /**
     * What the answer to a step-up's begin leads to: the step-up waiting for its code, or the
     * note that ends it with nothing changed.
     *
     * @param array  $answer   The service's answer to `POST /v1/login/begin` ([] when there was none)
     * @param string $action   What the step-up is for: a key of STEP_UP_ACTIONS
     * @param array  $settings The change a `save` waits to send
     * @param int    $now      The time (Unix)
     *
     * @return array `['pending' => the step-up's session state]` or `['note' => [label, type, vars]]`
     */
    public static function step_up_after_begin(array $answer, $action, array $settings, $now)
    {
        $waiting = self::waiting_for_code($answer);

        if ($waiting !== null) {
            // No browser is remembered at a step-up: the code proves the user, not the device.
            unset($waiting['remember']);
            $lifetime = max(60, (int) ($answer['expires_in'] ?? 300));

            return ['pending' => [
                'action'   => $action,
                'settings' => in_array($action, self::STEP_UP_CHANGES, true) ? $settings : [],
                'lifetime' => $lifetime,
                'until'    => $now + $lifetime,
            ] + $waiting];
        }

        $minutes = self::minutes((int) ($answer['retry_after_s'] ?? 0));

        switch ($answer['decision'] ?? '') {
        case 'locked':
            $label = ($answer['reason'] ?? '') == 'send_limit' ? 'stepupsendlimit' : 'stepuplocked';

            return ['note' => [$label, 'error', ['minutes' => $minutes]]];

        case 'refused':
            return ['note' => ['stepuprefused', 'error', []]];

        default:
            return ['note' => ['settingsunavailable', 'error', []]];
        }
    }

    /**
     * The settings a save sends: each posted value that is allowed and differs from what the page
     * showed. Free-form values (numbers, addresses) are sent when not empty.
     *
     * @param array $posted  The form's values by name
     * @param array $shown   What the page showed, by name
     * @param array $allowed The values allowed, by name; a name not listed takes any value
     *
     * @return array The changes by name
     */
    public static function changes(array $posted, array $shown, array $allowed)
    {
        $changes = [];

        foreach ($posted as $name => $value) {
            $value = trim((string) $value);

            if ($value !== '' && (!isset($allowed[$name]) || in_array($value, $allowed[$name], true))
                && $value !== ($shown[$name] ?? null)
            ) {
                $changes[$name] = $value;
            }
        }

        return $changes;
    }

    /**
     * The choices the service offers for `$name`, in its order, as value => the service's name for
     * it; of the providers, those the user may choose and the one in use (which an administrator
     * may have set).
     *
     * @param array  $settings The service's answer about the mailbox's settings
     * @param string $name     challenge or provider
     *
     * @return array|null null when the answer has no list of them
     */
    public static function offered(array $settings, $name)
    {
        if (!isset($settings['choices'][$name]) || !is_array($settings['choices'][$name])) {
            return null;
        }

        $offered = [];
        foreach ($settings['choices'][$name] as $choice) {
            $value = $choice['value'] ?? null;
            if (is_string($value) && $value !== '') {
                $offered[$value] = is_string($choice['label'] ?? null) && $choice['label'] !== '' ? $choice['label'] : $value;
            }
        }

        if ($name == 'provider') {
            $mine    = array_merge((array) ($settings['providers'] ?? []), [$settings['provider'] ?? null]);
            $offered = array_intersect_key($offered, array_flip(array_filter($mine, 'is_string')));
        }

        return $offered;
    }

    /**
     * A refused change in the user's words: the label of the note and its variables. A refusal
     * without words of its own is the service being unavailable.
     *
     * @return array [label, vars]
     */
    public static function refusal(MailmfaError $e)
    {
        if ($e->status == 403 && in_array($e->reason, self::REFUSALS, true)) {
            return ['refused_' . $e->reason, []];
        }

        if ($e->status == 400) {
            // The service explains what is wrong with the value (e.g. the phone number's form).
            return ['notsaved', ['error' => preg_replace('/^the service answered 400: /', '', $e->getMessage())]];
        }

        return ['settingsunavailable', []];
    }

    /**
     * Starts a step-up for `$action`: the code page of the settings when the service asks for a
     * code, else back to the page it was run from with why nothing changed (ends the request).
     *
     * @param string      $action   A key of STEP_UP_ACTIONS
     * @param array       $settings The change a `save`, a new app password or a passkey waits to send
     * @param string|null $note     A note for the code page (a new try after a refused passkey)
     */
    public function begin_step_up($action, array $settings = [], $note = null)
    {
        try {
            $answer = $this->client()->begin($this->rc->get_user_name(), rcube_utils::remote_addr(), null, 'step_up');
        }
        catch (MailmfaError $e) {
            $this->log_failure('step-up', $e);
            $answer = [];
        }

        $after = self::step_up_after_begin($answer, $action, $settings, time());

        if (isset($after['pending'])) {
            $_SESSION[self::SESSION]['step_up'] = $after['pending'];
            if ($note !== null) {
                $this->keep_note('step_up_note', $note, 'error');
            }
            $this->rc->output->redirect(self::STEP_UP_PAGE);
        }

        list($label, $type, $vars) = $after['note'];
        $this->end_step_up($action, $label, $type, $vars);
    }

    /**
     * The step-up that waits for its code; without one, back to the settings (ends the request).
     */
    private function pending_step_up()
    {
        $pending = $_SESSION[self::SESSION]['step_up'] ?? null;

        if (!is_array($pending) || !isset(self::STEP_UP_ACTIONS[$pending['action'] ?? ''])) {
            unset($_SESSION[self::SESSION]['step_up']);
            $this->rc->output->redirect(['_task' => 'settings', '_action' => 'plugin.mailmfa-settings']);
        }

        if ((int) ($pending['until'] ?? 0) <= time()) {
            $this->end_step_up($pending['action'], 'stepupexpired', 'error');
        }

        return $pending;
    }

    /**
     * The step-up's code was accepted: carries out the change that waited for it with the token
     * the code brought, and goes back to the settings with the outcome (ends the request). A
     * step-up that enrolled an authenticator app brought recovery codes too: they are shown once.
     * A new app password is made and shown by Settings → Mail programs, on the page of this
     * request.
     *
     * @param array $pending The step-up
     * @param array $answer  The service's answer to the code
     */
    private function carry_out(array $pending, array $answer)
    {
        unset($_SESSION[self::SESSION]['step_up']);

        $token = $answer['step_up_token'] ?? null;
        $codes = !empty($answer['recovery_codes']) && is_array($answer['recovery_codes'])
            ? array_map('strval', $answer['recovery_codes']) : [];

        if (!is_string($token) || $token === '') {
            rcube::raise_error(['code' => 500, 'file' => __FILE__, 'line' => __LINE__,
                'message' => 'mailmfa: the step-up of ' . $this->rc->get_user_name() . ' brought no token'], true, false);
            $token = null;
        }

        if ($pending['action'] == self::APP_PASSWORD) {
            $this->mail_programs->issue($pending['settings'], $token, $codes);
        }

        if ($this->passkeys !== null && in_array($pending['action'], [self::PASSKEY_ADD, self::PASSKEY_REMOVE], true)) {
            $this->passkeys->after_step_up($pending['action'], $pending['settings'], $token, $codes);
        }

        if (!empty($codes)) {
            $_SESSION[self::SESSION]['new_codes'] = $codes;
        }

        if ($token === null) {
            $this->back_to_page('settingsunavailable', 'error');
        }

        $client  = $this->client();
        $address = $this->rc->get_user_name();
        $vars    = [];

        try {
            switch ($pending['action']) {
            case 'codes':
                $codes = $client->new_recovery_codes($address, $token);
                $_SESSION[self::SESSION]['new_codes'] = array_map('strval', $codes['recovery_codes'] ?? []);
                break;

            case 'browsers':
                $client->forget_devices($address, $token);
                rcube_utils::setcookie($this->device_cookie(), '', time() - 86400);
                break;

            default:
                $vars = $this->saved_vars($client->user_settings($address, $pending['settings'], $token));
            }
        }
        catch (MailmfaError $e) {
            list($label, $vars) = self::refusal($e);
            if ($label == 'settingsunavailable') {
                $this->log_failure($pending['action'], $e);
            }
            $this->back_to_page($label, 'error', $vars);
        }

        $this->back_to_page(self::STEP_UP_ACTIONS[$pending['action']], 'confirmation', $vars);
    }

    /**
     * The variables of the note `saved`: the mode and provider after the change.
     *
     * @param array $answer The service's answer about the mailbox's settings
     */
    private function saved_vars(array $answer)
    {
        return [
            'challenge' => $this->label('challenge', $answer['challenge'] ?? '', self::offered($answer, 'challenge') ?? []),
            'provider'  => $this->label('provider', $answer['provider'] ?? '', self::offered($answer, 'provider') ?? []),
        ];
    }

    /**
     * Ends the step-up and its change, and goes back to the page it was run from with why (ends
     * the request).
     *
     * @param string $action What the step-up was for: a key of STEP_UP_ACTIONS
     */
    private function end_step_up($action, $label, $type, array $vars = [])
    {
        unset($_SESSION[self::SESSION]['step_up']);

        if ($action == self::APP_PASSWORD) {
            $this->mail_programs->back_to_page($label, $type, $vars);
        }

        if ($this->passkeys !== null && in_array($action, [self::PASSKEY_ADD, self::PASSKEY_REMOVE], true)) {
            $this->passkeys->back_to_page($label, $type, $vars);
        }

        $this->back_to_page($label, $type, $vars);
    }

    /**
     * Keeps a note for the step-up's code page and sends the browser back to it (ends the
     * request); the step-up goes on.
     */
    private function step_up_note($label, $type, array $vars = [])
    {
        $this->keep_note('step_up_note', $label, $type, $vars);
        $this->rc->output->redirect(self::STEP_UP_PAGE);
    }

    /**
     * Goes back to the settings page with Roundcube's "Invalid request! No data was saved." unless
     * the request is the page's own form (ends the request then).
     */
    private function refuse_unless_own_form()
    {
        if (!$this->from_own_form()) {
            $this->back_to_page('invalidrequest', 'error');
        }
    }

    /**
     * Keeps the note for the settings page and sends the browser back to it (ends the request).
     */
    private function back_to_page($label, $type, array $vars = [])
    {
        $this->keep_note('settings_note', $label, $type, $vars);
        $this->rc->output->redirect(['_task' => 'settings', '_action' => 'plugin.mailmfa-settings']);
    }

    /**
     * Template object: the outcome of the last save, once.
     */
    public function note_object($attrib)
    {
        return $this->take_note('settings_note', $attrib);
    }

    /**
     * Template object: the self-service form, the recovery codes and the remembered browsers.
     * Where the post office does not let users configure their settings (the service refuses
     * every change then), the settings are shown read-only; the recovery codes and the
     * remembered browsers, which that switch does not govern, stay available.
     */
    public function form_object($attrib)
    {
        // What applies now and what may be chosen, as the service says; without it, nothing to change.
        $current = $this->read_settings();
        $_SESSION[self::SESSION]['current'] = [];

        if ($current === null) {
            return html::p(['id' => 'mailmfa-settings-unread', 'class' => 'mailmfa-unread boxwarning'],
                rcube::Q($this->text('settingsunread')));
        }

        $offered = ['challenge' => self::offered($current, 'challenge'), 'provider' => self::offered($current, 'provider')];
        $fixed   = empty($current['may_change_challenge']);
        $_SESSION[self::SESSION]['current'] = $fixed ? ['fixed' => true] : [
            'challenge' => $current['challenge'] ?? null,
            'provider'  => $current['provider'] ?? null,
            'offered'   => array_map('array_keys', $offered),
        ];

        $table = new html_table(['cols' => 2, 'class' => 'propform']);
        $this->mode_rows($table, $current, $offered, $fixed);
        $this->contact_rows($table, $current, $fixed);

        $sections = $this->recovery_section($current) . $this->browsers_section($current);

        if ($fixed) {
            $intro = html::p(['id' => 'mailmfa-settings-fixed-note', 'class' => 'mailmfa-intro'],
                rcube::Q($this->text('settingsfixed')));

            return html::div(['id' => 'mailmfa-settings-fixed'], $intro . $table->show()) . $sections;
        }

        $intro  = html::p(['class' => 'mailmfa-intro'], rcube::Q($this->text('settingsintro')));
        $button = html::tag('button', ['type' => 'submit', 'class' => 'btn btn-primary submit', 'id' => 'mailmfa-save'],
            rcube::Q($this->text('save')));

        $form = $this->rc->output->form_tag([
                'id'     => $attrib['id'] ?? 'mailmfa-settings-form',
                'method' => 'post',
                'action' => $this->rc->url(['_task' => 'settings', '_action' => 'plugin.mailmfa-settings-save']),
            ],
            $intro . $table->show() . html::p(['class' => 'formbuttons'], $button)
        );

        return $form . $sections;
    }

    /**
     * The mailbox's settings as the service shows them to its user, or null when it cannot be
     * asked or does not say what may be chosen.
     */
    private function read_settings()
    {
        try {
            $current = $this->client()->show_user_settings($this->rc->get_user_name());
        }
        catch (MailmfaError $e) {
            $this->log_failure('settings', $e);

            return null;
        }

        if (self::offered($current, 'challenge') === null || self::offered($current, 'provider') === null) {
            rcube::raise_error(['code' => 500, 'file' => __FILE__, 'line' => __LINE__,
                'message' => 'mailmfa: the settings of ' . $this->rc->get_user_name()
                    . ' came without their choices: the service is older than this plugin'], true, false);

            return null;
        }

        return $current;
    }

    /**
     * The form's rows of when to ask for a code and how to receive it.
     *
     * @param html_table $table   The form's table
     * @param array      $current The service's answer about the mailbox's settings
     * @param array      $offered What may be chosen, as offered() says, by name
     * @param bool       $fixed   The post office decides: shown, not changeable
     */
    private function mode_rows(html_table $table, array $current, array $offered, $fixed)
    {
        $challenge = $this->select('challenge', $offered['challenge'], $current['challenge'] ?? '',
            $fixed ? 'mailmfa-challenge-hint' : null);
        if ($fixed) {
            $mode = $this->label('challenge', (string) ($current['effective_challenge'] ?? ''), $offered['challenge']);
            $challenge .= html::div(['id' => 'mailmfa-challenge-hint', 'class' => 'form-text text-muted'],
                rcube::Q($this->text('challengefixed', ['mode' => $mode])));
        }
        $table->add('title', html::label('mailmfa-challenge', rcube::Q($this->text('challenge'))));
        $table->add(null, $challenge);

        $table->add('title', html::label('mailmfa-provider', rcube::Q($this->text('provider'))));
        $table->add(null, $this->select('provider', $offered['provider'], $current['provider'] ?? '',
            $fixed ? 'mailmfa-settings-fixed-note' : null));
    }

    /**
     * The form's rows of the number and the address codes are sent to.
     *
     * @param html_table $table   The form's table
     * @param array      $current The service's answer about the mailbox's settings
     * @param bool       $fixed   The post office decides: shown, not changeable
     */
    private function contact_rows(html_table $table, array $current, $fixed)
    {
        $fields = [
            'sms_number' => ['smsnumber', 'tel', 'tel', '+15551234567', 'smsnumberhint'],
            'alt_email'  => ['altemail', 'email', 'email', 'name@example.org', 'altemailhint'],
        ];

        foreach ($fields as $name => list($label, $type, $autocomplete, $placeholder, $hint)) {
            $id     = 'mailmfa-' . str_replace('_', '-', $name);
            $attrib = [
                'type'             => $type,
                'name'             => "_$name",
                'id'               => $id,
                'class'            => 'form-control',
                'autocomplete'     => $autocomplete,
                'placeholder'      => $placeholder,
                'aria-describedby' => "$id-hint",
            ];
            $hint = html::div(['id' => "$id-hint", 'class' => 'form-text text-muted'], rcube::Q($this->text($hint)));

            if ($fixed) {
                // The one set now, masked by the service, as it is.
                $attrib = ['value' => (string) ($current[$name] ?? ''), 'disabled' => 'disabled', 'placeholder' => '',
                    'aria-describedby' => 'mailmfa-settings-fixed-note'] + $attrib;
                $hint   = '';
            }
            else if (!empty($current[$name])) {
                // The one set now, masked by the service: typing replaces it, empty keeps it.
                $attrib['placeholder'] = $current[$name];
            }

            $table->add('title', html::label($id, rcube::Q($this->text($label))));
            $table->add(null, html::tag('input', $attrib) . $hint);
        }
    }

    /**
     * A drop-down of the `$offered` choices of `$name`, at `$current`.
     *
     * @param string      $name     challenge or provider
     * @param array       $offered  value => the service's name for it
     * @param string      $current  The value in use
     * @param string|null $fixed_by Shown but not changeable: the id of the text that says why
     */
    private function select($name, array $offered, $current, $fixed_by = null)
    {
        $attrib = ['name' => "_$name", 'id' => "mailmfa-$name", 'class' => 'custom-select'];
        if ($fixed_by !== null) {
            $attrib['disabled'] = 'disabled';
            $attrib['aria-describedby'] = $fixed_by;
        }
        $select = new html_select($attrib);

        foreach (array_keys($offered) as $value) {
            $select->add($this->label($name, $value, $offered), $value);
        }

        return $select->show($current);
    }

    /**
     * The name of a challenge mode or provider: a translation's `challenge_<value>` or
     * `provider_<value>` where there is one, else the service's, else the value itself.
     *
     * @param string $name    challenge or provider
     * @param string $value   The mode or provider
     * @param array  $offered value => the service's name for it
     */
    private function label($name, $value, array $offered)
    {
        $label = "{$name}_{$value}";

        if ($this->rc->text_exists($label, 'mailmfa')) {
            return $this->text($label);
        }

        return $offered[$value] ?? $value;
    }

    /**
     * The settings page's recovery codes: how many are left, new ones just issued (once), and
     * the button that issues new ones.
     */
    private function recovery_section($current)
    {
        $codes = $_SESSION[self::SESSION]['new_codes'] ?? [];
        unset($_SESSION[self::SESSION]['new_codes']);

        $html = html::tag('h2', ['class' => 'mailmfa-recovery-title'], rcube::Q($this->text('codestitle')));

        if (!empty($codes)) {
            $html .= html::p(null, rcube::Q($this->text('codesintro'))) . $this->codes_list($codes, 'mailmfa-new-codes');
        }
        else if (isset($current['recovery_codes_left'])) {
            $html .= html::p(['id' => 'mailmfa-codes-left'],
                rcube::Q($this->text('codesleft', ['count' => (int) $current['recovery_codes_left']])));
        }

        $button = html::tag('button', ['type' => 'submit', 'class' => 'btn btn-secondary', 'id' => 'mailmfa-new-codes-button'],
            rcube::Q($this->text('newcodes')));

        return $html . $this->rc->output->form_tag([
                'id'     => 'mailmfa-recovery-form',
                'method' => 'post',
                'action' => $this->rc->url(['_task' => 'settings', '_action' => 'plugin.mailmfa-recovery-codes']),
            ],
            html::p(['class' => 'form-text text-muted'], rcube::Q($this->text('newcodeshint'))) . html::p(null, $button)
        );
    }

    /**
     * The settings page's remembered browsers: how many, and the button that forgets them all.
     */
    private function browsers_section($current)
    {
        if (empty($current['remembered_devices'])) {
            return '';
        }

        $button = html::tag('button', ['type' => 'submit', 'class' => 'btn btn-secondary', 'id' => 'mailmfa-forget-browsers'],
            rcube::Q($this->text('forgetbrowsers')));

        return html::tag('h2', ['class' => 'mailmfa-recovery-title'], rcube::Q($this->text('browserstitle')))
            . html::p(['id' => 'mailmfa-browsers'],
                rcube::Q($this->text('browsersremembered', ['count' => (int) $current['remembered_devices']])))
            . $this->rc->output->form_tag([
                    'id'     => 'mailmfa-browsers-form',
                    'method' => 'post',
                    'action' => $this->rc->url(['_task' => 'settings', '_action' => 'plugin.mailmfa-forget-browsers']),
                ],
                html::p(null, $button)
            );
    }

    /**
     * Template object: the note left by the last attempt on the step-up's code page, once.
     */
    public function step_up_note_object($attrib)
    {
        return $this->take_note('step_up_note', $attrib);
    }

    /**
     * Template object: why a code is asked for, and where it comes from.
     */
    public function step_up_prompt_object($attrib)
    {
        $pending = $_SESSION[self::SESSION]['step_up'];
        $how     = $pending['decision'] == 'enroll'
            ? ($pending['provider'] == 'passkey' ? 'stepuppasskeyenroll' : 'stepupcodeenroll')
            : 'stepupcode' . $pending['provider'];
        $vars    = ['address' => $this->rc->get_user_name(), 'sentto' => $pending['sent_to'] ?? ''];

        return html::div(['id' => $attrib['id'] ?? null, 'class' => 'mailmfa-prompt'],
            html::p(null, rcube::Q($this->text('stepupwhy_' . $pending['action'])))
            . html::p(null, rcube::Q($this->text($how, $vars))));
    }

    /**
     * Template object: for a mailbox without an authenticator app, the QR code of a new one and
     * its key (nothing for a code from an app already set up, or sent).
     */
    public function step_up_enrolment_object($attrib)
    {
        $pending = $_SESSION[self::SESSION]['step_up'];

        if ($pending['decision'] != 'enroll' || $pending['provider'] != 'totp') {
            return '';
        }

        return html::div(['id' => $attrib['id'] ?? null, 'class' => 'mailmfa-step-up-enrolment'],
            html::p(null, rcube::Q($this->text('enrolstep1')))
            . $this->qrcode_html('mailmfa-qrcode') . $this->applink_html('mailmfa-applink') . $this->secret_html('mailmfa-secret'));
    }

    /**
     * Template object: the code field, and folded away below it the field for a recovery code.
     */
    public function step_up_code_form_object($attrib)
    {
        $pending = $_SESSION[self::SESSION]['step_up'];
        $enroll  = $pending['decision'] == 'enroll';

        if ($pending['provider'] == 'passkey') {
            $action = ['_task' => 'settings', '_action' => 'plugin.mailmfa-step-up-verify'];

            return $this->passkey_form_html($attrib['id'] ?? 'mailmfa-code-form', $action, $enroll,
                    (array) ($pending['webauthn'] ?? []), 0)
                . $this->pass_details_html($action, 0, true);
        }

        return $this->code_form_html($attrib['id'] ?? 'mailmfa-code-form',
            ['_task' => 'settings', '_action' => 'plugin.mailmfa-step-up-verify'], $enroll ? 'enrolstep2' : 'codelabel', $enroll, 0);
    }

    /**
     * Template object: "send a new code", for codes that come by SMS or e-mail.
     */
    public function step_up_resend_form_object($attrib)
    {
        return $this->resend_form_html($attrib['id'] ?? 'mailmfa-resend-form',
            ['_task' => 'settings', '_action' => 'plugin.mailmfa-step-up-resend'], $_SESSION[self::SESSION]['step_up']['provider']);
    }

    /**
     * Template object: back to the page the step-up was run from, which drops the change that
     * waited for the code.
     */
    public function step_up_cancel_object($attrib)
    {
        $page = $this->step_up_of_app_password() ? MailmfaMailPrograms::PAGE
            : ($this->step_up_of_passkeys() ? MailmfaPasskeys::PAGE : ['_task' => 'settings', '_action' => 'plugin.mailmfa-settings']);

        return html::a([
                'href'  => $this->rc->url($page),
                'id'    => $attrib['id'] ?? 'mailmfa-step-up-cancel',
                'class' => 'btn btn-secondary',
            ],
            rcube::Q($this->text('stepupcancel'))
        );
    }

    /**
     * Template object: the name of the section the step-up was run from, for the page's header.
     */
    public function step_up_section_object($attrib)
    {
        return rcube::Q($this->text($this->step_up_of_app_password() ? 'mailprogramstitle'
            : ($this->step_up_of_passkeys() ? 'passkeystitle' : 'settingstitle')));
    }

    /**
     * Whether the step-up that waits for its code is for adding or removing a passkey.
     */
    private function step_up_of_passkeys()
    {
        return in_array($_SESSION[self::SESSION]['step_up']['action'] ?? '', [self::PASSKEY_ADD, self::PASSKEY_REMOVE], true);
    }

    /**
     * Whether the step-up that waits for its code is for a new app password.
     */
    private function step_up_of_app_password()
    {
        return ($_SESSION[self::SESSION]['step_up']['action'] ?? '') == self::APP_PASSWORD;
    }
}
