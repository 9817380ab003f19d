<?php

/**
 * MailmfaClient against a real `mailmfa serve`.
 *
 * The Rust test `tests/roundcube.rs` starts the service on a store it made and runs this file
 * with Debian's phpunit, passing in the environment:
 *
 *   MAILMFA_TEST_URL        the service, e.g. http://127.0.0.1:41234
 *   MAILMFA_TEST_KEY        an API key of it
 *   MAILMFA_TEST_TOTP_USER  a mailbox challenged at every login, with no TOTP app enrolled yet
 *   MAILMFA_TEST_SMS_USER   a mailbox challenged at every login by SMS (to a test gateway)
 *   MAILMFA_TEST_CLOSED_USER a mailbox whose post office does not let users change settings
 *   MAILMFA_TEST_STEP_UP_USER a mailbox with an authenticator app not enrolled yet, for step-ups
 *
 * Run by hand: start `mailmfa serve`, set those variables, then
 *   phpunit --do-not-cache-result integrations/roundcube/mailmfa/tests
 * Without them these tests are skipped and the folder's other tests still run; the Rust test
 * accepts no skipped test.
 */
class MailmfaClientTest extends PHPUnit\Framework\TestCase
{
    /** @var array|null The step-up token of MAILMFA_TEST_STEP_UP_USER and its recovery codes, once had */
    private static $stepUp;

    public static function setUpBeforeClass(): void
    {
        require_once __DIR__ . '/../lib/MailmfaClient.php';
    }

    public function test_health_answers_without_a_key()
    {
        $health = (new MailmfaClient(self::env('MAILMFA_TEST_URL'), ''))->health();

        $this->assertSame('ok', $health['status']);
        $this->assertArrayHasKey('version', $health);
    }

    public function test_enrolment_then_wrong_and_right_code()
    {
        $client = self::client();
        $begin  = $client->begin(self::env('MAILMFA_TEST_TOTP_USER'), '198.51.100.7');

        $this->assertSame('enroll', $begin['decision']);
        $this->assertSame('totp', $begin['provider']);
        $this->assertMatchesRegularExpression('/^[0-9a-f]{32}$/', $begin['transaction_id']);
        $this->assertGreaterThan(0, $begin['expires_in']);
        $this->assertStringStartsWith("\x89PNG", base64_decode($begin['qr_png_base64'], true));

        parse_str(parse_url($begin['otpauth_uri'], PHP_URL_QUERY), $query);
        $step  = intdiv(time(), 30);
        $code  = self::totp($query['secret'], $step);
        $near  = [self::totp($query['secret'], $step - 1), $code, self::totp($query['secret'], $step + 1)];
        $wrong = '000000';
        while (in_array($wrong, $near, true)) {
            $wrong = sprintf('%06d', (int) $wrong + 1);
        }

        $this->assertSame(['result' => 'rejected', 'reason' => 'invalid_code'],
            $client->verify($begin['transaction_id'], $wrong));
        $accepted = $client->verify($begin['transaction_id'], $code);
        $this->assertSame('accepted', $accepted['result']);
        $this->assertCount(10, $accepted['recovery_codes'], 'the enrolment brings recovery codes');
        $this->assertMatchesRegularExpression('/^[0-9a-z]{5}-[0-9a-z]{5}$/', $accepted['recovery_codes'][0]);

        // The transaction ended with the accepted code.
        $error = self::failure(function () use ($client, $begin, $code) {
            $client->verify($begin['transaction_id'], $code);
        });
        $this->assertSame(404, $error->status);
        $this->assertFalse($error->unavailable());

        // A recovery code stands in for the app's code, once.
        $next = $client->begin(self::env('MAILMFA_TEST_TOTP_USER'), '198.51.100.7');
        $this->assertSame('challenge', $next['decision']);
        $this->assertSame(['result' => 'accepted'], $client->verify($next['transaction_id'], $accepted['recovery_codes'][0]));
    }

