<?php

/**
 * Settings → Mail programs: the user's app passwords (docs/DESIGN.md §11). A mail program —
 * Outlook, Thunderbird, a phone's mail app — cannot ask for a code, so each gets a password of its
 * own, made by the login service. The page lists them with their last use, says whether the
 * mailbox password still works in mail programs, makes a new one and removes one after asking.
 * App passwords do not depend on the post office letting users configure their two-factor
 * settings: they are how its users keep their mail programs.
 *
 * Making one runs the step-up of Settings → Two-factor authentication first (MailmfaSettings),
 * whose accepted code calls issue(). The new password is shown on the page drawn for that very
 * request, with the server settings a mail program needs, and never enters Roundcube's session,
 * which Roundcube writes to its database; a reload shows the list without it. Removing one needs
 * no fresh code: it only takes a way in away.
 *
 * Copyright (C) The mailmfa developers. Licensed under the MIT license.
 */
class MailmfaMailPrograms extends MailmfaPages
{
    /** The protocols an app password can be made for, in the service's order, and their names. */
    const PROTOCOLS = ['imap' => 'IMAP', 'pop3' => 'POP3', 'smtp' => 'SMTP', 'sieve' => 'ManageSieve'];

    /** Where the page is. */
    const PAGE = ['_task' => 'settings', '_action' => 'plugin.mailmfa-mail-programs'];

    /** The port Roundcube assumes for a server given without one, by kind and security. */
    const DEFAULT_PORTS = ['imap' => ['ssl' => 993, 'tls' => 143, 'none' => 143], 'smtp' => ['ssl' => 465, 'tls' => 587, 'none' => 587]];

    /** @var MailmfaSettings The section whose step-up a new app password runs */
    private $settings;

    /** @var array|null|false The service's answer about the app passwords, read once per page (false: unreadable) */
    private $current;

    /** @var array|null What issue() shows, this request only: the new app password and any recovery codes */
    private $made;

    /** @var array|null The note of a page issue() draws itself: [label, type, vars] */
    private $note;

    /**
     * @param rcube_plugin    $plugin   The plugin
     * @param rcmail          $rc       Roundcube
     * @param MailmfaSettings $settings The section whose step-up a new app password runs
     */
    public function __construct(rcube_plugin $plugin, rcmail $rc, MailmfaSettings $settings)
    {
        parent::__construct($plugin, $rc);
        $this->settings = $settings;
    }

    /**
     * Hook `settings_actions`: the section Settings → Mail programs.
     */
    public function settings_actions($args)
    {
        $args['actions'][] = [
            'action' => self::PAGE['_action'],
            'class'  => 'mailmfa-mailprograms',
            'label'  => 'mailprogramstitle',
            'title'  => 'mailprogramshint',
            'domain' => 'mailmfa',
        ];

        return $args;
    }

    /**
     * Action `plugin.mailmfa-mail-programs`: the list and the form. A step-up left unfinished ends
     * here with its change.
     */
    public function page()
    {
        unset($_SESSION[self::SESSION]['step_up']);

        $this->send_page();
    }

    /**
     * Action `plugin.mailmfa-app-password-add` (POST with the request token): checks the name and
     * the protocols, then asks for a fresh code; the app password is made when it is accepted.
     */
    public function add()
    {
        if (!$this->from_own_form()) {
            $this->back_to_page('invalidrequest', 'error');
        }

        // A name is text, shown escaped: taken as typed, tags and all.
        $name      = self::posted_name(rcube_utils::get_input_string('_name', rcube_utils::INPUT_POST, true));
        $protocols = self::posted_protocols(rcube_utils::get_input_value('_protocols', rcube_utils::INPUT_POST));

        if ($name === null) {
            $this->back_to_page('apppasswordnameinvalid', 'error');
        }

        if (empty($protocols)) {
            $this->back_to_page('protocolsmissing', 'error');
        }

        // A name in use, or a full list, would be refused after the code: said before asking for one.
        $current = $this->read_app_passwords();
        $refusal = is_array($current) ? self::refusal_before_step_up($name, $current) : null;

        if ($refusal !== null) {
            $this->back_to_page($refusal[0], 'error', $refusal[1]);
        }

        $this->settings->begin_step_up(MailmfaSettings::APP_PASSWORD, ['name' => $name, 'protocols' => $protocols]);
    }

