<?php

/**
 * The settings section's decisions that need no Roundcube: what a save sends, and how a refusal
 * is put to the user.
 *
 *   phpunit --do-not-cache-result integrations/roundcube/mailmfa/tests/MailmfaSettingsTest.php
 */
class MailmfaSettingsTest extends PHPUnit\Framework\TestCase
{
    public static function setUpBeforeClass(): void
    {
        require_once __DIR__ . '/../lib/MailmfaClient.php';
        require_once __DIR__ . '/../lib/MailmfaPages.php';
        require_once __DIR__ . '/../lib/MailmfaSettings.php';
    }

    public function test_a_save_sends_only_what_changed_and_is_allowed()
    {
        $allowed = ['challenge' => ['never', 'always', 'new-ip'], 'provider' => ['totp', 'sms']];
        $shown   = ['challenge' => 'always', 'provider' => 'totp'];

        $this->assertSame(['challenge' => 'new-ip', 'sms_number' => '+15551234567'], MailmfaSettings::changes([
                'challenge'  => 'new-ip',
                'provider'   => 'totp',
                'sms_number' => ' +15551234567 ',
                'alt_email'  => '',
            ], $shown, $allowed));

        $this->assertSame([], MailmfaSettings::changes(['challenge' => 'sometimes', 'provider' => 'pigeon'], $shown, $allowed),
            'values not offered are not sent');
        $this->assertSame([], MailmfaSettings::changes(['challenge' => 'always', 'provider' => ''], $shown, $allowed),
            'the mode as shown, and "keep as it is"');
        $this->assertSame(['provider' => 'sms'], MailmfaSettings::changes(['provider' => 'sms'], [], $allowed),
            'a page that could not read the settings sends every choice made');
    }

    public function test_the_choices_and_their_names_are_the_services()
    {
        $settings = [
            'challenge' => 'inherit',
            'provider'  => 'smtp',
            'providers' => ['totp', 'sms'],
            'choices'   => [
                'challenge' => [['value' => 'inherit', 'label' => 'As my organisation decides'],
                    ['value' => 'never', 'label' => 'Never'], ['value' => 'new-ip', 'label' => '']],
                'provider'  => [['value' => 'totp', 'label' => 'Authenticator app'],
                    ['value' => 'sms', 'label' => 'Text message (SMS)'], ['value' => 'smtp', 'label' => 'E-mail to another address'],
                    ['value' => 'pigeon', 'label' => 'Carrier pigeon'], ['label' => 'no value'], 'not a choice'],
            ],
        ];

        $this->assertSame(['inherit' => 'As my organisation decides', 'never' => 'Never', 'new-ip' => 'new-ip'],
            MailmfaSettings::offered($settings, 'challenge'), 'in the service\'s order; a value without a name is its name');
        $this->assertSame(['totp' => 'Authenticator app', 'sms' => 'Text message (SMS)', 'smtp' => 'E-mail to another address'],
            MailmfaSettings::offered($settings, 'provider'), 'the providers the user may choose and the one in use');

        unset($settings['choices']['provider']);
        $this->assertNull(MailmfaSettings::offered($settings, 'provider'), 'no list, no guess');
        $this->assertNull(MailmfaSettings::offered([], 'challenge'));
    }

    public function test_refusals_are_put_in_words()
    {
        $this->assertSame(['refused_self_service_off', []],
            MailmfaSettings::refusal(new MailmfaError('the service answered 403: no', 403, 'self_service_off')));
        $this->assertSame(['notsaved', ['error' => 'sms_number must be in E.164 form']],
            MailmfaSettings::refusal(new MailmfaError('the service answered 400: sms_number must be in E.164 form', 400)));

        foreach ([new MailmfaError('the service answered 403: no', 403, 'not_this_client'),
                new MailmfaError('the service answered 503: busy', 503), new MailmfaError('no connection')] as $e) {
            $this->assertSame(['settingsunavailable', []], MailmfaSettings::refusal($e), $e->getMessage());
        }
    }
}