    public function test_an_sms_code_is_sent_again_on_request()
    {
        $client = self::client();
        $begin  = $client->begin(self::env('MAILMFA_TEST_SMS_USER'), '198.51.100.8');

        $this->assertSame('challenge', $begin['decision']);
        $this->assertSame('sms', $begin['provider']);
        $this->assertStringEndsWith('67', $begin['sent_to']);
        $this->assertStringNotContainsString('5551234567', $begin['sent_to']);

        $resent = $client->resend($begin['transaction_id']);
        $this->assertSame(['sent_to' => $begin['sent_to']], $resent);
    }

    public function test_nothing_to_resend_for_an_authenticator_app()
    {
        $client = self::client();
        $begin  = $client->begin(self::env('MAILMFA_TEST_TOTP_USER'), '198.51.100.9');

        $this->assertContains($begin['decision'], ['enroll', 'challenge']);
        $error = self::failure(function () use ($client, $begin) {
            $client->resend($begin['transaction_id']);
        });
        $this->assertSame(400, $error->status);
    }

    public function test_self_service_changes_the_mode_and_names_refusals()
    {
        $client  = self::client();
        $address = self::env('MAILMFA_TEST_SMS_USER');

        $shown = $client->show_user_settings($address);
        $this->assertSame('inherit', $shown['challenge']);
        $this->assertSame('always', $shown['effective_challenge']);
        $this->assertTrue($shown['may_change_challenge']);
        $this->assertSame('sms', $shown['provider']);
        $this->assertSame(['totp', 'sms', 'smtp'], $shown['providers']);
        $this->assertSame('+•••••••••67', $shown['sms_number'], 'the number is shown masked only');
        $this->assertNull($shown['alt_email']);
        $this->assertSame(['value' => 'new-ip', 'label' => 'When I sign in from a new IP address'],
            $shown['choices']['challenge'][3], 'each choice with the name a user reads');
        $this->assertSame(['inherit', 'never', 'always', 'new-ip', 'new-country'],
            array_column($shown['choices']['challenge'], 'value'));
        $this->assertSame(['totp', 'sms', 'smtp', 'passkey'], array_column($shown['choices']['provider'], 'value'));

        $changed = $client->user_settings($address, ['challenge' => 'new-ip']);
        $this->assertSame([$address, 'new-ip', 'new-ip', 'sms'],
            [$changed['address'], $changed['challenge'], $changed['effective_challenge'], $changed['provider']]);
        $this->assertSame('always', $client->user_settings($address, ['challenge' => 'always'])['challenge']);
        $this->assertFalse($client->show_user_settings(self::env('MAILMFA_TEST_CLOSED_USER'))['may_change_challenge']);

        $closed = self::failure(function () use ($client) {
            $client->user_settings(self::env('MAILMFA_TEST_CLOSED_USER'), ['challenge' => 'never']);
        });
        $this->assertSame(403, $closed->status);
        $this->assertSame('self_service_off', $closed->reason);

        $invalid = self::failure(function () use ($client, $address) {
            $client->user_settings($address, ['sms_number' => '12']);
        });
        $this->assertSame(400, $invalid->status);
        $this->assertStringContainsString('E.164', $invalid->getMessage());
    }

