<?php

/**
 * A small client for the mailmfa login service (`mailmfa serve`, docs/DESIGN.md §8).
 *
 * Every call sends the API key as `Authorization: Bearer …` and JSON; every answer is JSON.
 * A 200 answer is returned as an array; anything else (no connection, a timeout, an HTTP error
 * status, a body that is not JSON, a request that cannot be written as JSON) is thrown as a
 * MailmfaError. The key never appears in an
 * exception, and neither does a code: messages carry only the service's own error text or the
 * transport's.
 *
 * Copyright (C) The mailmfa developers. Licensed under the MIT license.
 */
class MailmfaClient
{
    /** @var string The service's address without a final slash, e.g. http://127.0.0.1:8750 */
    private $url;

    /** @var string The API key (`mmfa_…`) */
    private $key;

    /** @var float Seconds a whole call may take */
    private $timeout;

    /**
     * @param string $url     The service's address, e.g. http://127.0.0.1:8750
     * @param string $key     The API key `mailmfa client add` printed
     * @param float  $timeout Seconds a call may take, connecting included
     */
    public function __construct($url, $key, $timeout = 5.0)
    {
        $this->url     = rtrim((string) $url, '/');
        $this->key     = (string) $key;
        $this->timeout = max(0.1, (float) $timeout);
    }

    /**
     * `GET /v1/health`: whether the service answers (no key needed).
     *
     * @return array {"status", "version", "store"}
     */
    public function health()
    {
        return $this->call('GET', '/v1/health');
    }

    /**
     * `POST /v1/login/begin`: the decision for a login whose password was just accepted.
     *
     * @param string      $address The mailbox
     * @param string      $ip      The browser's address
     * @param string|null $device  The token of a device the user had remembered (its cookie)
     * @param string|null $purpose null for a sign-in, `step_up` for a fresh code before a
     *                             sensitive change (always challenged; no device is sent then)
     *
     * @return array {"decision": "allow"|"challenge"|"enroll"|"locked"|"refused", …}; a
     *               challenge or enrolment also "remember_days" when a device may be remembered
     */
    public function begin($address, $ip, $device = null, $purpose = null)
    {
        $body = ['address' => (string) $address, 'ip' => (string) $ip];
        if ($device !== null && $device !== '') {
            $body['device_token'] = (string) $device;
        }
        if ($purpose !== null) {
            $body['purpose'] = (string) $purpose;
        }

        return $this->call('POST', '/v1/login/begin', $body);
    }

    /**
     * `POST /v1/login/verify`: checks the code the user typed.
     *
     * @param string $transaction_id The transaction begin answered with
     * @param string $code           The code
     * @param bool   $remember       The user asked to remember this device
     *
     * @return array {"result": "accepted"} (with "recovery_codes" after an enrolment,
     *               "device_token" when the device is remembered, "step_up_token" after a step-up)
     *               or {"result": "rejected", "reason": …}
     */
    public function verify($transaction_id, $code, $remember = false)
    {
        return $this->call('POST', '/v1/login/verify', [
                'transaction_id' => (string) $transaction_id,
                'code'           => (string) $code,
                'remember'       => (bool) $remember,
        ]);
    }

    /**
     * `POST /v1/login/verify` with the browser's answer to the transaction's passkey ceremony.
     *
     * @param string $transaction_id The transaction begin answered with
     * @param object $credential     `credential.toJSON()`, decoded with its objects as objects
     * @param bool   $remember       The user asked to remember this device
     *
     * @return array As verify() returns it
     */
    public function verify_passkey($transaction_id, $credential, $remember = false)
    {
        return $this->call('POST', '/v1/login/verify', [
                'transaction_id' => (string) $transaction_id,
                'webauthn'       => $credential,
                'remember'       => (bool) $remember,
        ]);
    }

    /**
     * `POST /v1/login/resend`: sends a new SMS or e-mail code (the old one stops working).
     *
     * @param string $transaction_id The transaction begin answered with
     *
     * @return array {"sent_to": …} or {"decision": "locked", "retry_after_s": …}
     */
    public function resend($transaction_id)
    {
        return $this->call('POST', '/v1/login/resend', ['transaction_id' => (string) $transaction_id]);
    }

