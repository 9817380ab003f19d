<?php

/**
 * mailmfa: two-factor authentication for Roundcube through the mailmfa login service.
 *
 * After Roundcube has checked the IMAP password, the sign-in gate (lib/MailmfaGate.php) asks the
 * service whether this sign-in needs a second factor, shows the enrolment or code page, and turns
 * every other request of the session away until the service accepts a code. When the service
 * cannot be reached the sign-in is refused, unless the administrator chose `mailmfa_fail_open`.
 *
 * Settings → Two-factor authentication (lib/MailmfaSettings.php) lets users change their own
 * challenge mode and provider where the administrator allows it, get new recovery codes, and
 * forget their remembered browsers; all but a change of the mode first ask for a fresh code (a
 * step-up), on a code page of the settings.
 *
 * Settings → Mail programs (lib/MailmfaMailPrograms.php) lists the user's app passwords for mail
 * programs, makes one after the same step-up (shown once, with the server settings) and removes one.
 *
 * A mailbox that signs in with a passkey runs the WebAuthn ceremony on the plugin's own pages (this
 * webmail's origin, declared on its API client with `--origin`), through mailmfa-passkey.js; Settings
 * → Passkeys (lib/MailmfaPasskeys.php) lists the user's passkeys, adds one after the step-up,
 * renames and removes one.
 *
 * This class only registers hooks, actions and template objects; the plugin's state lives in the
 * Roundcube session under the key `mailmfa`; the code the user types and the API key never go
 * into a URL, a log or a page.
 *
 * Copyright (C) The mailmfa developers. Licensed under the MIT license.
 */

require_once __DIR__ . '/lib/MailmfaClient.php';
require_once __DIR__ . '/lib/MailmfaPages.php';
require_once __DIR__ . '/lib/MailmfaGate.php';
require_once __DIR__ . '/lib/MailmfaSettings.php';
require_once __DIR__ . '/lib/MailmfaMailPrograms.php';
require_once __DIR__ . '/lib/MailmfaPasskeys.php';

class mailmfa extends rcube_plugin
{
    function init()
    {
        $rc = rcmail::get_instance();

        $this->load_config();
        $this->add_texts('localization/');

        $gate = new MailmfaGate($this, $rc);
        $this->add_hook('login_after', [$gate, 'login_after']);
        $this->add_hook('ready', [$gate, 'ready']);

        if ($rc->task == 'settings') {
            $settings = new MailmfaSettings($this, $rc);
            $programs = new MailmfaMailPrograms($this, $rc, $settings);
            $passkeys = new MailmfaPasskeys($this, $rc, $settings);
            $settings->set_mail_programs($programs);
            $settings->set_passkeys($passkeys);
            $this->init_settings($settings);
            $this->init_mail_programs($programs);
            $this->init_passkeys($passkeys);
        }

        // The sign-in pages are a task of their own, so that Roundcube's session checks apply to
        // them as to any other task. Actions registered from here on belong to that task.
        $this->register_task('mailmfa');
        $this->register_action('index', [$gate, 'sign_in_page']);
        $this->register_action('verify', [$gate, 'verify']);
        $this->register_action('resend', [$gate, 'resend']);
        $this->register_action('codes', [$gate, 'codes_page']);

        if ($rc->task == 'mailmfa') {
            $this->register_handlers($gate, [
                'plugin.mailmfa-note'          => 'note_object',
                'plugin.mailmfa-prompt'        => 'prompt_object',
                'plugin.mailmfa-qrcode'        => 'qrcode_object',
                'plugin.mailmfa-secret'        => 'secret_object',
                'plugin.mailmfa-applink'       => 'applink_object',
                'plugin.mailmfa-codeform'      => 'code_form_object',
                'plugin.mailmfa-passkey-title' => 'passkey_title_object',
                'plugin.mailmfa-passkeyform'   => 'passkey_form_object',
                'plugin.mailmfa-resendform'    => 'resend_form_object',
                'plugin.mailmfa-signout'       => 'signout_object',
                'plugin.mailmfa-codes'         => 'codes_object',
                'plugin.mailmfa-continue'      => 'continue_object',
                'plugin.mailmfa-stopped-title' => 'stopped_title_object',
                'plugin.mailmfa-stopped-text'  => 'stopped_text_object',
                'plugin.mailmfa-back'          => 'back_object',
            ]);
        }
    }