    /**
     * Action `plugin.mailmfa-app-password-remove` (POST with the request token, from the page's
     * question whether to remove it): the app password stops working at once.
     */
    public function remove()
    {
        if (!$this->from_own_form()) {
            $this->back_to_page('invalidrequest', 'error');
        }

        $name = rcube_utils::get_input_string('_name', rcube_utils::INPUT_POST, true);

        try {
            $this->client()->remove_app_password($this->rc->get_user_name(), $name);
        }
        catch (MailmfaError $e) {
            if ($e->status == 404) {
                $this->back_to_page('apppasswordgone', 'warning', ['name' => $name]);
            }

            $this->log_failure('removing an app password', $e);
            $this->back_to_page('mailprogramsunavailable', 'error');
        }

        $this->back_to_page('apppasswordremoved', 'confirmation', ['name' => $name]);
    }

    /**
     * The step-up for a new app password was accepted: makes it with the token the code brought and
     * draws the page with it for this request (ends the request). Neither the password nor the
     * recovery codes of an authenticator app set up in that step-up enter the session.
     *
     * @param array       $change {"name", "protocols"} as add() kept them
     * @param string|null $token  The step-up token (null when the code brought none)
     * @param string[]    $codes  Recovery codes to show once, from an enrolment in the step-up
     */
    public function issue(array $change, $token, array $codes)
    {
        $this->made = ['codes' => $codes];

        try {
            if ($token === null) {
                throw new MailmfaError('the step-up brought no token');
            }

            $issued = $this->client()->new_app_password($this->rc->get_user_name(), $change['name'] ?? '',
                $change['protocols'] ?? null, $token);

            if (!is_string($issued['password'] ?? null) || $issued['password'] === '') {
                throw new MailmfaError('the new app password came without its password');
            }

            $this->made['issued'] = $issued;
            $this->note = [MailmfaSettings::STEP_UP_ACTIONS[MailmfaSettings::APP_PASSWORD], 'confirmation',
                ['name' => (string) ($issued['name'] ?? '')]];
        }
        catch (MailmfaError $e) {
            list($label, $type) = self::refusal($e);
            $this->note = [$label, $type, []];
            if ($label == 'mailprogramsunavailable') {
                $this->log_failure('a new app password', $e);
            }
        }

        // The page is drawn for the code's POST: its address becomes the page's own, so that a
        // reload asks for the page afresh, without the password.
        $this->rc->output->set_env('mailmfa_page', $this->rc->url(self::PAGE));
        $this->plugin->include_script('mailmfa.js');
        $this->send_page();
    }

    /**
     * Keeps the note for the page and sends the browser back to it (ends the request).
     */
    public function back_to_page($label, $type, array $vars = [])
    {
        $this->keep_note('mail_programs_note', $label, $type, $vars);
        $this->rc->output->redirect(self::PAGE);
    }

    /**
     * Template object: the outcome of the last action, once.
     */
    public function note_object($attrib)
    {
        $kept = $this->take_note('mail_programs_note', $attrib);

        if ($this->note === null) {
            return $kept;
        }

        list($label, $type, $vars) = $this->note;

        return $this->note_box($this->text($label, $vars), $type, $attrib['id'] ?? null);
    }

    /**
     * Template object: the app password just made, with what a mail program needs to use it and
     * the Copy button; and the recovery codes of an authenticator app set up on the way. Only on
     * the page issue() draws.
     */
    public function made_object($attrib)
    {
        $html   = '';
        $issued = $this->made['issued'] ?? null;

        if ($issued !== null) {
            $name     = (string) ($issued['name'] ?? '');
            $password = html::tag('code', ['id' => 'mailmfa-app-password', 'class' => 'mailmfa-app-password'],
                rcube::Q((string) $issued['password']));
            $copy     = html::tag('button', ['type' => 'button', 'id' => 'mailmfa-copy', 'class' => 'btn btn-secondary',
                    'data-copied' => $this->text('copied'), 'hidden' => 'hidden'],
                rcube::Q($this->text('copy')));

            $html .= html::tag('h2', ['class' => 'mailmfa-recovery-title'], rcube::Q($this->text('madetitle', ['name' => $name])))
                . html::p(null, rcube::Q($this->text('madeintro', ['name' => $name])))
                . html::div('mailmfa-password-row', $password . $copy)
                . $this->server_settings_html((array) ($issued['protocols'] ?? []));
        }

        if (!empty($this->made['codes'])) {
            $html .= html::tag('h2', ['class' => 'mailmfa-recovery-title'], rcube::Q($this->text('codestitle')))
                . html::p(null, rcube::Q($this->text('codesintro'))) . $this->codes_list($this->made['codes'], 'mailmfa-new-codes');
        }

        return $html === '' ? '' : html::div(['id' => $attrib['id'] ?? null, 'class' => 'mailmfa-made'], $html);
    }