    /**
     * `POST /v1/login/enrolment`: the QR code of a transaction that waits for the first code of a
     * new authenticator app, so that the secret need not be kept between the page and the code.
     *
     * @param string $transaction_id The transaction begin answered `enroll` with
     *
     * @return array {"otpauth_uri", "qr_png_base64"}
     */
    public function enrolment($transaction_id)
    {
        return $this->call('POST', '/v1/login/enrolment', ['transaction_id' => (string) $transaction_id]);
    }

    /**
     * The mailbox's own settings as its user may see them: `GET /v1/users/{address}/settings`.
     *
     * @param string $address The mailbox
     *
     * @return array {"address", "challenge", "effective_challenge", "may_change_challenge",
     *               "provider", "providers", "sms_number", "alt_email", "recovery_codes_left",
     *               "remembered_devices", "choices": {"challenge": [{"value", "label"}, …],
     *               "provider": [{"value", "label"}, …]}}
     *               (numbers and addresses masked)
     */
    public function show_user_settings($address)
    {
        return $this->call('GET', '/v1/users/' . rawurlencode((string) $address) . '/settings');
    }

    /**
     * `PUT /v1/users/{address}/settings`: the user's own change to their settings.
     *
     * @param string      $address  The mailbox
     * @param array       $settings Any of "challenge", "provider", "sms_number", "alt_email"
     * @param string|null $step_up  The step-up token a new provider, number or address needs
     *
     * @return array The settings after the change, as show_user_settings() returns them
     */
    public function user_settings($address, array $settings, $step_up = null)
    {
        $known = array_intersect_key($settings, array_flip(['challenge', 'provider', 'sms_number', 'alt_email']));

        return $this->call('PUT', '/v1/users/' . rawurlencode((string) $address) . '/settings',
            array_map('strval', $known), $step_up);
    }

    /**
     * `POST /v1/users/{address}/recovery-codes`: ten new recovery codes for the user, to show
     * once; the ones before stop working.
     *
     * @param string      $address The mailbox
     * @param string|null $step_up The step-up token it needs
     *
     * @return array {"address", "recovery_codes": ["abcde-fghjk", …]}
     */
    public function new_recovery_codes($address, $step_up = null)
    {
        return $this->call('POST', '/v1/users/' . rawurlencode((string) $address) . '/recovery-codes', null, $step_up);
    }

    /**
     * `DELETE /v1/users/{address}/devices`: the user forgets every browser remembered for the
     * mailbox; each asks for a code again.
     *
     * @param string      $address The mailbox
     * @param string|null $step_up The step-up token it needs
     *
     * @return array The settings after it, as show_user_settings() returns them
     */
    public function forget_devices($address, $step_up = null)
    {
        return $this->call('DELETE', '/v1/users/' . rawurlencode((string) $address) . '/devices', null, $step_up);
    }

    /**
     * `GET /v1/users/{address}/app-passwords`: the user's app passwords for mail programs, with
     * their last use (never the passwords).
     *
     * @param string $address The mailbox
     *
     * @return array {"address", "app_passwords": [{"name", "protocols", "created_at", "expires_at",
     *               "last_used": null|{"at", "ip", "protocol"}}, …], "max", "password_in_mail_programs"}
     */
    public function app_passwords($address)
    {
        return $this->call('GET', '/v1/users/' . rawurlencode((string) $address) . '/app-passwords');
    }

    /**
     * `POST /v1/users/{address}/app-passwords`: a new app password for a mail program, to show
     * once. A name the mailbox has already, or one more than it may have, is refused (409).
     *
     * @param string        $address   The mailbox
     * @param string        $name      What the user calls the mail program
     * @param string[]|null $protocols Any of imap, pop3, smtp, sieve; null for all of them
     * @param string|null   $step_up   The step-up token it needs
     *
     * @return array {"address", "name", "password", "protocols", "expires_at"}
     */
    public function new_app_password($address, $name, $protocols = null, $step_up = null)
    {
        $body = ['name' => (string) $name];
        if ($protocols !== null) {
            $body['protocols'] = array_values(array_map('strval', (array) $protocols));
        }

        return $this->call('POST', '/v1/users/' . rawurlencode((string) $address) . '/app-passwords', $body, $step_up);
    }

