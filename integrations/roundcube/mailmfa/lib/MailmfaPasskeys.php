<?php

/**
 * Settings → Passkeys (docs/DESIGN.md §14): the user's passkeys with when each was made and last
 * used; adding another, named; renaming one; removing one.
 *
 * Adding or removing one runs the step-up of Settings → Two-factor authentication first
 * (MailmfaSettings), whose accepted step-up calls after_step_up(). Adding then asks the service
 * for a registration (`POST /v1/users/{address}/passkeys/begin` with the step-up token), whose
 * ceremony runs on the page `plugin.mailmfa-passkey-create` in this browser (mailmfa-passkey.js,
 * the webmail's own origin, as at sign-in), and posts the browser's answer to
 * `plugin.mailmfa-passkey-finish`, which hands it to the service with the name. The session keeps
 * the registration's id and options (public) until that answer, once. Renaming changes no way in
 * and needs no step-up.
 *
 * Copyright (C) The mailmfa developers. Licensed under the MIT license.
 */
class MailmfaPasskeys extends MailmfaPages
{
    /** Where the page is. */
    const PAGE = ['_task' => 'settings', '_action' => 'plugin.mailmfa-passkeys'];

    /** Where the ceremony of a new passkey runs. */
    const CREATE_PAGE = ['_task' => 'settings', '_action' => 'plugin.mailmfa-passkey-create'];

    /** @var MailmfaSettings The section whose step-up adding and removing run */
    private $settings;

    /** @var array|null|false The service's answer about the passkeys, read once per page (false: unreadable) */
    private $current;

    /**
     * @param rcube_plugin    $plugin   The plugin
     * @param rcmail          $rc       Roundcube
     * @param MailmfaSettings $settings The section whose step-up adding and removing run
     */
    public function __construct(rcube_plugin $plugin, rcmail $rc, MailmfaSettings $settings)
    {
        parent::__construct($plugin, $rc);
        $this->settings = $settings;
    }

    /**
     * Hook `settings_actions`: the section Settings → Passkeys.
     */
    public function settings_actions($args)
    {
        $args['actions'][] = [
            'action' => self::PAGE['_action'],
            'class'  => 'mailmfa-passkeys',
            'label'  => 'passkeystitle',
            'title'  => 'passkeyshint',
            'domain' => 'mailmfa',
        ];

        return $args;
    }

    /**
     * Action `plugin.mailmfa-passkeys`: the list and the form. A step-up or a registration left
     * unfinished ends here.
     */
    public function page()
    {
        unset($_SESSION[self::SESSION]['step_up'], $_SESSION[self::SESSION]['passkey_add']);

        $this->rc->output->set_pagetitle($this->text('passkeystitle'));
        $this->rc->output->send('mailmfa.passkeys');
    }

    /**
     * Action `plugin.mailmfa-passkey-add` (POST with the request token): checks the name, then
     * asks the user to confirm it is them; the registration begins when that is accepted.
     */
    public function add()
    {
        $this->refuse_unless_own_form();

        $name = MailmfaMailPrograms::posted_name(rcube_utils::get_input_string('_name', rcube_utils::INPUT_POST, true));

        if ($name === null) {
            $this->back_to_page('passkeynameinvalid', 'error');
        }

        $current = $this->read_passkeys();

        if (is_array($current) && empty($current['signs_in_with_passkey'])) {
            $this->back_to_page('passkeysnotused', 'error');
        }

        if (is_array($current) && in_array($name, self::names($current), true)) {
            $this->back_to_page('passkeyexists', 'error', ['name' => $name]);
        }

        $this->settings->begin_step_up(MailmfaSettings::PASSKEY_ADD, ['name' => $name]);
    }

    /**
     * Action `plugin.mailmfa-passkey-remove` (POST with the request token, from the page's
     * question): asks the user to confirm it is them; the passkey is removed when that is accepted.
     */
    public function remove()
    {
        $this->refuse_unless_own_form();

        $name = (string) rcube_utils::get_input_string('_name', rcube_utils::INPUT_POST, true);

        $this->settings->begin_step_up(MailmfaSettings::PASSKEY_REMOVE, ['name' => $name]);
    }