    /**
     * Template object: whether the mailbox password still works in mail programs, the app
     * passwords with their last use, and the question whether to remove the one the user chose.
     */
    public function list_object($attrib)
    {
        $current = $this->read_app_passwords();

        if (!is_array($current)) {
            return html::p(['id' => 'mailmfa-mail-programs-unread', 'class' => 'mailmfa-unread boxwarning'],
                rcube::Q($this->text('mailprogramsunread')));
        }

        $list = self::app_password_list($current);
        $html = html::p(['class' => 'mailmfa-intro'], rcube::Q($this->text('mailprogramsintro')))
            . html::p(['id' => 'mailmfa-password-in-mail-programs', 'class' => 'mailmfa-intro'],
                rcube::Q($this->text(empty($current['password_in_mail_programs']) ? 'passwordnotinmailprograms' : 'passwordinmailprograms')))
            . $this->remove_question($list);

        if (empty($list)) {
            return html::div(['id' => $attrib['id'] ?? null],
                $html . html::p(['id' => 'mailmfa-app-passwords-none'], rcube::Q($this->text('apppasswordsnone'))));
        }

        $table = new html_table(['id' => 'mailmfa-app-passwords', 'class' => 'table mailmfa-app-passwords', 'cols' => 5]);
        foreach (['apppasswordname', 'apppasswordprotocols', 'apppasswordcreated', 'apppasswordlastused'] as $label) {
            $table->add_header(null, rcube::Q($this->text($label)));
        }
        $table->add_header(null, html::span('voice', rcube::Q($this->text('remove'))));

        foreach ($list as $entry) {
            $this->app_password_row($table, $entry);
        }

        $count = html::p(['id' => 'mailmfa-app-passwords-count'],
            rcube::Q($this->text('apppasswordscount', ['count' => count($list), 'max' => (int) ($current['max'] ?? 0)])));

        return html::div(['id' => $attrib['id'] ?? null], $html . $table->show() . $count);
    }

    /**
     * Template object: the form that makes a new app password (after a fresh code), or why there
     * is none: the list is full, or could not be read.
     */
    public function form_object($attrib)
    {
        $current = $this->read_app_passwords();

        if (!is_array($current)) {
            return '';
        }

        $title = html::tag('h2', ['class' => 'mailmfa-recovery-title'], rcube::Q($this->text('newapppassword')));
        $max   = (int) ($current['max'] ?? 0);

        if ($max > 0 && count(self::app_password_list($current)) >= $max) {
            return $title . html::p(['id' => 'mailmfa-app-passwords-full'], rcube::Q($this->text('apppasswordmax', ['max' => $max])));
        }

        $name = html::tag('input', [
                'type'             => 'text',
                'name'             => '_name',
                'id'               => 'mailmfa-app-password-name',
                'class'            => 'form-control',
                'maxlength'        => 64,
                'required'         => true,
                'autocomplete'     => 'off',
                'placeholder'      => $this->text('apppasswordnameexample'),
                'aria-describedby' => 'mailmfa-app-password-name-hint',
        ]);

        $boxes = '';
        foreach (self::PROTOCOLS as $protocol => $short) {
            $id     = "mailmfa-protocol-$protocol";
            $boxes .= html::div('form-check',
                html::tag('input', ['type' => 'checkbox', 'name' => '_protocols[]', 'value' => $protocol, 'id' => $id,
                    'class' => 'form-check-input', 'checked' => true])
                . html::label(['for' => $id, 'class' => 'form-check-label'], rcube::Q($this->text("protocol_$protocol"))));
        }

        $button = html::tag('button', ['type' => 'submit', 'class' => 'btn btn-primary submit', 'id' => 'mailmfa-app-password-create'],
            rcube::Q($this->text('createapppassword')));

        return $title . $this->rc->output->form_tag([
                'id'     => $attrib['id'] ?? 'mailmfa-app-password-form',
                'method' => 'post',
                'action' => $this->rc->url(['_task' => 'settings', '_action' => 'plugin.mailmfa-app-password-add']),
            ],
            html::label(['for' => 'mailmfa-app-password-name', 'class' => 'mailmfa-label'], rcube::Q($this->text('apppasswordnamelabel')))
            . $name
            . html::div(['id' => 'mailmfa-app-password-name-hint', 'class' => 'form-text text-muted'],
                rcube::Q($this->text('apppasswordnamehint')))
            . html::tag('fieldset', ['class' => 'mailmfa-protocols'],
                html::tag('legend', ['class' => 'mailmfa-label'], rcube::Q($this->text('protocolslabel'))) . $boxes)
            . html::p(['class' => 'form-text text-muted'], rcube::Q($this->text('createhint')))
            . html::p(['class' => 'formbuttons'], $button)
        );
    }