    /**
     * `DELETE /v1/users/{address}/app-passwords/{name}`: the app password stops working at once,
     * on every mail server (404 for a name the mailbox does not have).
     *
     * @param string $address The mailbox
     * @param string $name    The app password's name
     *
     * @return array The app passwords after it, as app_passwords() returns them
     */
    public function remove_app_password($address, $name)
    {
        return $this->call('DELETE', '/v1/users/' . rawurlencode((string) $address) . '/app-passwords/'
            . rawurlencode((string) $name));
    }

    /**
     * `GET /v1/users/{address}/passkeys`: the user's passkeys (never the keys).
     *
     * @param string $address The mailbox
     *
     * @return array {"address", "signs_in_with_passkey", "passkeys": [{"name", "aaguid", "counter",
     *               "created_at", "last_used_at"}, …]}
     */
    public function passkeys($address)
    {
        return $this->call('GET', self::passkeys_path($address));
    }

    /**
     * `POST /v1/users/{address}/passkeys/begin`: the creation options of another passkey, after a
     * step-up (403 `step_up_required` without; 409 `not_passkey_mailbox` for a mailbox that does
     * not sign in with a passkey).
     *
     * @param string      $address The mailbox
     * @param string|null $step_up The step-up token it needs
     *
     * @return array {"ceremony_id", "expires_in", "webauthn"}
     */
    public function begin_passkey($address, $step_up = null)
    {
        return $this->call('POST', self::passkeys_path($address) . '/begin', null, $step_up);
    }

    /**
     * `POST /v1/users/{address}/passkeys/finish`: the browser's answer to the registration, and
     * the passkey's name (409 `passkey_exists` for a name in use; 404 for a ceremony that ended).
     *
     * @param string      $address    The mailbox
     * @param string      $ceremony   The ceremony begin_passkey() answered with
     * @param object      $credential `credential.toJSON()`, decoded with its objects as objects
     * @param string|null $name       Its name (null: the service names it)
     *
     * @return array {"result": "accepted", "name", …the passkeys} or {"result": "rejected", "reason"}
     */
    public function finish_passkey($address, $ceremony, $credential, $name = null)
    {
        $body = ['ceremony_id' => (string) $ceremony, 'webauthn' => $credential];
        if ($name !== null) {
            $body['name'] = (string) $name;
        }

        return $this->call('POST', self::passkeys_path($address) . '/finish', $body);
    }

    /**
     * `PUT /v1/users/{address}/passkeys/{name}`: a new name (404 for a name the mailbox does not
     * have, 409 `passkey_exists` for one in use).
     *
     * @return array The passkeys after it, as passkeys() returns them
     */
    public function rename_passkey($address, $name, $new_name)
    {
        return $this->call('PUT', self::passkeys_path($address) . '/' . rawurlencode((string) $name),
            ['name' => (string) $new_name]);
    }

    /**
     * `DELETE /v1/users/{address}/passkeys/{name}`, after a step-up: it signs in no more (409
     * `last_passkey` for the last one of a passkey mailbox).
     *
     * @return array The passkeys after it, as passkeys() returns them
     */
    public function remove_passkey($address, $name, $step_up = null)
    {
        return $this->call('DELETE', self::passkeys_path($address) . '/' . rawurlencode((string) $name), null, $step_up);
    }

    private static function passkeys_path($address)
    {
        return '/v1/users/' . rawurlencode((string) $address) . '/passkeys';
    }