    /**
     * Action `plugin.mailmfa-passkey-rename` (POST with the request token).
     */
    public function rename()
    {
        $this->refuse_unless_own_form();

        $name     = (string) rcube_utils::get_input_string('_name', rcube_utils::INPUT_POST, true);
        $new_name = MailmfaMailPrograms::posted_name(rcube_utils::get_input_string('_new_name', rcube_utils::INPUT_POST, true));

        if ($new_name === null) {
            $this->back_to_page('passkeynameinvalid', 'error');
        }

        try {
            $this->client()->rename_passkey($this->rc->get_user_name(), $name, $new_name);
        }
        catch (MailmfaError $e) {
            $this->back_after_refusal($e, 'renaming a passkey', ['name' => $name, 'new' => $new_name]);
        }

        $this->back_to_page('passkeyrenamed', 'confirmation', ['name' => $name, 'new' => $new_name]);
    }

    /**
     * The step-up was accepted: for a new passkey, begins its registration and sends the browser
     * to the page that runs it; for a removal, removes it (ends the request either way).
     *
     * @param string      $action MailmfaSettings::PASSKEY_ADD or PASSKEY_REMOVE
     * @param array       $change {"name"}
     * @param string|null $token  The step-up token (null when the step-up brought none)
     * @param string[]    $codes  Recovery codes of a passkey the step-up enrolled, shown once
     */
    public function after_step_up($action, array $change, $token, array $codes)
    {
        $name = (string) ($change['name'] ?? '');

        if (!empty($codes)) {
            $_SESSION[self::SESSION]['passkey_codes'] = $codes;
        }

        try {
            if ($token === null) {
                throw new MailmfaError('the step-up brought no token');
            }

            if ($action == MailmfaSettings::PASSKEY_REMOVE) {
                $this->client()->remove_passkey($this->rc->get_user_name(), $name, $token);
                $this->back_to_page('passkeyremoved', 'confirmation', ['name' => $name]);
            }

            $begun = $this->client()->begin_passkey($this->rc->get_user_name(), $token);

            if (!is_string($begun['ceremony_id'] ?? null) || !self::usable_webauthn_options($begun['webauthn'] ?? null)) {
                throw new MailmfaError('the registration came without its ceremony or options');
            }
        }
        catch (MailmfaError $e) {
            $this->back_after_refusal($e, 'a passkey step', ['name' => $name]);
        }

        $_SESSION[self::SESSION]['passkey_add'] = [
            'ceremony' => $begun['ceremony_id'],
            'name'     => $name,
            'webauthn' => $begun['webauthn'],
            'until'    => time() + max(60, (int) ($begun['expires_in'] ?? 300)),
        ];

        $this->rc->output->redirect(self::CREATE_PAGE);
    }

    /**
     * Action `plugin.mailmfa-passkey-create`: the page that creates the new passkey in this
     * browser.
     */
    public function create_page()
    {
        $this->pending_registration();

        $this->plugin->include_script('mailmfa-passkey.js');
        $this->rc->output->set_pagetitle($this->text('passkeystitle'));
        $this->rc->output->send('mailmfa.passkeyadd');
    }

    /**
     * Action `plugin.mailmfa-passkey-finish` (POST with the request token): the browser's answer
     * to the registration goes to the service with the name. The registration is spent, whatever
     * the answer.
     */
    public function finish()
    {
        $pending = $this->pending_registration();
        unset($_SESSION[self::SESSION]['passkey_add']);

        $this->refuse_unless_own_form();

        $credential = $this->posted_webauthn();

        if ($credential === null) {
            $this->back_to_page('passkeyaddfailed', 'error');
        }

        try {
            $answer = $this->client()->finish_passkey($this->rc->get_user_name(), $pending['ceremony'], $credential,
                $pending['name']);
        }
        catch (MailmfaError $e) {
            $this->back_after_refusal($e, 'a new passkey', ['name' => $pending['name']]);
        }

        if (($answer['result'] ?? '') === 'accepted') {
            $this->back_to_page('passkeyadded', 'confirmation', ['name' => (string) ($answer['name'] ?? $pending['name'])]);
        }

        $this->back_to_page('passkeyaddrefused', 'error');
    }

