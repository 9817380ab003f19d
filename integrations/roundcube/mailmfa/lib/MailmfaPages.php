<?php

/**
 * What the sign-in gate (MailmfaGate) and the settings section (MailmfaSettings) share: the
 * plugin's state in the Roundcube session, the client of the login service, the remembered-browser
 * cookie, and the pieces of HTML both show (notes, lists of recovery codes).
 *
 * Copyright (C) The mailmfa developers. Licensed under the MIT license.
 */
abstract class MailmfaPages
{
    /** The session key of the plugin's state. */
    const SESSION = 'mailmfa';

    /** The cookie that holds the token of a browser the user asked to remember (one per mailbox). */
    const DEVICE_COOKIE = 'mailmfa_device_';

    /** @var rcube_plugin The plugin, for its texts and its skin */
    protected $plugin;

    /** @var rcmail */
    protected $rc;

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
}