    /**
     * One call: the decoded JSON of a 200 answer, or a MailmfaError.
     *
     * @param string      $method  HTTP method
     * @param string      $path    Path below the service's address
     * @param array|null  $body    JSON body
     * @param string|null $step_up A step-up token, sent as `Mailmfa-Step-Up`
     *
     * @return array
     * @throws MailmfaError
     */
    private function call($method, $path, $body = null, $step_up = null)
    {
        if ($this->url === '' || !preg_match('!^https?://!i', $this->url)) {
            throw new MailmfaError('the service address (mailmfa_url) is not set or not http(s)');
        }

        $headers = ['Accept: application/json'];
        if ($this->key !== '') {
            $headers[] = 'Authorization: Bearer ' . $this->key;
        }
        if ($step_up !== null) {
            // The service's tokens are URL-safe base64: anything else (a line break above all,
            // which would add a header of its own) is not sent.
            if (!is_string($step_up) || !preg_match('/^[A-Za-z0-9_-]{1,128}$/', $step_up)) {
                throw new MailmfaError('the step-up token is not one of the service\'s');
            }
            $headers[] = 'Mailmfa-Step-Up: ' . $step_up;
        }

        $options = [
            CURLOPT_CUSTOMREQUEST     => $method,
            CURLOPT_RETURNTRANSFER    => true,
            CURLOPT_FOLLOWLOCATION    => false,
            CURLOPT_CONNECTTIMEOUT_MS => (int) ceil($this->timeout * 1000),
            CURLOPT_TIMEOUT_MS        => (int) ceil($this->timeout * 1000),
            // The service is reached directly: an http_proxy meant for the web is not for it.
            CURLOPT_PROXY             => '',
            CURLOPT_NOPROXY           => '*',
            CURLOPT_PROTOCOLS         => CURLPROTO_HTTP | CURLPROTO_HTTPS,
        ];

        if ($body !== null) {
            // A value that is not UTF-8 would make the body empty: such a request is not sent.
            $json = json_encode($body, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
            if ($json === false) {
                throw new MailmfaError('the request cannot be written as JSON: ' . json_last_error_msg());
            }

            $headers[] = 'Content-Type: application/json';
            $options[CURLOPT_POSTFIELDS] = $json;
        }

        $options[CURLOPT_HTTPHEADER] = $headers;

        $curl = curl_init($this->url . $path);
        curl_setopt_array($curl, $options);
        $text   = curl_exec($curl);
        $status = (int) curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
        $failed = $text === false ? curl_error($curl) : null;
        curl_close($curl);

        if ($failed !== null) {
            throw new MailmfaError("the service at {$this->url} cannot be reached: $failed", 0, null, true);
        }

        $json = json_decode((string) $text, true);

        if ($status != 200) {
            $message = is_array($json) && isset($json['error']) ? (string) $json['error'] : "HTTP status $status";
            $reason  = is_array($json) && isset($json['reason']) ? (string) $json['reason'] : null;

            throw new MailmfaError("the service answered $status: $message", $status, $reason);
        }

        if (!is_array($json)) {
            throw new MailmfaError('the service answered with something that is not JSON', $status);
        }

        return $json;
    }
}

/**
 * Why a call to the login service gave no answer to use.
 */
class MailmfaError extends Exception
{
    /** @var int The HTTP status, 0 when no answer arrived */
    public $status;

    /** @var string|null The refusal's reason word (`self_service_off`, …), if the service gave one */
    public $reason;

    /** @var bool The service could not be reached: no connection, or no answer in time */
    public $unreachable;

    /**
     * @param string      $message     What went wrong, for the log
     * @param int         $status      The HTTP status, 0 when no answer arrived
     * @param string|null $reason      The refusal's reason word
     * @param bool        $unreachable The service could not be reached
     */
    public function __construct($message, $status = 0, $reason = null, $unreachable = false)
    {
        parent::__construct($message, $status);

        $this->status      = $status;
        $this->reason      = $reason;
        $this->unreachable = $unreachable;
    }

    /**
     * Whether the service is down: it could not be reached, or answered with a server error
     * (5xx). Any other failure — a 4xx answer, which a user can cause (a malformed request, too
     * many requests), a missing address, a request that cannot be sent — is not the service being
     * down.
     *
     * @return bool
     */
    public function unavailable()
    {
        return $this->unreachable || $this->status >= 500;
    }
}
