<?php

/**
 * The settings section's decisions that need no Roundcube: what a save sends, which changes need
 * a fresh code (a step-up) and what a step-up's begin leads to, and how a refusal is put to the
 * user.
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
        $this->assertSame(['refused_step_up_required', []],
            MailmfaSettings::refusal(new MailmfaError('the service answered 403: step up', 403, 'step_up_required')));
        $this->assertSame(['notsaved', ['error' => 'sms_number must be in E.164 form']],
            MailmfaSettings::refusal(new MailmfaError('the service answered 400: sms_number must be in E.164 form', 400)));

        foreach ([new MailmfaError('the service answered 403: no', 403, 'not_this_client'),
                new MailmfaError('the service answered 503: busy', 503), new MailmfaError('no connection')] as $e) {
            $this->assertSame(['settingsunavailable', []], MailmfaSettings::refusal($e), $e->getMessage());
        }
    }

    public function test_only_a_change_of_the_mode_alone_needs_no_fresh_code()
    {
        $this->assertFalse(MailmfaSettings::needs_step_up(['challenge' => 'new-ip']));
        $this->assertFalse(MailmfaSettings::needs_step_up([]));

        foreach (['provider' => 'sms', 'sms_number' => '+15551234567', 'alt_email' => 'a@example.org'] as $name => $value) {
            $this->assertTrue(MailmfaSettings::needs_step_up([$name => $value]), $name);
            $this->assertTrue(MailmfaSettings::needs_step_up(['challenge' => 'always', $name => $value]), "the mode and $name");
        }
    }

    public function test_a_step_up_waits_for_its_code_with_the_change()
    {
        $after = MailmfaSettings::step_up_after_begin([
                'decision'       => 'challenge',
                'provider'       => 'sms',
                'sent_to'        => '+•••67',
                'reason'         => 'step_up',
                'transaction_id' => 'abc123',
                'expires_in'     => 600,
                'remember_days'  => 30,
            ], 'save', ['sms_number' => '+15557654321'], 1000);

        $this->assertSame(['pending' => [
                'action'      => 'save',
                'settings'    => ['sms_number' => '+15557654321'],
                'lifetime'    => 600,
                'until'       => 1600,
                'decision'    => 'challenge',
                'transaction' => 'abc123',
                'provider'    => 'sms',
                'sent_to'     => '+•••67',
            ]], $after, 'no browser is remembered at a step-up');

        $codes = MailmfaSettings::step_up_after_begin(['decision' => 'enroll', 'provider' => 'totp', 'transaction_id' => 't',
            'expires_in' => 600, 'otpauth_uri' => 'otpauth://totp/a?secret=JBSWY3DPEHPK3PXP', 'qr_png_base64' => 'iVBORw0KGgo='],
            'codes', ['sms_number' => 'not for this'], 1000);
        $this->assertSame([], $codes['pending']['settings'], 'only a save and a new app password carry a change');
        $this->assertSame('enroll', $codes['pending']['decision']);
        $this->assertStringNotContainsString('JBSWY3DPEHPK3PXP', serialize($codes), 'the secret stays with the service');

        $app = MailmfaSettings::step_up_after_begin(['decision' => 'challenge', 'provider' => 'totp', 'transaction_id' => 't',
            'expires_in' => 300], 'app_password', ['name' => 'Phone', 'protocols' => ['imap', 'smtp']], 1000);
        $this->assertSame(['app_password', ['name' => 'Phone', 'protocols' => ['imap', 'smtp']], 1300],
            [$app['pending']['action'], $app['pending']['settings'], $app['pending']['until']], 'the new app password waits for the code');
    }

    public function test_a_step_up_that_asks_for_no_code_ends_with_nothing_changed()
    {
        $notes = [
            'locked'          => [['decision' => 'locked', 'retry_after_s' => 300, 'reason' => 'locked'],
                ['stepuplocked', 'error', ['minutes' => 5]]],
            'too many sent'   => [['decision' => 'locked', 'retry_after_s' => 61, 'reason' => 'send_limit'],
                ['stepupsendlimit', 'error', ['minutes' => 2]]],
            'no way to send'  => [['decision' => 'refused', 'reason' => 'no_usable_provider'], ['stepuprefused', 'error', []]],
            'allowed without a code' => [['decision' => 'allow'], ['settingsunavailable', 'error', []]],
            'no answer'       => [[], ['settingsunavailable', 'error', []]],
            'no transaction'  => [['decision' => 'challenge', 'provider' => 'totp'], ['settingsunavailable', 'error', []]],
        ];

        foreach ($notes as $what => list($answer, $note)) {
            $this->assertSame(['note' => $note], MailmfaSettings::step_up_after_begin($answer, 'browsers', [], 1000), $what);
        }
    }
}
