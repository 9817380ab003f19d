<?php

/**
 * mailmfa: two-factor authentication for Roundcube through the mailmfa login service.
 *
 * After Roundcube has checked the IMAP password (`login_after`), the plugin asks the service
 * (`POST /v1/login/begin`) whether this sign-in needs a second factor. If it does, the user sees
 * the plugin's own page — a QR code to enrol an authenticator app, or a field for the code — and
 * the `ready` hook turns every other request of the session away (pages, frames and AJAX alike)
 * until the service accepts a code. When the service cannot be reached the sign-in is refused,
 * unless the administrator chose `mailmfa_fail_open`.
 *
 * Settings → Two-factor authentication lets users change their own challenge mode and provider
 * where the administrator allows it (`PUT /v1/users/{address}/settings`), and get new recovery
 * codes. Recovery codes — from the enrolment, or from the settings — are shown once.
 *
 * The plugin's state lives in the Roundcube session under the key `mailmfa`; the code the user
 * types and the API key never go into a URL, a log or a page.
 *
 * Copyright (C) The mailmfa developers. Licensed under the MIT license.
 */

require_once __DIR__ . '/lib/MailmfaClient.php';

class mailmfa extends rcube_plugin
{
    /** The session key of the plugin's state. */
    const SESSION = 'mailmfa';

    /** The cookie that holds the token of a browser the user asked to remember (one per mailbox). */
    const DEVICE_COOKIE = 'mailmfa_device_';

    /** The actions of the plugin's own sign-in task, the only ones open before the code. */
    const SIGN_IN_ACTIONS = ['', 'index', 'verify', 'resend'];

    /** The challenge modes and providers a user may pick, in the order shown. */
    const CHALLENGES = ['inherit', 'never', 'always', 'new-ip', 'new-country'];
    const PROVIDERS  = ['totp', 'sms', 'smtp'];

    /** @var rcmail */
    private $rc;

    function init()
    {
        $this->rc = rcmail::get_instance();

        $this->load_config();
        $this->add_texts('localization/');

        $this->add_hook('login_after', [$this, 'login_after']);
        $this->add_hook('ready', [$this, 'ready']);

        if ($this->rc->task == 'settings') {
            $this->add_hook('settings_actions', [$this, 'settings_actions']);
            $this->register_action('plugin.mailmfa-settings', [$this, 'settings_page']);
            $this->register_action('plugin.mailmfa-settings-save', [$this, 'settings_save']);
            $this->register_action('plugin.mailmfa-recovery-codes', [$this, 'new_recovery_codes']);
            $this->register_action('plugin.mailmfa-forget-browsers', [$this, 'forget_browsers']);
            $this->include_stylesheet($this->local_skin_path() . '/mailmfa.css');
        }

        // The sign-in pages are a task of their own, so that Roundcube's session checks apply to
        // them as to any other task. Actions registered from here on belong to that task.
        $this->register_task('mailmfa');
        $this->register_action('index', [$this, 'sign_in_page']);
        $this->register_action('verify', [$this, 'verify']);
        $this->register_action('resend', [$this, 'resend']);
        $this->register_action('codes', [$this, 'codes_page']);
    }

    /**
     * Hook `login_after`: the IMAP password is proven; ask the service about this sign-in.
     *
     * @param array $args The query Roundcube redirects to after the login
     *
     * @return array Where to go: there when no code is needed, else the plugin's page
     */
    function login_after($args)
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
    function ready($args)
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
    function sign_in_page()
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