    public function test_a_step_up_enrols_a_new_app_and_brings_a_token()
    {
        $client  = self::client();
        $address = self::env('MAILMFA_TEST_STEP_UP_USER');
        self::$stepUp = null;

        $begin = $client->begin($address, '198.51.100.20', null, 'step_up');
        $this->assertSame(['enroll', 'totp', 'step_up'], [$begin['decision'], $begin['provider'], $begin['reason']]);

        // The page asks for the QR code when it draws it: the webmail keeps only the transaction.
        $enrolment = $client->enrolment($begin['transaction_id']);
        $this->assertSame(['otpauth_uri', 'qr_png_base64'], array_keys($enrolment));
        $this->assertSame($begin['otpauth_uri'], $enrolment['otpauth_uri'], 'the secret of this transaction');
        $this->assertStringStartsWith("\x89PNG", base64_decode($enrolment['qr_png_base64'], true));
        $unknown = self::failure(function () use ($client) {
            $client->enrolment(str_repeat('0', 32));
        });
        $this->assertSame(404, $unknown->status);

        parse_str(parse_url($enrolment['otpauth_uri'], PHP_URL_QUERY), $query);
        $accepted = $client->verify($begin['transaction_id'], self::totp($query['secret'], intdiv(time(), 30)));
        $this->assertSame('accepted', $accepted['result']);
        $this->assertMatchesRegularExpression('/^[A-Za-z0-9_-]{20,128}$/', $accepted['step_up_token']);
        $this->assertCount(10, $accepted['recovery_codes'], 'the enrolment brings recovery codes');
        self::$stepUp = ['token' => $accepted['step_up_token'], 'codes' => $accepted['recovery_codes']];

        // Once enrolled, a step-up asks for a code whatever the mode; a recovery code is one.
        $client->user_settings($address, ['challenge' => 'never']);
        $again = $client->begin($address, '198.51.100.20', null, 'step_up');
        $this->assertSame(['challenge', 'step_up'], [$again['decision'], $again['reason']]);
        $this->assertSame(404, self::failure(function () use ($client, $again) {
            $client->enrolment($again['transaction_id']);
        })->status, 'no enrolment waits for its first code');
        $code = array_pop(self::$stepUp['codes']);
        $this->assertMatchesRegularExpression('/^[A-Za-z0-9_-]{20,128}$/', $client->verify($again['transaction_id'], $code)['step_up_token']);
    }

    public function test_where_codes_go_changes_only_with_a_step_up_token()
    {
        $client  = self::client();
        $address = self::env('MAILMFA_TEST_STEP_UP_USER');

        $refused = self::failure(function () use ($client, $address) {
            $client->user_settings($address, ['sms_number' => '+15557654321']);
        });
        $this->assertSame([403, 'step_up_required'], [$refused->status, $refused->reason]);
        $this->assertNull($client->show_user_settings($address)['sms_number'], 'nothing changed');

        $changed = $client->user_settings($address, ['sms_number' => '+15557654321'], self::step_up_token($client, $address));
        $this->assertSame('+•••••••••21', $changed['sms_number']);
        $this->assertSame('always', $client->user_settings($address, ['challenge' => 'always'])['challenge'],
            'the mode alone needs no token');

        $forged = self::failure(function () use ($client, $address) {
            $client->user_settings($address, ['sms_number' => '+15550000000'], str_repeat('A', 43));
        });
        $this->assertSame([403, 'step_up_required'], [$forged->status, $forged->reason]);
    }

    public function test_new_recovery_codes_replace_the_old()
    {
        $client  = self::client();
        $address = self::env('MAILMFA_TEST_STEP_UP_USER');

        $refused = self::failure(function () use ($client, $address) {
            $client->new_recovery_codes($address);
        });
        $this->assertSame([403, 'step_up_required'], [$refused->status, $refused->reason]);

        $token = self::step_up_token($client, $address);
        $first = $client->new_recovery_codes($address, $token);
        $this->assertSame($address, $first['address']);
        $this->assertCount(10, $first['recovery_codes']);
        $this->assertSame(10, $client->show_user_settings($address)['recovery_codes_left']);
        $second = $client->new_recovery_codes($address, $token)['recovery_codes'];
        $this->assertCount(10, $second, 'a token serves more than one change');
        $this->assertEmpty(array_intersect($first['recovery_codes'], $second), 'a new set');
        self::$stepUp['codes'] = $second;

        $unknown = self::failure(function () use ($client, $token) {
            $client->new_recovery_codes('nobody@example.test', $token);
        });
        $this->assertSame(400, $unknown->status);
    }

    public function test_forgetting_devices_answers_the_settings()
    {
        $client  = self::client();
        $address = self::env('MAILMFA_TEST_STEP_UP_USER');

        $refused = self::failure(function () use ($client, $address) {
            $client->forget_devices($address);
        });
        $this->assertSame([403, 'step_up_required'], [$refused->status, $refused->reason]);

        $after = $client->forget_devices($address, self::step_up_token($client, $address));
        $this->assertSame($address, $after['address']);
        $this->assertSame(0, $after['remembered_devices']);

        $other = self::failure(function () use ($client, $address) {
            $client->forget_devices(self::env('MAILMFA_TEST_SMS_USER'), self::step_up_token($client, $address));
        });
        $this->assertSame([403, 'step_up_required'], [$other->status, $other->reason], 'a token is for its mailbox only');
    }