    /**
     * The name typed for a new app password, trimmed; null when it cannot be one (empty, longer
     * than 64 characters, more than one line, not UTF-8).
     */
    public static function posted_name($raw)
    {
        $name = trim((string) $raw);

        if ($name === '' || !mb_check_encoding($name, 'UTF-8') || mb_strlen($name, 'UTF-8') > 64
            || preg_match('/[\x00-\x1f\x7f]/', $name)
        ) {
            return null;
        }

        return $name;
    }

    /**
     * The protocols ticked, in the service's order; anything else posted is dropped.
     *
     * @param mixed $raw The posted `_protocols`
     *
     * @return string[]
     */
    public static function posted_protocols($raw)
    {
        $ticked = is_array($raw) ? array_filter($raw, 'is_string') : [];

        return array_values(array_intersect(array_keys(self::PROTOCOLS), $ticked));
    }

    /**
     * Why a new app password would be refused, known from the list before a code is asked for:
     * the name is in use, or the list is full.
     *
     * @param string $name    The name, as posted_name() gave it
     * @param array  $current The service's answer about the app passwords
     *
     * @return array|null [label, vars], or null when nothing stands in the way
     */
    public static function refusal_before_step_up($name, array $current)
    {
        $list = self::app_password_list($current);

        if (in_array($name, array_column($list, 'name'), true)) {
            return ['apppasswordexists', ['name' => $name]];
        }

        $max = (int) ($current['max'] ?? 0);

        if ($max > 0 && count($list) >= $max) {
            return ['apppasswordmax', ['max' => $max]];
        }

        return null;
    }

    /**
     * A new app password the service did not make, in the user's words: the label of the note,
     * its type and its variables. A refusal without words of its own is the service being
     * unavailable.
     *
     * @return array [label, type]
     */
    public static function refusal(MailmfaError $e)
    {
        if ($e->status == 409) {
            return ['apppasswordconflict', 'error'];
        }

        if ($e->status == 403 && $e->reason == 'step_up_required') {
            return ['refused_step_up_required', 'error'];
        }

        return ['mailprogramsunavailable', 'error'];
    }

    /**
     * Where a mail program finds a server, from `$spec` as Roundcube's `imap_host` and `smtp_host`
     * write it (`ssl://host:993`, `tls://host:587`, `host:143`, `host`), with the port Roundcube
     * takes for one given without it.
     *
     * @param mixed  $spec The server
     * @param string $kind imap or smtp
     *
     * @return array|null {"host", "port", "security": ssl|tls|none}; null when it is none
     */
    public static function server($spec, $kind)
    {
        $pattern = '~^(?:([a-z]+)://)?(\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)(?::([0-9]{1,5}))?/?$~i';

        if (!is_string($spec) || !isset(self::DEFAULT_PORTS[$kind]) || !preg_match($pattern, trim($spec), $parts)) {
            return null;
        }

        $schemes = ['' => 'none', 'imap' => 'none', 'ssl' => 'ssl', 'imaps' => 'ssl', 'tls' => 'tls'];
        $scheme  = strtolower($parts[1]);

        if (!isset($schemes[$scheme])) {
            return null;
        }

        $security = $schemes[$scheme];
        $port     = isset($parts[3]) && $parts[3] !== '' ? (int) $parts[3] : self::DEFAULT_PORTS[$kind][$security];

        if ($port < 1 || $port > 65535) {
            return null;
        }

        return ['host' => strtolower($parts[2]), 'port' => $port, 'security' => $security];
    }

