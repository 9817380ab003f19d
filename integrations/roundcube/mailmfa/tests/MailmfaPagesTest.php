<?php

/**
 * What the gate and the settings section share that needs no Roundcube: which requests count as
 * the plugin's own forms, what a code page keeps of a begin's answer, the enrolment the service
 * draws for a page, the enrolment key for typing by hand, minutes for the user, and what a
 * passkey page keeps and takes.
 *
 *   phpunit --do-not-cache-result integrations/roundcube/mailmfa/tests/MailmfaPagesTest.php
 */
class MailmfaPagesTest extends PHPUnit\Framework\TestCase
{
    const TOKEN = 'rGVCXfTQa2wdgqfVAY5BDsc9Q9ILNVFm';

    public static function setUpBeforeClass(): void
    {
        require_once __DIR__ . '/../lib/MailmfaPages.php';
    }

    public function test_only_a_post_with_the_sessions_token_is_a_form_of_the_page()
    {
        $this->assertTrue(MailmfaPages::is_form_post('POST', self::TOKEN, self::TOKEN));

        $refused = [
            'a GET with the token'   => ['GET', self::TOKEN],
            'a HEAD'                 => ['HEAD', self::TOKEN],
            'an empty POST'          => ['POST', ''],
            'a POST without a token' => ['POST', null],
            'another token'          => ['POST', 'rGVCXfTQa2wdgqfVAY5BDsc9Q9ILNVFn'],
            'a token as an array'    => ['POST', [self::TOKEN]],
        ];
        foreach ($refused as $what => list($method, $token)) {
            $this->assertFalse(MailmfaPages::is_form_post($method, $token, self::TOKEN), $what);
        }

        $this->assertFalse(MailmfaPages::is_form_post('POST', '', ''), 'a session without a token');
    }

    public function test_a_code_page_keeps_the_transaction_and_how_the_code_comes()
    {
        $this->assertSame(
            ['decision' => 'challenge', 'transaction' => 't1', 'provider' => 'smtp', 'sent_to' => 'a•••@example.org', 'remember' => 0],
            MailmfaPages::waiting_for_code(['decision' => 'challenge', 'transaction_id' => 't1', 'provider' => 'smtp',
                'sent_to' => 'a•••@example.org', 'reason' => 'step_up', 'expires_in' => 600]));

        $enroll = MailmfaPages::waiting_for_code(['decision' => 'enroll', 'transaction_id' => 't2', 'provider' => 'totp',
            'otpauth_uri' => 'otpauth://totp/a?secret=JBSWY3DPEHPK3PXP', 'qr_png_base64' => 'iVBORw0KGgo=', 'remember_days' => 30]);
        $this->assertSame(['decision' => 'enroll', 'transaction' => 't2', 'provider' => 'totp', 'sent_to' => null, 'remember' => 30],
            $enroll, 'never the secret or its QR code');

        $unusable = [
            'allow'                 => ['decision' => 'allow'],
            'locked'                => ['decision' => 'locked', 'retry_after_s' => 60],
            'no transaction'        => ['decision' => 'challenge', 'provider' => 'totp'],
            'an empty transaction'  => ['decision' => 'challenge', 'transaction_id' => '', 'provider' => 'totp'],
            'an unknown provider'   => ['decision' => 'challenge', 'transaction_id' => 't', 'provider' => 'pigeon'],
            'an enrolment by SMS'   => ['decision' => 'enroll', 'transaction_id' => 't', 'provider' => 'sms'],
        ];
        foreach ($unusable as $what => $answer) {
            $this->assertNull(MailmfaPages::waiting_for_code($answer), $what);
        }
    }