    public function test_app_passwords_are_made_after_a_step_up_shown_once_and_removed()
    {
        $client  = self::client();
        $address = self::env('MAILMFA_TEST_STEP_UP_USER');

        $none = $client->app_passwords($address);
        $this->assertSame([$address, [], 20, true],
            [$none['address'], $none['app_passwords'], $none['max'], $none['password_in_mail_programs']]);

        $refused = self::failure(function () use ($client, $address) {
            $client->new_app_password($address, 'Phone');
        });
        $this->assertSame([403, 'step_up_required'], [$refused->status, $refused->reason]);
        $this->assertSame([], $client->app_passwords($address)['app_passwords'], 'nothing made without a fresh code');

        // A name with a slash and spaces: the path of its removal must carry it as one segment.
        $token = self::step_up_token($client, $address);
        $phone = $client->new_app_password($address, 'Phone / work', ['imap', 'smtp'], $token);
        $this->assertSame([$address, 'Phone / work', ['imap', 'smtp'], null],
            [$phone['address'], $phone['name'], $phone['protocols'], $phone['expires_at']]);
        $this->assertMatchesRegularExpression('/^[0-9a-z]{5}(-[0-9a-z]{5}){3}$/', $phone['password']);
        $laptop = $client->new_app_password($address, 'Laptop', null, $token);
        $this->assertSame(['imap', 'pop3', 'smtp', 'sieve'], $laptop['protocols'], 'all of them unless chosen');
        $this->assertSame(409, self::failure(function () use ($client, $address, $token) {
            $client->new_app_password($address, 'Laptop', ['imap'], $token);
        })->status, 'a name the mailbox has already');

        // What the mail server hears from a mail program elsewhere.
        $this->assertSame(['result' => 'accept', 'app_password' => 'Phone / work'],
            self::mail_auth($address, $phone['password'], 'imap'));
        $this->assertSame(['result' => 'reject', 'reason' => 'protocol_not_allowed'],
            self::mail_auth($address, $phone['password'], 'pop3'));

        $listed = $client->app_passwords($address);
        $this->assertSame(['Laptop', 'Phone / work'], array_column($listed['app_passwords'], 'name'));
        $this->assertSame(['name', 'protocols', 'created_at', 'expires_at', 'last_used'], array_keys($listed['app_passwords'][1]));
        $this->assertStringNotContainsString($phone['password'], json_encode($listed), 'never the password again');

        $after = $client->remove_app_password($address, 'Phone / work');
        $this->assertSame(['Laptop'], array_column($after['app_passwords'], 'name'));
        $this->assertSame(['result' => 'password'], self::mail_auth($address, $phone['password'], 'imap'),
            'a removed app password is no app password');
        $this->assertSame(404, self::failure(function () use ($client, $address) {
            $client->remove_app_password($address, 'Phone / work');
        })->status);
        $this->assertSame([], $client->remove_app_password($address, 'Laptop')['app_passwords']);
    }

    public function test_app_passwords_do_not_need_the_users_may_configure_switch()
    {
        $client  = self::client();
        $address = self::env('MAILMFA_TEST_CLOSED_USER');

        $this->assertFalse($client->show_user_settings($address)['may_change_challenge']);
        $made = $client->new_app_password($address, 'Thunderbird', ['imap'], self::enrolling_step_up_token($client, $address));
        $this->assertSame(['result' => 'accept', 'app_password' => 'Thunderbird'], self::mail_auth($address, $made['password'], 'imap'));
        $this->assertSame([], $client->remove_app_password($address, 'Thunderbird')['app_passwords']);
    }