    /**
     * Whether `$host` is this machine: a name no mail program elsewhere can reach.
     */
    public static function is_loopback($host)
    {
        $host = strtolower(trim((string) $host, '[]'));

        return $host === 'localhost' || substr($host, -10) === '.localhost' || $host === 'localhost.localdomain'
            || $host === '::1' || preg_match('/^127(\.[0-9]{1,3}){3}$/', $host) === 1;
    }

    /**
     * The app passwords of the service's answer that have a name, each as an array.
     */
    private static function app_password_list(array $current)
    {
        $list = is_array($current['app_passwords'] ?? null) ? $current['app_passwords'] : [];

        return array_values(array_filter($list, function ($entry) {
            return is_array($entry) && is_string($entry['name'] ?? null) && $entry['name'] !== '';
        }));
    }

    /**
     * Draws the page (ends the request).
     */
    private function send_page()
    {
        $this->rc->output->set_pagetitle($this->text('mailprogramstitle'));
        $this->rc->output->send('mailmfa.mailprograms');
    }

    /**
     * The user's app passwords as the service lists them, read once for the page; false when the
     * service cannot be asked.
     */
    private function read_app_passwords()
    {
        if ($this->current === null) {
            try {
                $this->current = $this->client()->app_passwords($this->rc->get_user_name());
            }
            catch (MailmfaError $e) {
                $this->log_failure('app passwords', $e);
                $this->current = false;
            }
        }

        return $this->current;
    }

    /**
     * One row of the list: name, protocols, when it was made (and when it stops), its last use,
     * and the link that asks whether to remove it.
     */
    private function app_password_row(html_table $table, array $entry)
    {
        $names     = array_map(function ($protocol) { return self::PROTOCOLS[$protocol] ?? (string) $protocol; },
            (array) ($entry['protocols'] ?? []));
        $created   = $this->rc->format_date((string) ($entry['created_at'] ?? ''));
        $last      = $entry['last_used'] ?? null;
        $last_used = is_array($last)
            ? $this->text('lastusedfrom', [
                'when'     => $this->rc->format_date((string) ($last['at'] ?? '')),
                'ip'       => (string) ($last['ip'] ?? ''),
                'protocol' => self::PROTOCOLS[$last['protocol'] ?? ''] ?? (string) ($last['protocol'] ?? ''),
            ])
            : $this->text('lastusednever');

        if (!empty($entry['expires_at'])) {
            $created .= ' · ' . $this->text('expires', ['when' => $this->rc->format_date((string) $entry['expires_at'])]);
        }

        $remove = html::a([
                'href'       => $this->rc->url(self::PAGE + ['_remove' => $entry['name']]),
                'class'      => 'btn btn-secondary btn-sm mailmfa-remove',
                'aria-label' => $this->text('removenamed', ['name' => $entry['name']]),
            ],
            rcube::Q($this->text('remove')));

        $table->set_row_attribs(['class' => 'mailmfa-app-password-row']);
        $table->add('name', rcube::Q($entry['name']));
        // On a phone the table is a card per app password, each value under its column's name.
        $cell = function ($class, $label) { return ['class' => $class, 'data-label' => $this->text($label)]; };
        $table->add($cell('protocols', 'apppasswordprotocols'), rcube::Q(implode(', ', $names)));
        $table->add($cell('created', 'apppasswordcreated'), rcube::Q($created));
        $table->add($cell('lastused', 'apppasswordlastused'), rcube::Q($last_used));
        $table->add('remove', $remove);
    }