    /**
     * The section Settings → Two-factor authentication: its entry, actions and template objects.
     */
    private function init_settings(MailmfaSettings $settings)
    {
        $this->add_hook('settings_actions', [$settings, 'settings_actions']);
        $this->register_action('plugin.mailmfa-settings', [$settings, 'page']);
        $this->register_action('plugin.mailmfa-settings-save', [$settings, 'save']);
        $this->register_action('plugin.mailmfa-recovery-codes', [$settings, 'new_recovery_codes']);
        $this->register_action('plugin.mailmfa-forget-browsers', [$settings, 'forget_browsers']);
        $this->register_action('plugin.mailmfa-step-up', [$settings, 'step_up_page']);
        $this->register_action('plugin.mailmfa-step-up-verify', [$settings, 'step_up_verify']);
        $this->register_action('plugin.mailmfa-step-up-resend', [$settings, 'step_up_resend']);
        $this->register_handlers($settings, [
            'plugin.mailmfa-settings-note'      => 'note_object',
            'plugin.mailmfa-settings-form'      => 'form_object',
            'plugin.mailmfa-stepup-note'        => 'step_up_note_object',
            'plugin.mailmfa-stepup-prompt'      => 'step_up_prompt_object',
            'plugin.mailmfa-stepup-enrolment'   => 'step_up_enrolment_object',
            'plugin.mailmfa-stepup-codeform'    => 'step_up_code_form_object',
            'plugin.mailmfa-stepup-resendform'  => 'step_up_resend_form_object',
            'plugin.mailmfa-stepup-cancel'      => 'step_up_cancel_object',
            'plugin.mailmfa-stepup-section'     => 'step_up_section_object',
        ]);
        $this->include_stylesheet($this->local_skin_path() . '/mailmfa.css');
    }

    /**
     * The section Settings → Mail programs, listed after Two-factor authentication: its entry,
     * actions and template objects.
     */
    private function init_mail_programs(MailmfaMailPrograms $programs)
    {
        $this->add_hook('settings_actions', [$programs, 'settings_actions']);
        $this->register_action('plugin.mailmfa-mail-programs', [$programs, 'page']);
        $this->register_action('plugin.mailmfa-app-password-add', [$programs, 'add']);
        $this->register_action('plugin.mailmfa-app-password-remove', [$programs, 'remove']);
        $this->register_handlers($programs, [
            'plugin.mailmfa-mailprograms-note' => 'note_object',
            'plugin.mailmfa-mailprograms-made' => 'made_object',
            'plugin.mailmfa-mailprograms-list' => 'list_object',
            'plugin.mailmfa-mailprograms-form' => 'form_object',
        ]);
    }

    /**
     * The section Settings → Passkeys, listed after Mail programs: its entry, actions and
     * template objects.
     */
    private function init_passkeys(MailmfaPasskeys $passkeys)
    {
        $this->add_hook('settings_actions', [$passkeys, 'settings_actions']);
        $this->register_action('plugin.mailmfa-passkeys', [$passkeys, 'page']);
        $this->register_action('plugin.mailmfa-passkey-add', [$passkeys, 'add']);
        $this->register_action('plugin.mailmfa-passkey-create', [$passkeys, 'create_page']);
        $this->register_action('plugin.mailmfa-passkey-finish', [$passkeys, 'finish']);
        $this->register_action('plugin.mailmfa-passkey-rename', [$passkeys, 'rename']);
        $this->register_action('plugin.mailmfa-passkey-remove', [$passkeys, 'remove']);
        $this->register_handlers($passkeys, [
            'plugin.mailmfa-passkeys-note'     => 'note_object',
            'plugin.mailmfa-passkeys-list'     => 'list_object',
            'plugin.mailmfa-passkeys-form'     => 'form_object',
            'plugin.mailmfa-passkey-add-title' => 'add_title_object',
            'plugin.mailmfa-passkey-add-form'  => 'add_form_object',
        ]);
    }

    /**
     * Registers template objects drawn by methods of `$pages`.
     *
     * @param MailmfaPages $pages   The gate or the settings section
     * @param array        $objects Method names by object name
     */
    private function register_handlers(MailmfaPages $pages, array $objects)
    {
        foreach ($objects as $name => $method) {
            $this->register_handler($name, [$pages, $method]);
        }
    }
}