    /**
     * A refusal of the service in the user's words (ends the request).
     */
    private function back_after_refusal(MailmfaError $e, $what, array $vars)
    {
        $labels = [
            'passkey_exists'      => 'passkeyexists',
            'last_passkey'        => 'passkeylast',
            'not_passkey_mailbox' => 'passkeysnotused',
            'step_up_required'    => 'refused_step_up_required',
        ];

        if (isset($labels[$e->reason])) {
            $this->back_to_page($labels[$e->reason], 'error', $vars);
        }

        if ($e->status == 404) {
            $this->back_to_page($what == 'a new passkey' ? 'passkeyaddexpired' : 'passkeygone', 'warning', $vars);
        }

        $this->log_failure($what, $e);
        $this->back_to_page('passkeysunavailable', 'error');
    }

    /**
     * The registration that waits for the browser's answer; without one, back to the page (ends
     * the request).
     */
    private function pending_registration()
    {
        $pending = $_SESSION[self::SESSION]['passkey_add'] ?? null;

        if (!is_array($pending) || (int) ($pending['until'] ?? 0) <= time()) {
            unset($_SESSION[self::SESSION]['passkey_add']);
            $this->back_to_page(is_array($pending) ? 'passkeyaddexpired' : 'invalidrequest', 'error');
        }

        return $pending;
    }

    /**
     * Keeps the note for the page and sends the browser back to it (ends the request).
     */
    public function back_to_page($label, $type, array $vars = [])
    {
        $this->keep_note('passkeys_note', $label, $type, $vars);
        $this->rc->output->redirect(self::PAGE);
    }

    /**
     * Back to the page with Roundcube's "Invalid request! No data was saved." unless the request
     * is the page's own form.
     */
    private function refuse_unless_own_form()
    {
        if (!$this->from_own_form()) {
            $this->back_to_page('invalidrequest', 'error');
        }
    }

    /**
     * Template object: the outcome of the last action, once.
     */
    public function note_object($attrib)
    {
        return $this->take_note('passkeys_note', $attrib);
    }

    /**
     * Template object: the passkeys with when each was made and last used, and the question of
     * the one the user chose to rename or remove.
     */
    public function list_object($attrib)
    {
        $current = $this->read_passkeys();

        if (!is_array($current)) {
            return html::p(['id' => 'mailmfa-passkeys-unread', 'class' => 'mailmfa-unread boxwarning'],
                rcube::Q($this->text('passkeysunread')));
        }

        $html  = html::p(['class' => 'mailmfa-intro'], rcube::Q($this->text('passkeysintro')));
        $codes = $_SESSION[self::SESSION]['passkey_codes'] ?? [];
        unset($_SESSION[self::SESSION]['passkey_codes']);

        if (!empty($codes)) {
            $html .= html::tag('h2', ['class' => 'mailmfa-recovery-title'], rcube::Q($this->text('codestitle')))
                . html::p(null, rcube::Q($this->text('codesintro'))) . $this->codes_list($codes, 'mailmfa-new-codes');
        }

        if (empty($current['signs_in_with_passkey'])) {
            $html .= html::p(['id' => 'mailmfa-passkeys-not-used', 'class' => 'mailmfa-intro'],
                rcube::Q($this->text('passkeysnotusedintro')));
        }

        $list = self::entries($current);
        $html .= $this->question(self::names($current));

        if (empty($list)) {
            return html::div(['id' => $attrib['id'] ?? null],
                $html . html::p(['id' => 'mailmfa-passkeys-none'], rcube::Q($this->text('passkeysnone'))));
        }

        $table = new html_table(['id' => 'mailmfa-passkeys', 'class' => 'table mailmfa-passkeys', 'cols' => 4]);
        foreach (['passkeyname', 'passkeycreated', 'passkeylastused'] as $label) {
            $table->add_header(null, rcube::Q($this->text($label)));
        }
        $table->add_header(null, html::span('voice', rcube::Q($this->text('passkeyactions'))));

        foreach ($list as $entry) {
            $this->row($table, $entry);
        }

        return html::div(['id' => $attrib['id'] ?? null], $html . $table->show());
    }

