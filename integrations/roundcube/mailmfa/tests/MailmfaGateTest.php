<?php

/**
 * The sign-in gate's decisions that need no Roundcube: the session state a begin's answer leads
 * to (never with an enrolment's secret), and which remembered-browser cookies are sent.
 *
 *   phpunit --do-not-cache-result integrations/roundcube/mailmfa/tests/MailmfaGateTest.php
 */
class MailmfaGateTest extends PHPUnit\Framework\TestCase
{
    const RETURN_TO = ['_task' => 'mail', '_mbox' => 'INBOX'];

    public static function setUpBeforeClass(): void
    {
        require_once __DIR__ . '/../lib/MailmfaClient.php';
        require_once __DIR__ . '/../lib/MailmfaPages.php';
        require_once __DIR__ . '/../lib/MailmfaGate.php';
    }

    public function test_allow_passes_and_keeps_where_to_go()
    {
        $this->assertSame(['return' => self::RETURN_TO, 'passed' => true],
            MailmfaGate::state_after_begin(['decision' => 'allow'], self::RETURN_TO, 1000));
    }

    public function test_a_challenge_keeps_its_transaction()
    {
        $state = MailmfaGate::state_after_begin([
                'decision'       => 'challenge',
                'transaction_id' => 'abc123',
                'provider'       => 'sms',
                'sent_to'        => '+•••67',
                'remember_days'  => 30,
            ], self::RETURN_TO, 1000);

        $this->assertSame([
                'return'      => self::RETURN_TO,
                'decision'    => 'challenge',
                'transaction' => 'abc123',
                'provider'    => 'sms',
                'sent_to'     => '+•••67',
                'remember'    => 30,
            ], $state);
        $this->assertArrayNotHasKey('passed', $state);
    }

    public function test_an_enrolment_keeps_its_transaction_and_not_its_secret()
    {
        $uri   = 'otpauth://totp/mailmfa:alice%40example.test?secret=JBSWY3DPEHPK3PXP&issuer=mailmfa';
        $png   = base64_encode("\x89PNG\r\n\x1a\n");
        $state = MailmfaGate::state_after_begin([
                'decision'       => 'enroll',
                'transaction_id' => 'abc123',
                'provider'       => 'totp',
                'otpauth_uri'    => $uri,
                'qr_png_base64'  => $png,
            ], self::RETURN_TO, 1000);

        $this->assertSame([
                'return'      => self::RETURN_TO,
                'decision'    => 'enroll',
                'transaction' => 'abc123',
                'provider'    => 'totp',
                'sent_to'     => null,
                'remember'    => 0,
            ], $state);
        $kept = serialize($state);
        foreach (['otpauth', 'JBSWY3DPEHPK3PXP', $png] as $secret) {
            $this->assertStringNotContainsString($secret, $kept, 'the session would keep it');
        }
    }

    public function test_an_answer_the_pages_cannot_show_stops_as_unavailable()
    {
        $unusable = [
            'no answer'          => [],
            'an unknown word'    => ['decision' => 'maybe'],
            'no transaction'     => ['decision' => 'challenge', 'provider' => 'totp'],
            'an unknown provider' => ['decision' => 'challenge', 'transaction_id' => 't', 'provider' => 'pigeon'],
            'an enrolment of an SMS' => ['decision' => 'enroll', 'transaction_id' => 't', 'provider' => 'sms'],
            'a transaction that is not a string' => ['decision' => 'challenge', 'transaction_id' => ['t'], 'provider' => 'totp'],
        ];

        foreach ($unusable as $what => $answer) {
            $state = MailmfaGate::state_after_begin($answer, self::RETURN_TO, 1000);
            $this->assertSame('unavailable', $state['stopped'] ?? null, $what);
            $this->assertArrayNotHasKey('passed', $state, $what);
        }
    }

    public function test_a_lock_says_when_it_ends()
    {
        $locked = MailmfaGate::state_after_begin(['decision' => 'locked', 'retry_after_s' => 300], self::RETURN_TO, 1000);
        $this->assertSame(['locked', 1300], [$locked['stopped'], $locked['retry_at']]);

        $sends = MailmfaGate::state_after_begin(['decision' => 'locked', 'reason' => 'send_limit', 'retry_after_s' => 60],
            self::RETURN_TO, 1000);
        $this->assertSame(['sendlimit', 1060], [$sends['stopped'], $sends['retry_at']]);

        $this->assertSame('refused', MailmfaGate::state_after_begin(['decision' => 'refused'], self::RETURN_TO, 1000)['stopped']);
    }

    public function test_only_a_cookie_that_can_be_a_device_token_is_sent()
    {
        $token = 'q1w2e3r4t5y6u7i8o9p0-_ASDFGHJKLZXCVBNMqwert';
        $this->assertSame($token, MailmfaGate::usable_device_token($token));

        $unusable = ['not UTF-8' => "\xff\xfe", 'empty' => '', 'spaces' => 'a b', 'quotes' => 'a"b',
            'too long' => str_repeat('a', 129), 'an array (name[])' => ['a'], 'no cookie' => null];
        foreach ($unusable as $what => $value) {
            $this->assertNull(MailmfaGate::usable_device_token($value), $what);
        }
    }
}