    /**
     * The question whether to remove the app password the user chose in the list (`_remove`), with
     * the button that does it and the way back.
     *
     * @param array $list The app passwords
     */
    private function remove_question(array $list)
    {
        $name = rcube_utils::get_input_string('_remove', rcube_utils::INPUT_GET, true);

        if (!in_array($name, array_column($list, 'name'), true)) {
            return '';
        }

        $button = html::tag('button', ['type' => 'submit', 'class' => 'btn btn-danger', 'id' => 'mailmfa-remove-confirm'],
            rcube::Q($this->text('removeconfirm')));
        $cancel = html::a(['href' => $this->rc->url(self::PAGE), 'class' => 'btn btn-secondary', 'id' => 'mailmfa-remove-cancel'],
            rcube::Q($this->text('removecancel')));

        return html::div(['id' => 'mailmfa-remove-question', 'class' => 'boxwarning mailmfa-note', 'role' => 'alert'],
            html::p(null, rcube::Q($this->text('removequestion', ['name' => $name])))
            . $this->rc->output->form_tag([
                    'id'     => 'mailmfa-remove-form',
                    'method' => 'post',
                    'action' => $this->rc->url(['_task' => 'settings', '_action' => 'plugin.mailmfa-app-password-remove']),
                ],
                html::tag('input', ['type' => 'hidden', 'name' => '_name', 'value' => $name]) . $button . ' ' . $cancel
            )
        );
    }

    /**
     * What a mail program needs besides the password: the username, and the IMAP and SMTP servers
     * for the protocols the password is for, where they are known.
     *
     * @param string[] $protocols What the app password is good for
     */
    private function server_settings_html(array $protocols)
    {
        $table = new html_table(['id' => 'mailmfa-server-settings', 'class' => 'table mailmfa-server-settings', 'cols' => 4]);
        foreach (['', 'serverheader', 'portheader', 'securityheader'] as $label) {
            $table->add_header(null, $label === '' ? '' : rcube::Q($this->text($label)));
        }

        $rows = 0;
        foreach (['imap' => 'incomingimap', 'smtp' => 'outgoingsmtp'] as $kind => $label) {
            $server = in_array($kind, $protocols, true) ? $this->mail_server($kind) : null;

            if ($server !== null) {
                $table->set_row_attribs(['id' => "mailmfa-server-$kind"]);
                $table->add('title', rcube::Q($this->text($label)));
                $table->add('host', rcube::Q($server['host']));
                $table->add('port', (int) $server['port']);
                $table->add('security', rcube::Q($this->text('security_' . $server['security'])));
                $rows++;
            }
        }

        $username = html::p(['id' => 'mailmfa-username'],
            rcube::Q($this->text('username')) . ': ' . html::tag('strong', null, rcube::Q($this->rc->get_user_name())));

        return $username . ($rows > 0 ? $table->show()
            : html::p(['id' => 'mailmfa-servers-unknown', 'class' => 'form-text text-muted'], rcube::Q($this->text('serversunknown'))));
    }

    /**
     * The IMAP or SMTP server for mail programs: the plugin's `mailmfa_mail_imap` or
     * `mailmfa_mail_smtp`, else Roundcube's own `imap_host` or `smtp_host` unless it is this
     * machine (where Roundcube reaches the mail server but no mail program elsewhere does).
     *
     * @param string $kind imap or smtp
     *
     * @return array|null As server() gives it; null when not known
     */
    private function mail_server($kind)
    {
        $own = $this->rc->config->get("mailmfa_mail_$kind", '');

        if (is_string($own) && trim($own) !== '') {
            return self::server(rcube_utils::parse_host(trim($own)), $kind);
        }

        $spec = $this->rc->config->get($kind == 'imap' ? 'imap_host' : 'smtp_host', '');

        if (is_array($spec)) {
            // One per IMAP server: the one this user signed in to.
            $spec = $kind == 'imap' ? $this->signed_in_imap_host() : ($spec[$_SESSION['storage_host'] ?? ''] ?? '');
        }

        $server = self::server(rcube_utils::parse_host((string) $spec), $kind);

        return $server === null || self::is_loopback($server['host']) ? null : $server;
    }

    /**
     * The IMAP server this session signed in to, written as in `imap_host`.
     */
    private function signed_in_imap_host()
    {
        $host = (string) ($_SESSION['storage_host'] ?? '');
        $ssl  = $_SESSION['storage_ssl'] ?? false;

        if ($host === '') {
            return '';
        }

        return ($ssl == 'tls' ? 'tls://' : ($ssl ? 'ssl://' : '')) . $host . ':' . (int) ($_SESSION['storage_port'] ?? 143);
    }
}