    /**
     * Template object: the form that adds a passkey (after the user confirms it is them).
     */
    public function form_object($attrib)
    {
        $current = $this->read_passkeys();

        if (!is_array($current) || empty($current['signs_in_with_passkey'])) {
            return '';
        }

        $name = html::tag('input', [
                'type'             => 'text',
                'name'             => '_name',
                'id'               => 'mailmfa-passkey-name',
                'class'            => 'form-control',
                'maxlength'        => 64,
                'required'         => true,
                'autocomplete'     => 'off',
                'placeholder'      => $this->text('passkeynameexample'),
                'aria-describedby' => 'mailmfa-passkey-name-hint',
        ]);
        $button = html::tag('button', ['type' => 'submit', 'class' => 'btn btn-primary submit', 'id' => 'mailmfa-passkey-add'],
            rcube::Q($this->text('addpasskey')));

        return html::tag('h2', ['class' => 'mailmfa-recovery-title'], rcube::Q($this->text('addpasskey')))
            . $this->rc->output->form_tag([
                    'id'     => $attrib['id'] ?? 'mailmfa-passkey-add-form',
                    'method' => 'post',
                    'action' => $this->rc->url(['_task' => 'settings', '_action' => 'plugin.mailmfa-passkey-add']),
                ],
                html::label(['for' => 'mailmfa-passkey-name', 'class' => 'mailmfa-label'], rcube::Q($this->text('passkeynamelabel')))
                . $name
                . html::div(['id' => 'mailmfa-passkey-name-hint', 'class' => 'form-text text-muted'],
                    rcube::Q($this->text('passkeynamehint')))
                . html::p(['class' => 'formbuttons'], $button)
            );
    }

    /**
     * Template object: the title of the page that creates a new passkey.
     */
    public function add_title_object($attrib)
    {
        $name = (string) ($_SESSION[self::SESSION]['passkey_add']['name'] ?? '');

        return html::tag('h2', ['id' => $attrib['id'] ?? null], rcube::Q($this->text('addpasskeynamed', ['name' => $name])));
    }

    /**
     * Template object: the button that creates the new passkey in this browser, and the way back.
     */
    public function add_form_object($attrib)
    {
        $pending = $_SESSION[self::SESSION]['passkey_add'];
        $back    = html::a(['href' => $this->rc->url(self::PAGE), 'class' => 'btn btn-secondary', 'id' => 'mailmfa-passkey-cancel'],
            rcube::Q($this->text('stepupcancel')));

        return html::p(null, rcube::Q($this->text('addpasskeyintro')))
            . $this->passkey_form_html($attrib['id'] ?? 'mailmfa-passkey-form',
                ['_task' => 'settings', '_action' => 'plugin.mailmfa-passkey-finish'], true, (array) $pending['webauthn'], 0,
                'createthepasskey')
            . html::p(['class' => 'mailmfa-links'], $back);
    }

    /**
     * The user's passkeys as the service lists them, read once for the page; false when the
     * service cannot be asked.
     */
    private function read_passkeys()
    {
        if ($this->current === null) {
            try {
                $this->current = $this->client()->passkeys($this->rc->get_user_name());
            }
            catch (MailmfaError $e) {
                $this->log_failure('passkeys', $e);
                $this->current = false;
            }
        }

        return $this->current;
    }

    /**
     * The passkeys of the service's answer that have a name, each as an array.
     */
    private static function entries(array $current)
    {
        $list = is_array($current['passkeys'] ?? null) ? $current['passkeys'] : [];

        return array_values(array_filter($list, function ($entry) {
            return is_array($entry) && is_string($entry['name'] ?? null) && $entry['name'] !== '';
        }));
    }

    /**
     * The names of the passkeys of the service's answer.
     *
     * @return string[]
     */
    public static function names(array $current)
    {
        return array_column(self::entries($current), 'name');
    }