    public function test_an_enrolment_is_shown_only_with_its_key_and_a_png()
    {
        $uri = 'otpauth://totp/mailmfa:alice%40example.test?secret=JBSWY3DPEHPK3PXP&issuer=mailmfa';
        $this->assertSame(['otpauth_uri' => $uri, 'qr' => 'iVBORw0KGgo='],
            MailmfaPages::usable_enrolment(['otpauth_uri' => $uri, 'qr_png_base64' => 'iVBORw0KGgo=']));

        $unusable = [
            'nothing'              => [],
            'no QR code'           => ['otpauth_uri' => $uri],
            'no key'               => ['qr_png_base64' => 'iVBORw0KGgo='],
            'not an otpauth URI'   => ['otpauth_uri' => 'javascript:alert(1)', 'qr_png_base64' => 'iVBORw0KGgo='],
            'a QR code that is not base64' => ['otpauth_uri' => $uri, 'qr_png_base64' => 'iVBOR" onerror="alert(1)'],
            'a QR code as an array' => ['otpauth_uri' => $uri, 'qr_png_base64' => ['iVBORw0KGgo=']],
        ];
        foreach ($unusable as $what => $answer) {
            $this->assertNull(MailmfaPages::usable_enrolment($answer), $what);
        }
    }

    public function test_the_key_for_typing_by_hand_is_in_groups_of_four()
    {
        $uri = 'otpauth://totp/mailmfa:alice%40example.test?secret=jbswy3dpehpk3pxp&issuer=mailmfa';

        $this->assertSame(['JBSW', 'Y3DP', 'EHPK', '3PXP'], MailmfaPages::secret_groups($uri));
        $this->assertSame(['ABCD', 'EF'], MailmfaPages::secret_groups('otpauth://totp/a?secret=ABCDEF%3D%3D'));
        $this->assertSame([], MailmfaPages::secret_groups('otpauth://totp/a'));
        $this->assertSame([], MailmfaPages::secret_groups('<script>'));
    }

    public function test_minutes_round_up_and_are_never_zero()
    {
        $this->assertSame([1, 1, 1, 2, 10], array_map([MailmfaPages::class, 'minutes'], [-5, 0, 60, 61, 600]));
    }

    public function test_a_passkey_page_keeps_its_options_and_needs_them()
    {
        $options = ['challenge' => 'q1w2e3', 'rpId' => 'localhost', 'allowCredentials' => []];
        $kept    = MailmfaPages::waiting_for_code(['decision' => 'challenge', 'transaction_id' => 't1',
            'provider' => 'passkey', 'webauthn' => $options]);
        $this->assertSame(['t1', 'passkey', $options], [$kept['transaction'], $kept['provider'], $kept['webauthn']]);

        $enrol = MailmfaPages::waiting_for_code(['decision' => 'enroll', 'transaction_id' => 't2',
            'provider' => 'passkey', 'webauthn' => ['challenge' => 'x']]);
        $this->assertSame('enroll', $enrol['decision']);

        foreach ([null, [], ['challenge' => ''], 'challenge'] as $unusable) {
            $this->assertNull(MailmfaPages::waiting_for_code(['decision' => 'challenge', 'transaction_id' => 't',
                'provider' => 'passkey', 'webauthn' => $unusable]), json_encode($unusable));
        }

        $sms = MailmfaPages::waiting_for_code(['decision' => 'challenge', 'transaction_id' => 't', 'provider' => 'sms']);
        $this->assertArrayNotHasKey('webauthn', $sms, 'a code page keeps no options');
    }

    public function test_a_passkey_answer_is_taken_as_the_browser_wrote_it()
    {
        $json   = '{"id":"abc","rawId":"abc","type":"public-key","response":{"clientDataJSON":"e30"},"clientExtensionResults":{}}';
        $answer = MailmfaPages::usable_webauthn_answer($json);
        $this->assertSame($json, json_encode($answer, JSON_UNESCAPED_SLASHES), 'an empty object stays an object');

        $refused = [
            'nothing'           => null,
            'empty'             => '',
            'an array'          => ['id' => 'abc'],
            'not JSON'          => '{id:',
            'no id'             => '{"response":{}}',
            'no response'       => '{"id":"abc"}',
            'a list'            => '[1,2]',
            'too long'          => '{"id":"' . str_repeat('a', MailmfaPages::MAX_WEBAUTHN) . '","response":{}}',
            'too deep'          => '{"id":"a","response":' . str_repeat('[', 20) . str_repeat(']', 20) . '}',
        ];
        foreach ($refused as $what => $raw) {
            $this->assertNull(MailmfaPages::usable_webauthn_answer($raw), $what);
        }
    }
}