    public function test_a_step_up_token_that_is_not_the_services_is_never_sent()
    {
        // A listening port: a request sent would arrive here.
        $server = stream_socket_server('tcp://127.0.0.1:0');
        stream_set_blocking($server, false);
        $address = stream_socket_get_name($server, false);

        $error = self::failure(function () use ($address) {
            (new MailmfaClient("http://$address", 'key'))->forget_devices('alice@example.test', "t\r\nX-Injected: 1");
        });
        $arrived = @stream_socket_accept($server, 0);
        fclose($server);

        $this->assertFalse($arrived, 'nothing was sent');
        $this->assertStringContainsString('step-up token', $error->getMessage());
        $this->assertFalse($error->unavailable());
    }

    public function test_a_wrong_key_is_refused_and_never_repeated()
    {
        $key    = 'mmfa_000000000000_' . str_repeat('x', 32);
        $client = new MailmfaClient(self::env('MAILMFA_TEST_URL'), $key);
        $error  = self::failure(function () use ($client) {
            $client->begin('nobody@example.test', '198.51.100.10');
        });

        $this->assertSame(401, $error->status);
        $this->assertFalse($error->unavailable());
        $this->assertStringNotContainsString($key, $error->getMessage());
        $this->assertStringNotContainsString(self::env('MAILMFA_TEST_KEY'), $error->getMessage());
    }

    public function test_a_closed_port_and_a_silent_server_are_unavailable()
    {
        // A port nobody listens on: take a free one and close it again.
        $socket = stream_socket_server('tcp://127.0.0.1:0');
        $closed = stream_socket_get_name($socket, false);
        fclose($socket);

        $error = self::failure(function () use ($closed) {
            (new MailmfaClient("http://$closed", self::env('MAILMFA_TEST_KEY'), 2))->health();
        });
        $this->assertSame(0, $error->status);
        $this->assertTrue($error->unavailable());

        // A server that accepts the connection and never answers: the timeout ends the call.
        $silent = stream_socket_server('tcp://127.0.0.1:0');
        $start  = microtime(true);
        $error  = self::failure(function () use ($silent) {
            (new MailmfaClient('http://' . stream_socket_get_name($silent, false), self::env('MAILMFA_TEST_KEY'), 0.5))
                ->begin('alice@example.test', '198.51.100.11');
        });
        fclose($silent);

        $this->assertSame(0, $error->status);
        $this->assertTrue($error->unavailable());
        $this->assertLessThan(5, microtime(true) - $start);
    }

    public function test_no_address_configured_is_an_error_not_a_call()
    {
        $error = self::failure(function () {
            (new MailmfaClient('', 'key'))->health();
        });

        $this->assertSame(0, $error->status);
        $this->assertStringContainsString('mailmfa_url', $error->getMessage());
        $this->assertFalse($error->unavailable(), 'a missing address is not the service being down');
    }

    public function test_a_request_that_cannot_be_written_as_json_is_never_sent()
    {
        // A listening port: a request sent would arrive here.
        $server = stream_socket_server('tcp://127.0.0.1:0');
        stream_set_blocking($server, false);
        $address = stream_socket_get_name($server, false);

        $error = self::failure(function () use ($address) {
            (new MailmfaClient("http://$address", 'key'))->begin('alice@example.test', '198.51.100.12', "\xff\xfe");
        });
        $arrived = @stream_socket_accept($server, 0);
        fclose($server);

        $this->assertFalse($arrived, 'nothing was sent');
        $this->assertStringContainsString('JSON', $error->getMessage());
        $this->assertFalse($error->unavailable(), 'a request a user spoiled is not the service being down');
    }

    public function test_only_a_service_that_is_down_is_unavailable()
    {
        $this->assertTrue((new MailmfaError('no connection', 0, null, true))->unavailable());
        foreach ([500, 502, 503] as $status) {
            $this->assertTrue((new MailmfaError('down', $status))->unavailable(), "HTTP $status");
        }
        foreach ([400, 401, 403, 404, 429] as $status) {
            $this->assertFalse((new MailmfaError('refused', $status))->unavailable(), "HTTP $status");
        }
    }

    /**
     * A variable the Rust harness sets; without it the test is skipped and says what is missing.
     */
    private static function env($name)
    {
        $value = getenv($name);

        if ($value === false || $value === '') {
            self::markTestSkipped("$name is not set: run this through `cargo test --test it roundcube::`, or set it by hand");
        }

        return $value;
    }