    /**
     * One row of the list: name, made, last used, and the links that ask to rename or remove it.
     */
    private function row(html_table $table, array $entry)
    {
        $name      = $entry['name'];
        $created   = $this->rc->format_date((string) ($entry['created_at'] ?? ''));
        $last_used = empty($entry['last_used_at']) ? $this->text('lastusednever')
            : $this->rc->format_date((string) $entry['last_used_at']);
        $link      = function ($what, $class, $label) use ($name) {
            return html::a([
                    'href'       => $this->rc->url(self::PAGE + ["_$what" => $name]),
                    'class'      => "btn btn-secondary btn-sm $class",
                    'aria-label' => $this->text($label . 'named', ['name' => $name]),
                ],
                rcube::Q($this->text($label)));
        };

        $table->set_row_attribs(['class' => 'mailmfa-passkey-row']);
        $table->add('name', rcube::Q($name));
        $cell = function ($class, $label) { return ['class' => $class, 'data-label' => $this->text($label)]; };
        $table->add($cell('created', 'passkeycreated'), rcube::Q($created));
        $table->add($cell('lastused', 'passkeylastused'), rcube::Q($last_used));
        $table->add('actions', $link('rename', 'mailmfa-rename', 'passkeyrename') . ' '
            . $link('remove', 'mailmfa-remove', 'passkeyremove'));
    }

    /**
     * The question of the passkey the user chose in the list: its new name (`_rename`), or
     * whether to remove it (`_remove`).
     *
     * @param string[] $names The passkeys' names
     */
    private function question(array $names)
    {
        $cancel = html::a(['href' => $this->rc->url(self::PAGE), 'class' => 'btn btn-secondary', 'id' => 'mailmfa-question-cancel'],
            rcube::Q($this->text('removecancel')));
        $rename = rcube_utils::get_input_string('_rename', rcube_utils::INPUT_GET, true);

        if (in_array($rename, $names, true)) {
            $field  = html::tag('input', ['type' => 'text', 'name' => '_new_name', 'id' => 'mailmfa-passkey-new-name',
                'class' => 'form-control', 'maxlength' => 64, 'required' => true, 'autocomplete' => 'off', 'value' => $rename]);
            $button = html::tag('button', ['type' => 'submit', 'class' => 'btn btn-primary', 'id' => 'mailmfa-rename-confirm'],
                rcube::Q($this->text('passkeyrenameconfirm')));

            return html::div(['id' => 'mailmfa-rename-question', 'class' => 'boxinformation mailmfa-note'],
                $this->rc->output->form_tag([
                        'id'     => 'mailmfa-rename-form',
                        'method' => 'post',
                        'action' => $this->rc->url(['_task' => 'settings', '_action' => 'plugin.mailmfa-passkey-rename']),
                    ],
                    html::label(['for' => 'mailmfa-passkey-new-name', 'class' => 'mailmfa-label'],
                        rcube::Q($this->text('passkeyrenamelabel', ['name' => $rename])))
                    . html::tag('input', ['type' => 'hidden', 'name' => '_name', 'value' => $rename])
                    . $field . html::p(['class' => 'formbuttons'], $button . ' ' . $cancel)
                )
            );
        }

        $remove = rcube_utils::get_input_string('_remove', rcube_utils::INPUT_GET, true);

        if (!in_array($remove, $names, true)) {
            return '';
        }

        $button = html::tag('button', ['type' => 'submit', 'class' => 'btn btn-danger', 'id' => 'mailmfa-remove-confirm'],
            rcube::Q($this->text('removeconfirm')));

        return html::div(['id' => 'mailmfa-remove-question', 'class' => 'boxwarning mailmfa-note', 'role' => 'alert'],
            html::p(null, rcube::Q($this->text('passkeyremovequestion', ['name' => $remove])))
            . $this->rc->output->form_tag([
                    'id'     => 'mailmfa-remove-form',
                    'method' => 'post',
                    'action' => $this->rc->url(['_task' => 'settings', '_action' => 'plugin.mailmfa-passkey-remove']),
                ],
                html::tag('input', ['type' => 'hidden', 'name' => '_name', 'value' => $remove]) . $button . ' ' . $cancel
            )
        );
    }
}