        $this->code_page($state);
    }

    /**
     * Action `verify` (POST, with Roundcube's request token): checks the typed code.
     */
    function verify()
    {
        $state = $_SESSION[self::SESSION] ?? [];

        if (empty($state['transaction']) || !empty($state['stopped'])) {
            $this->rc->output->redirect(['_task' => 'mailmfa']);
        }

        $code = preg_replace('/[\s-]+/', '', rcube_utils::get_input_string('_code', rcube_utils::INPUT_POST));

        if ($code === '' || strlen($code) > 64) {
            $this->note('codemissing', 'error');
        }

        $remember = !empty(rcube_utils::get_input_string('_remember', rcube_utils::INPUT_POST));

        try {
            $answer = $this->client()->verify($state['transaction'], $code, $remember && !empty($state['remember']));
        }
        catch (MailmfaError $e) {
            if ($e->status == 404) {
                $this->stop('expired');
            }

            $this->log_failure('verify', $e);
            $this->note('unavailablenow', 'error');
        }

        if (($answer['result'] ?? '') === 'accepted') {
            // The session becomes a full one: it gets a new id, and the id it had while waiting
            // for the code stops working.
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

        // Each of these ends the request.
        $reason = $answer['reason'] ?? '';

        if ($reason == 'invalid_code') {
            $this->note($state['provider'] == 'totp' ? 'wrongcode' : 'wrongsentcode', 'error');
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
     * Action `codes`: the recovery codes a completed enrolment brought, once (the sign-in is
     * done by then). Shown again, the page has nothing to show and goes on to the mailbox.
     */
    function codes_page()
    {
        $state = $_SESSION[self::SESSION] ?? [];
        $codes = $state['recovery_codes'] ?? [];
        unset($_SESSION[self::SESSION]['recovery_codes']);

        if (!$this->passed() || empty($codes)) {
            $this->rc->output->redirect($state['return'] ?? ['_task' => 'mail']);
        }

        $this->page_setup();
        $return = $state['return'] ?? ['_task' => 'mail'];
        $this->rc->output->add_handlers([
                'plugin.mailmfa-codes' => function ($attrib) use ($codes) {
                    return $this->codes_list($codes, $attrib['id'] ?? 'mailmfa-codes');
                },
                'plugin.mailmfa-continue' => function ($attrib) use ($return) {
                    return html::a(['href' => $this->rc->url($return), 'id' => $attrib['id'] ?? 'mailmfa-continue',
                        'class' => 'btn btn-primary mainaction'], rcube::Q($this->gettext('codescontinue')));
                },
        ]);
        $this->rc->output->send('mailmfa.codes');
    }

    /**
     * Action `resend` (POST): a new SMS or e-mail code.
     */
    function resend()
    {
        $state = $_SESSION[self::SESSION] ?? [];

        if (empty($state['transaction']) || !empty($state['stopped']) || $state['provider'] == 'totp') {
            $this->rc->output->redirect(['_task' => 'mailmfa']);
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
            $this->note('sendlimit', 'warning', ['minutes' => $this->minutes((int) ($answer['retry_after_s'] ?? 0))]);
        }

        $this->stop_locked($answer['retry_after_s'] ?? null);
    }

    /**
     * Hook `settings_actions`: the section Settings → Two-factor authentication.
     */
    function settings_actions($args)
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
     * Action `plugin.mailmfa-settings`: the self-service form.
     */
    function settings_page()
    {
        $this->register_handler('plugin.mailmfa-settings-note', [$this, 'settings_note_object']);
        $this->register_handler('plugin.mailmfa-settings-form', [$this, 'settings_form_object']);

        $this->rc->output->set_pagetitle($this->gettext('settingstitle'));
        $this->rc->output->send('mailmfa.settings');
    }

    /**
     * Action `plugin.mailmfa-settings-save` (POST): sends the user's change to the service.
     */
    function settings_save()
    {
        $choices = [
            'challenge'  => self::CHALLENGES,
            'provider'   => self::PROVIDERS,
            'sms_number' => null,
            'alt_email'  => null,
        ];
        $settings = [];

        // What the page showed: a choice left as it was is not sent (a user whose post office
        // decides the mode may still change the provider).
        $shown = $_SESSION[self::SESSION]['current'] ?? [];

        foreach ($choices as $name => $allowed) {
            $value = trim((string) rcube_utils::get_input_string("_$name", rcube_utils::INPUT_POST));

            if ($value !== '' && ($allowed === null || in_array($value, $allowed, true))
                && $value !== ($shown[$name] ?? null)
            ) {
                $settings[$name] = $value;
            }
        }

        if (empty($settings)) {
            $note = ['nothingtosave', 'information', []];
        }
        else {
            try {
                $answer = $this->client()->user_settings($this->rc->get_user_name(), $settings);
                $note = ['saved', 'confirmation', [
                    'challenge' => $this->gettext('challenge_' . $answer['challenge']),
                    'provider'  => $this->gettext('provider_' . $answer['provider']),
                ]];
            }
            catch (MailmfaError $e) {
                $note = $this->settings_refusal($e);
            }
        }

        $_SESSION[self::SESSION]['settings_note'] = $note;
        $this->rc->output->redirect(['_task' => 'settings', '_action' => 'plugin.mailmfa-settings']);
    }

    /**
     * Action `plugin.mailmfa-recovery-codes` (POST): ten new recovery codes, shown once on the
     * settings page; the old ones stop working.
     */
    function new_recovery_codes()
    {
        $this->settings_call('recovery-codes', 'newcodesshown', function (MailmfaClient $client, $address) {
            $answer = $client->new_recovery_codes($address);
            $_SESSION[self::SESSION]['new_codes'] = array_map('strval', $answer['recovery_codes'] ?? []);
        });
    }

    /**
     * Action `plugin.mailmfa-forget-browsers` (POST): every browser remembered for the mailbox,
     * this one included, asks for a code again.
     */
    function forget_browsers()
    {
        $this->settings_call('forget-devices', 'browsersforgotten', function (MailmfaClient $client, $address) {
            $client->forget_devices($address);
            rcube_utils::setcookie($this->device_cookie(), '', time() - 86400);
        });
    }

    /**
     * Runs one of the settings page's buttons against the service, keeps the outcome as the page's
     * note (`$done` on success), and sends the browser back to the page (ends the request).
     *
     * @param string   $call What the log names the call
     * @param string   $done The label of the note on success
     * @param callable $act  Given the client and the mailbox
     */
    private function settings_call($call, $done, callable $act)
    {
        try {
            $act($this->client(), $this->rc->get_user_name());
            $note = [$done, 'confirmation', []];
        }
        catch (MailmfaError $e) {
            $this->log_failure($call, $e);
            $note = ['settingsunavailable', 'error', []];
        }

        $_SESSION[self::SESSION]['settings_note'] = $note;
        $this->rc->output->redirect(['_task' => 'settings', '_action' => 'plugin.mailmfa-settings']);
    }

    /**
     * Template object: the outcome of the last save, once.
     */
    function settings_note_object($attrib)
    {
        return $this->take_note('settings_note', $attrib);
    }

    /**
     * Template object: the self-service form.
     */
    function settings_form_object($attrib)
    {
        // What applies now, as the service says; without it the choices start at "keep as it is".
        try {
            $current = $this->client()->show_user_settings($this->rc->get_user_name());
            $unread  = '';
        }
        catch (MailmfaError $e) {
            $current = [];
            $unread  = html::p(['class' => 'mailmfa-unread boxwarning'], rcube::Q($this->gettext('settingsunread')));
        }
        $_SESSION[self::SESSION]['current'] = array_intersect_key($current, array_flip(['challenge', 'provider']));

        $table = new html_table(['cols' => 2, 'class' => 'propform']);

        // Where the post office decides, the mode is shown but cannot be changed.
        $fixed     = !empty($current) && empty($current['may_change_challenge']);
        $challenge = $this->select('challenge', self::CHALLENGES, $current['challenge'] ?? '', !empty($current), $fixed);
        if ($fixed) {
            $challenge .= html::div(['id' => 'mailmfa-challenge-hint', 'class' => 'form-text text-muted'],
                rcube::Q($this->gettext(['name' => 'challengefixed', 'vars' => [
                    'mode' => $this->gettext('challenge_' . $current['effective_challenge']),
                ]])));
        }
        $table->add('title', html::label('mailmfa-challenge', rcube::Q($this->gettext('challenge'))));
        $table->add(null, $challenge);

        // The providers the user may choose, and the one in use (which an administrator may have set).
        $providers = empty($current) ? self::PROVIDERS
            : array_values(array_intersect(self::PROVIDERS, array_merge($current['providers'], [$current['provider']])));
        $table->add('title', html::label('mailmfa-provider', rcube::Q($this->gettext('provider'))));
        $table->add(null, $this->select('provider', $providers, $current['provider'] ?? '', !empty($current)));

        $fields = [
            'sms_number' => ['smsnumber', 'tel', 'tel', '+15551234567', 'smsnumberhint'],
            'alt_email'  => ['altemail', 'email', 'email', 'name@example.org', 'altemailhint'],
        ];

        foreach ($fields as $name => list($label, $type, $autocomplete, $placeholder, $hint)) {
            $id = 'mailmfa-' . str_replace('_', '-', $name);
            if (!empty($current[$name])) {
                // The one set now, masked by the service: typing replaces it, empty keeps it.
                $placeholder = $current[$name];
            }
            $table->add('title', html::label($id, rcube::Q($this->gettext($label))));
            $table->add(null, html::tag('input', [
                    'type'             => $type,
                    'name'             => "_$name",
                    'id'               => $id,
                    'class'            => 'form-control',
                    'autocomplete'     => $autocomplete,
                    'placeholder'      => $placeholder,
                    'aria-describedby' => "$id-hint",
                ])
                . html::div(['id' => "$id-hint", 'class' => 'form-text text-muted'], rcube::Q($this->gettext($hint)))
            );
        }

        $intro  = html::p(['class' => 'mailmfa-intro'], rcube::Q($this->gettext('settingsintro')));
        $button = html::tag('button', ['type' => 'submit', 'class' => 'btn btn-primary submit', 'id' => 'mailmfa-save'],
            rcube::Q($this->gettext('save')));

        $form = $this->rc->output->form_tag([
                'id'     => $attrib['id'] ?? 'mailmfa-settings-form',
                'method' => 'post',
                'action' => $this->rc->url(['_task' => 'settings', '_action' => 'plugin.mailmfa-settings-save']),
            ],
            $intro . $unread . $table->show() . html::p(['class' => 'formbuttons'], $button)
        );

        return $form . $this->recovery_section($current) . $this->browsers_section($current);
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
            rcube::Q($this->gettext('forgetbrowsers')));

        return html::tag('h2', ['class' => 'mailmfa-recovery-title'], rcube::Q($this->gettext('browserstitle')))
            . html::p(['id' => 'mailmfa-browsers'], rcube::Q($this->gettext([
                'name' => 'browsersremembered', 'vars' => ['count' => (int) $current['remembered_devices']],
            ])))
            . $this->rc->output->form_tag([
                    'id'     => 'mailmfa-browsers-form',
                    'method' => 'post',
                    'action' => $this->rc->url(['_task' => 'settings', '_action' => 'plugin.mailmfa-forget-browsers']),
                ],
                html::p(null, $button)
            );
    }

    /**
     * The settings page's recovery codes: how many are left, new ones just issued (once), and
     * the button that issues new ones.
     */
    private function recovery_section($current)
    {
        $codes = $_SESSION[self::SESSION]['new_codes'] ?? [];
        unset($_SESSION[self::SESSION]['new_codes']);

        $html = html::tag('h2', ['class' => 'mailmfa-recovery-title'], rcube::Q($this->gettext('codestitle')));

        if (!empty($codes)) {
            $html .= html::p(null, rcube::Q($this->gettext('codesintro'))) . $this->codes_list($codes, 'mailmfa-new-codes');
        }
        else if (isset($current['recovery_codes_left'])) {
            $html .= html::p(['id' => 'mailmfa-codes-left'], rcube::Q($this->gettext([
                'name' => 'codesleft', 'vars' => ['count' => (int) $current['recovery_codes_left']],
            ])));
        }

        $button = html::tag('button', ['type' => 'submit', 'class' => 'btn btn-secondary', 'id' => 'mailmfa-new-codes-button'],
            rcube::Q($this->gettext('newcodes')));

        return $html . $this->rc->output->form_tag([
                'id'     => 'mailmfa-recovery-form',
                'method' => 'post',
                'action' => $this->rc->url(['_task' => 'settings', '_action' => 'plugin.mailmfa-recovery-codes']),
            ],
            html::p(['class' => 'form-text text-muted'], rcube::Q($this->gettext('newcodeshint'))) . html::p(null, $button)
        );
    }

    /**
     * The name of the remembered-browser cookie of the signed-in mailbox: one per mailbox, so
     * that a browser remembered for two mailboxes keeps both (the name does not show the address).
     */
    private function device_cookie()
    {
        return self::DEVICE_COOKIE . substr(hash('sha256', strtolower($this->rc->get_user_name())), 0, 16);
    }

    /**
     * "Remember this browser for N days", where the service allows remembering.
     */
    private function remember_box($state, $id)
    {
        if (empty($state['remember'])) {
            return '';
        }

        $box = html::tag('input', ['type' => 'checkbox', 'name' => '_remember', 'value' => '1', 'id' => $id]);

        return html::div('mailmfa-remember form-check', $box . ' ' . html::label(['for' => $id, 'class' => 'form-check-label'],
            rcube::Q($this->gettext(['name' => 'rememberdevice', 'vars' => ['days' => (int) $state['remember']]]))));
    }

    /**
     * Recovery codes as a list to copy or print.
     */
    private function codes_list(array $codes, $id)
    {
        $items = implode('', array_map(function ($code) { return html::tag('li', null, rcube::Q($code)); }, $codes));

        return html::tag('ol', ['id' => $id, 'class' => 'mailmfa-codes'], $items);
    }

    /**
     * Template object: the note left by the last action on the sign-in page, once.
     */
    function note_object($attrib)
    {
        return $this->take_note('note', $attrib);
    }

    /**
     * Template object: what to do, in the words of the provider.
     */
    function prompt_object($attrib)
    {
        $state = $_SESSION[self::SESSION];
        $label = $state['decision'] == 'enroll' ? 'enrolintro' : 'codeintro' . $state['provider'];
        $text  = $this->gettext(['name' => $label, 'vars' => [
            'address' => $this->rc->get_user_name(),
            'sentto'  => $state['sent_to'] ?? '',
        ]]);

        return html::p(['id' => $attrib['id'] ?? null, 'class' => 'mailmfa-prompt'], rcube::Q($text));
    }

    /**
     * Template object: the enrolment QR code, as the service drew it.
     */
    function qrcode_object($attrib)
    {
        $png = (string) ($_SESSION[self::SESSION]['qr'] ?? '');

        return html::img([
                'id'     => $attrib['id'] ?? 'mailmfa-qrcode',
                'class'  => 'mailmfa-qrcode',
                'src'    => 'data:image/png;base64,' . preg_replace('/[^A-Za-z0-9+\/=]/', '', $png),
                'alt'    => $this->gettext('qrcodealt'),
                'width'  => 240,
                'height' => 240,
        ]);
    }

    /**
     * Template object: the enrolment secret in groups of four, for typing it into an app.
     */
    function secret_object($attrib)
    {
        $uri = (string) ($_SESSION[self::SESSION]['otpauth_uri'] ?? '');
        parse_str((string) parse_url($uri, PHP_URL_QUERY), $query);
        $secret  = strtoupper(preg_replace('/[^A-Za-z2-7]/', '', (string) ($query['secret'] ?? '')));
        $groups  = array_map(function ($group) { return html::span(null, $group); }, str_split($secret, 4));
        $details = $this->gettext(['name' => 'manualdetails', 'vars' => ['address' => $this->rc->get_user_name()]]);

        return html::div(['class' => 'mailmfa-manual'],
            html::p(null, rcube::Q($this->gettext('manualentry')))
            . html::tag('code', ['id' => $attrib['id'] ?? 'mailmfa-secret', 'class' => 'mailmfa-secret'], implode(' ', $groups))
            . html::p(['class' => 'mailmfa-details'], rcube::Q($details))
        );
    }

    /**
     * Template object: for a phone that cannot scan its own screen, a link that hands the
     * account to the authenticator app on it (shown on touch screens only).
     */
    function applink_object($attrib)
    {
        $uri = (string) ($_SESSION[self::SESSION]['otpauth_uri'] ?? '');

        if (strpos($uri, 'otpauth://') !== 0) {
            return '';
        }

        return html::p(['class' => 'mailmfa-applink'],
            html::a(['href' => $uri, 'id' => $attrib['id'] ?? 'mailmfa-applink', 'class' => 'btn btn-secondary'],
                rcube::Q($this->gettext('applink'))));
    }

    /**
     * Template object: the code field and its button.
     */
    function code_form_object($attrib)
    {
        $state = $_SESSION[self::SESSION];
        $label = $state['decision'] == 'enroll' ? 'enrolstep2' : 'codelabel';
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
                // On the enrolment page the field is below the QR code: focusing it would
                // scroll the code out of sight.
                'autofocus'      => $state['decision'] != 'enroll',
        ]);
        $button = html::tag('button', ['type' => 'submit', 'class' => 'btn btn-primary mainaction', 'id' => 'mailmfa-verify'],
            rcube::Q($this->gettext('verify')));

        $action = $this->rc->url(['_task' => 'mailmfa', '_action' => 'verify']);
        $form   = $this->rc->output->form_tag([
                'id'     => $attrib['id'] ?? 'mailmfa-code-form',
                'method' => 'post',
                'action' => $action,
            ],
            html::label(['for' => 'mailmfa-code', 'class' => 'mailmfa-label'], rcube::Q($this->gettext($label)))
            . html::div('mailmfa-code-row', $input . $button)
            . $this->remember_box($state, 'mailmfa-remember')
        );

        // Folded away: the temporary access pass an administrator gives a user who lost their
        // phone. It has letters, which the numeric code field does not take.
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
        $pass_button = html::tag('button', ['type' => 'submit', 'class' => 'btn btn-secondary', 'id' => 'mailmfa-pass-verify'],
            rcube::Q($this->gettext('verify')));
        $pass_form = $this->rc->output->form_tag(['id' => 'mailmfa-pass-form', 'method' => 'post', 'action' => $action],
            html::label(['for' => 'mailmfa-pass', 'class' => 'mailmfa-label'], rcube::Q($this->gettext('accesspasslabel')))
            . html::div('mailmfa-code-row', $pass . $pass_button)
            . $this->remember_box($state, 'mailmfa-remember-pass')
        );

        return $form . html::tag('details', ['class' => 'mailmfa-access-pass'],
            html::tag('summary', null, rcube::Q($this->gettext('accesspasssummary'))) . $pass_form);
    }

    /**
     * Template object: "send a new code", for codes that come by SMS or e-mail.
     */
    function resend_form_object($attrib)
    {
        if ($_SESSION[self::SESSION]['provider'] == 'totp') {
            return '';
        }

        $button = html::tag('button', ['type' => 'submit', 'class' => 'btn btn-secondary', 'id' => 'mailmfa-resend'],
            rcube::Q($this->gettext('resend')));

        return $this->rc->output->form_tag([
                'id'     => $attrib['id'] ?? 'mailmfa-resend-form',
                'method' => 'post',
                'action' => $this->rc->url(['_task' => 'mailmfa', '_action' => 'resend']),
            ],
            $button
        );
    }

    /**
     * Template object: sign out instead (Roundcube's own logout, with its request token).
     */
    function signout_object($attrib)
    {
        $url = $this->rc->url(['_task' => 'logout', '_token' => $this->rc->get_request_token()]);

        return html::a(['href' => $url, 'id' => $attrib['id'] ?? 'mailmfa-signout', 'class' => 'mailmfa-signout'],
            rcube::Q($this->gettext('signout')));
    }

    /**
     * Asks the service about this sign-in and keeps its answer in the session.
     *
     * @param array $return Where to go once the sign-in is complete
     */
    private function begin($return)
    {
        $state = ['return' => $return];

        try {
            $device = isset($_COOKIE[$this->device_cookie()]) ? (string) $_COOKIE[$this->device_cookie()] : null;
            $answer = $this->client()->begin($this->rc->get_user_name(), rcube_utils::remote_addr(), $device);
        }
        catch (MailmfaError $e) {
            $this->log_failure('begin', $e);
            $answer = $this->rc->config->get('mailmfa_fail_open', false) ? ['decision' => 'fail_open'] : [];
        }

        switch ($answer['decision'] ?? '') {
        case 'allow':
            $state['passed'] = true;
            break;

        case 'fail_open':
            rcube::raise_error(['code' => 500, 'file' => __FILE__, 'line' => __LINE__,
                'message' => 'mailmfa: mailmfa_fail_open lets ' . $this->rc->get_user_name()
                    . ' in without a second factor'], true, false);
            $state['passed'] = true;
            break;

        case 'challenge':
        case 'enroll':
            if (empty($answer['transaction_id'])
                || !in_array($answer['provider'] ?? '', self::PROVIDERS, true)
                || ($answer['decision'] == 'enroll' && (empty($answer['qr_png_base64']) || empty($answer['otpauth_uri'])))
            ) {
                $state['stopped'] = 'unavailable';
                break;
            }

            $state += [
                'decision'    => $answer['decision'],
                'transaction' => (string) $answer['transaction_id'],
                'provider'    => $answer['provider'],
                'sent_to'     => isset($answer['sent_to']) ? (string) $answer['sent_to'] : null,
                'remember'    => (int) ($answer['remember_days'] ?? 0),
                'otpauth_uri' => isset($answer['otpauth_uri']) ? (string) $answer['otpauth_uri'] : null,
                'qr'          => isset($answer['qr_png_base64']) ? (string) $answer['qr_png_base64'] : null,
            ];
            break;

        case 'locked':
            $state['stopped']  = ($answer['reason'] ?? '') == 'send_limit' ? 'sendlimit' : 'locked';
            $state['retry_at'] = time() + (int) ($answer['retry_after_s'] ?? 0);
            break;

        case 'refused':
            $state['stopped'] = 'refused';
            break;

        default:
            $state['stopped'] = 'unavailable';
        }

        $_SESSION[self::SESSION] = $state;
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
        $_SESSION[self::SESSION]['note'] = [$label, $type, $vars];
        $this->rc->output->redirect(['_task' => 'mailmfa']);
    }

    /**
     * The enrolment page or the code page.
     */
    private function code_page($state)
    {
        $this->page_setup();

        $this->register_handler('plugin.mailmfa-note', [$this, 'note_object']);
        $this->register_handler('plugin.mailmfa-prompt', [$this, 'prompt_object']);
        $this->register_handler('plugin.mailmfa-qrcode', [$this, 'qrcode_object']);
        $this->register_handler('plugin.mailmfa-secret', [$this, 'secret_object']);
        $this->register_handler('plugin.mailmfa-applink', [$this, 'applink_object']);
        $this->register_handler('plugin.mailmfa-codeform', [$this, 'code_form_object']);
        $this->register_handler('plugin.mailmfa-resendform', [$this, 'resend_form_object']);
        $this->register_handler('plugin.mailmfa-signout', [$this, 'signout_object']);

        $this->rc->output->send($state['decision'] == 'enroll' ? 'mailmfa.enroll' : 'mailmfa.challenge');
    }

    /**
     * A page that ends the sign-in: the session ends with it, so that nothing of the mailbox
     * can be reached from it, and the next step is a new sign-in.
     */
    private function stopped_page($state)
    {
        $why     = $state['stopped'];
        $address = $this->rc->get_user_name();
        $texts   = [
            'locked'      => ['lockedtitle', 'lockedtext'],
            'sendlimit'   => ['sendlimittitle', 'sendlimittext'],
            'refused'     => ['refusedtitle', 'refusedtext'],
            'unavailable' => ['unavailabletitle', 'unavailabletext'],
            'expired'     => ['expiredtitle', 'expiredtext'],
        ];
        list($title, $text) = $texts[$why] ?? $texts['unavailable'];

        $lines = [$this->gettext(['name' => $text, 'vars' => ['address' => $address]])];

        if ($why == 'locked' || $why == 'sendlimit') {
            $retry_at = (int) ($state['retry_at'] ?? 0);
            $lines[]  = $retry_at > time()
                ? $this->gettext(['name' => 'lockedwhen', 'vars' => [
                    'minutes' => $this->minutes($retry_at - time()),
                    'time'    => $this->rc->format_date($retry_at, $this->rc->config->get('time_format', 'H:i')),
                ]])
                : $this->gettext('lockedlater');
        }

        $this->rc->kill_session();
        $this->page_setup();

        $this->rc->output->add_handlers([
                'plugin.mailmfa-stopped-title' => function () use ($title) {
                    return rcube::Q($this->gettext($title));
                },
                'plugin.mailmfa-stopped-text' => function ($attrib) use ($lines) {
                    return html::div(['id' => $attrib['id'] ?? null, 'class' => 'mailmfa-stopped-text', 'role' => 'alert'],
                        implode('', array_map(function ($line) { return html::p(null, rcube::Q($line)); }, $lines)));
                },
                'plugin.mailmfa-back' => function ($attrib) {
                    return html::a(['href' => './', 'id' => $attrib['id'] ?? 'mailmfa-back', 'class' => 'btn btn-primary'],
                        rcube::Q($this->gettext('backtosignin')));
                },
        ]);

        $this->rc->output->send($why == 'locked' || $why == 'sendlimit' ? 'mailmfa.locked' : 'mailmfa.refused');
    }

    /**
     * What every sign-in page needs: its title and stylesheet, and no background requests
     * (they would only be turned away by the gate).
     */
    private function page_setup()
    {
        $this->rc->output->set_pagetitle($this->gettext('pagetitle'));
        $this->rc->output->set_env('refresh_interval', 0);
        $this->rc->output->set_env('session_lifetime', 0);
        $this->include_stylesheet($this->local_skin_path() . '/mailmfa.css');
    }

    /**
     * A settings refusal in the user's words.
     */
    private function settings_refusal(MailmfaError $e)
    {
        if ($e->status == 403 && in_array($e->reason, ['self_service_off', 'provider_disabled', 'provider_not_user_configurable'], true)) {
            return ['refused_' . $e->reason, 'error', []];
        }

        if ($e->status == 400) {
            // The service explains what is wrong with the value (e.g. the phone number's form).
            $error = preg_replace('/^the service answered 400: /', '', $e->getMessage());

            return ['notsaved', 'error', ['error' => $error]];
        }

        $this->log_failure('settings', $e);

        return ['settingsunavailable', 'error', []];
    }

    /**
     * The note kept under `$key` in the plugin's session state, shown once and then forgotten.
     */
    private function take_note($key, $attrib)
    {
        $note = $_SESSION[self::SESSION][$key] ?? null;
        unset($_SESSION[self::SESSION][$key]);

        if (!$note) {
            return '';
        }

        list($label, $type, $vars) = $note;

        return $this->note_box($this->gettext(['name' => $label, 'vars' => $vars]), $type, $attrib['id'] ?? null);
    }

    /**
     * A note in Elastic's alert style; errors are announced to screen readers at once.
     */
    private function note_box($text, $type, $id = null)
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
     * A drop-down of `$values`; without `$known` (the current value could not be read) it starts
     * at "keep as it is".
     */
    private function select($name, $values, $current, $known = false, $disabled = false)
    {
        $attrib = ['name' => "_$name", 'id' => "mailmfa-$name", 'class' => 'custom-select'];
        if ($disabled) {
            $attrib['disabled'] = 'disabled';
            $attrib['aria-describedby'] = "mailmfa-$name-hint";
        }
        $select = new html_select($attrib);
        if (!$known) {
            $select->add($this->gettext('nochange'), '');
        }

        foreach ($values as $value) {
            $select->add($this->gettext("{$name}_{$value}"), $value);
        }

        return $select->show($current);
    }

    /**
     * Whole minutes, rounded up, never below one.
     */
    private function minutes($seconds)
    {
        return max(1, (int) ceil($seconds / 60));
    }

    /**
     * The client of the configured service.
     */
    private function client()
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
    private function log_failure($call, MailmfaError $e)
    {
        rcube::raise_error(['code' => 500, 'file' => __FILE__, 'line' => __LINE__,
            'message' => "mailmfa: $call for " . $this->rc->get_user_name() . ' failed: ' . $e->getMessage()], true, false);
    }
}
