<?php

/**
 * What the gate and the settings section share that needs no Roundcube: which requests count as
 * the plugin's own forms.
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
}
