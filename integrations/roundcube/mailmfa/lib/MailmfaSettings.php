<?php

/**
 * Settings → Two-factor authentication: users change their own challenge mode and provider where
 * the administrator allows it (`PUT /v1/users/{address}/settings`), get new recovery codes (shown
 * once), and forget the browsers remembered for their mailbox.
 *
 * The modes and providers, and their names, are the service's (`choices` in its answer); a
 * translation may name one itself as `challenge_<value>` or `provider_<value>`.
 *
 * Copyright (C) The mailmfa developers. Licensed under the MIT license.
 */
class MailmfaSettings extends MailmfaPages
{
    /** The refusals of a change that have words of their own (`refused_<reason>`). */
    const REFUSALS = ['self_service_off', 'provider_disabled', 'provider_not_user_configurable'];

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
     * Action `plugin.mailmfa-settings`: the self-service form.
     */
    public function page()
    {
        $this->rc->output->set_pagetitle($this->text('settingstitle'));
        $this->rc->output->send('mailmfa.settings');
    }

    /**
     * Action `plugin.mailmfa-settings-save` (POST with the request token): sends the user's
     * change to the service.
     */
    public function save()
    {
        $this->refuse_unless_own_form();

        $posted = [];
        foreach (['challenge', 'provider', 'sms_number', 'alt_email'] as $name) {
            $posted[$name] = rcube_utils::get_input_string("_$name", rcube_utils::INPUT_POST);
        }

        // What the page showed and offered: a choice left as it was is not sent (a user whose post
        // office decides the mode may still change the provider).
        $shown    = $_SESSION[self::SESSION]['current'] ?? [];
        $settings = self::changes($posted, $shown, $shown['offered'] ?? ['challenge' => [], 'provider' => []]);

        if (empty($settings)) {
            $this->back_to_page('nothingtosave', 'information');
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

        $this->back_to_page('saved', 'confirmation', [
            'challenge' => $this->label('challenge', $answer['challenge'], self::offered($answer, 'challenge') ?? []),
            'provider'  => $this->label('provider', $answer['provider'], self::offered($answer, 'provider') ?? []),
        ]);
    }

    /**
     * Action `plugin.mailmfa-recovery-codes` (POST with the request token): ten new recovery
     * codes, shown once on the settings page; the old ones stop working.
     */
    public function new_recovery_codes()
    {
        $this->call('recovery-codes', 'newcodesshown', function (MailmfaClient $client, $address) {
            $answer = $client->new_recovery_codes($address);
            $_SESSION[self::SESSION]['new_codes'] = array_map('strval', $answer['recovery_codes'] ?? []);
        });
    }

    /**
     * Action `plugin.mailmfa-forget-browsers` (POST with the request token): every browser
     * remembered for the mailbox, this one included, asks for a code again.
     */
    public function forget_browsers()
    {
        $this->call('forget-devices', 'browsersforgotten', function (MailmfaClient $client, $address) {
            $client->forget_devices($address);
            rcube_utils::setcookie($this->device_cookie(), '', time() - 86400);
        });
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
     * Runs one of the settings page's buttons against the service, and goes back to the page
     * with the outcome as its note (`$done` on success; ends the request).
     *
     * @param string   $call What the log names the call
     * @param string   $done The label of the note on success
     * @param callable $act  Given the client and the mailbox
     */
    private function call($call, $done, callable $act)
    {
        $this->refuse_unless_own_form();

        try {
            $act($this->client(), $this->rc->get_user_name());
        }
        catch (MailmfaError $e) {
            $this->log_failure($call, $e);
            $this->back_to_page('settingsunavailable', 'error');
        }

        $this->back_to_page($done, 'confirmation');
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
        $_SESSION[self::SESSION]['current'] = [
            'challenge' => $current['challenge'] ?? null,
            'provider'  => $current['provider'] ?? null,
            'offered'   => array_map('array_keys', $offered),
        ];

        $table = new html_table(['cols' => 2, 'class' => 'propform']);
        $this->mode_rows($table, $current, $offered);
        $this->contact_rows($table, $current);

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

        return $form . $this->recovery_section($current) . $this->browsers_section($current);
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
     */
    private function mode_rows(html_table $table, array $current, array $offered)
    {
        // Where the post office decides, the mode is shown but cannot be changed.
        $fixed     = empty($current['may_change_challenge']);
        $challenge = $this->select('challenge', $offered['challenge'], $current['challenge'] ?? '', $fixed);
        if ($fixed) {
            $mode = $this->label('challenge', (string) ($current['effective_challenge'] ?? ''), $offered['challenge']);
            $challenge .= html::div(['id' => 'mailmfa-challenge-hint', 'class' => 'form-text text-muted'],
                rcube::Q($this->text('challengefixed', ['mode' => $mode])));
        }
        $table->add('title', html::label('mailmfa-challenge', rcube::Q($this->text('challenge'))));
        $table->add(null, $challenge);

        $table->add('title', html::label('mailmfa-provider', rcube::Q($this->text('provider'))));
        $table->add(null, $this->select('provider', $offered['provider'], $current['provider'] ?? ''));
    }

    /**
     * The form's rows of the number and the address codes are sent to.
     */
    private function contact_rows(html_table $table, array $current)
    {
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
            $table->add('title', html::label($id, rcube::Q($this->text($label))));
            $table->add(null, html::tag('input', [
                    'type'             => $type,
                    'name'             => "_$name",
                    'id'               => $id,
                    'class'            => 'form-control',
                    'autocomplete'     => $autocomplete,
                    'placeholder'      => $placeholder,
                    'aria-describedby' => "$id-hint",
                ])
                . html::div(['id' => "$id-hint", 'class' => 'form-text text-muted'], rcube::Q($this->text($hint)))
            );
        }
    }

    /**
     * A drop-down of the `$offered` choices of `$name`, at `$current`.
     *
     * @param string $name     challenge or provider
     * @param array  $offered  value => the service's name for it
     * @param string $current  The value in use
     * @param bool   $disabled Shown but not changeable (a hint explains why)
     */
    private function select($name, array $offered, $current, $disabled = false)
    {
        $attrib = ['name' => "_$name", 'id' => "mailmfa-$name", 'class' => 'custom-select'];
        if ($disabled) {
            $attrib['disabled'] = 'disabled';
            $attrib['aria-describedby'] = "mailmfa-$name-hint";
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
}