    /**
     * A step-up token of the step-up user: the one this run already has (a token is good for
     * five minutes), else a step-up's — enrolling the user's app at the first, answered by one of
     * its recovery codes later.
     */
    private static function step_up_token(MailmfaClient $client, $address)
    {
        if (self::$stepUp !== null) {
            return self::$stepUp['token'];
        }

        $begin = $client->begin($address, '198.51.100.21', null, 'step_up');
        if ($begin['decision'] == 'enroll') {
            parse_str(parse_url($client->enrolment($begin['transaction_id'])['otpauth_uri'], PHP_URL_QUERY), $query);
            $code = self::totp($query['secret'], intdiv(time(), 30));
        }
        else {
            self::fail('the step-up user is enrolled, but this run has none of its recovery codes');
        }

        $accepted     = $client->verify($begin['transaction_id'], $code);
        self::$stepUp = ['token' => $accepted['step_up_token'], 'codes' => $accepted['recovery_codes'] ?? []];

        return self::$stepUp['token'];
    }

    /**
     * A step-up token of a mailbox that has no authenticator app yet: the step-up enrols one.
     */
    private static function enrolling_step_up_token(MailmfaClient $client, $address)
    {
        $begin = $client->begin($address, '198.51.100.22', null, 'step_up');
        self::assertSame('enroll', $begin['decision'], 'a mailbox without an authenticator app');
        parse_str(parse_url($client->enrolment($begin['transaction_id'])['otpauth_uri'], PHP_URL_QUERY), $query);

        return $client->verify($begin['transaction_id'], self::totp($query['secret'], intdiv(time(), 30)))['step_up_token'];
    }

    /**
     * What the service answers a mail server (`POST /v1/mail/auth`) for a mail program at
     * 198.51.100.7 that signs in with `$password`.
     */
    private static function mail_auth($address, $password, $protocol)
    {
        $curl = curl_init(self::env('MAILMFA_TEST_URL') . '/v1/mail/auth');
        curl_setopt_array($curl, [
            CURLOPT_POST           => true,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_PROXY          => '',
            CURLOPT_NOPROXY        => '*',
            CURLOPT_HTTPHEADER     => ['Authorization: Bearer ' . self::env('MAILMFA_TEST_KEY'), 'Content-Type: application/json'],
            CURLOPT_POSTFIELDS     => json_encode(['address' => $address, 'password' => $password, 'protocol' => $protocol,
                'ip' => '198.51.100.7', 'real_ip' => '198.51.100.7']),
        ]);
        $answer = curl_exec($curl);
        $status = curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
        curl_close($curl);
        self::assertSame(200, $status, (string) $answer);

        return json_decode($answer, true);
    }

    private static function client()
    {
        return new MailmfaClient(self::env('MAILMFA_TEST_URL'), self::env('MAILMFA_TEST_KEY'));
    }

    /**
     * The MailmfaError the call throws; fails the test when it throws none.
     */
    private static function failure(callable $call)
    {
        try {
            $call();
        }
        catch (MailmfaError $e) {
            return $e;
        }

        self::fail('the call succeeded but should have failed');
    }

    /**
     * RFC 6238 TOTP (SHA-1, 6 digits) of a base32 secret at a 30-second step.
     */
    private static function totp($secret, $step)
    {
        $alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
        $bits     = '';

        foreach (str_split(strtoupper(rtrim($secret, '='))) as $char) {
            $bits .= str_pad(decbin(strpos($alphabet, $char)), 5, '0', STR_PAD_LEFT);
        }

        $key = '';
        foreach (str_split(substr($bits, 0, intdiv(strlen($bits), 8) * 8), 8) as $byte) {
            $key .= chr(bindec($byte));
        }

        $hash   = hash_hmac('sha1', pack('J', $step), $key, true);
        $offset = ord($hash[19]) & 0x0f;
        $value  = unpack('N', substr($hash, $offset, 4))[1] & 0x7fffffff;

        return sprintf('%06d', $value % 1000000);
    }
}
