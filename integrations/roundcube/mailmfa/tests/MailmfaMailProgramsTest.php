<?php

/**
 * Settings → Mail programs: the decisions that need no Roundcube — the servers a mail program is
 * told, read from Roundcube's configuration; the name and protocols of a new app password; what
 * is refused before a code is asked for, and how a refusal is put to the user.
 *
 *   phpunit --do-not-cache-result integrations/roundcube/mailmfa/tests/MailmfaMailProgramsTest.php
 */
class MailmfaMailProgramsTest extends PHPUnit\Framework\TestCase
{
    public static function setUpBeforeClass(): void
    {
        require_once __DIR__ . '/../lib/MailmfaClient.php';
        require_once __DIR__ . '/../lib/MailmfaPages.php';
        require_once __DIR__ . '/../lib/MailmfaSettings.php';
        require_once __DIR__ . '/../lib/MailmfaMailPrograms.php';
    }

    public function test_servers_are_read_as_roundcube_writes_them()
    {
        $servers = [
            ['ssl://imap.example.com:993', 'imap', 'imap.example.com', 993, 'ssl'],
            ['ssl://imap.example.com', 'imap', 'imap.example.com', 993, 'ssl'],
            ['imaps://Mail.Example.com', 'imap', 'mail.example.com', 993, 'ssl'],
            ['tls://mail.example.com', 'imap', 'mail.example.com', 143, 'tls'],
            ['mail.example.com:143', 'imap', 'mail.example.com', 143, 'none'],
            ['mail.example.com', 'imap', 'mail.example.com', 143, 'none'],
            [' tls://mail.example.com:10143 ', 'imap', 'mail.example.com', 10143, 'tls'],
            ['tls://smtp.example.com:587', 'smtp', 'smtp.example.com', 587, 'tls'],
            ['tls://smtp.example.com', 'smtp', 'smtp.example.com', 587, 'tls'],
            ['ssl://smtp.example.com', 'smtp', 'smtp.example.com', 465, 'ssl'],
            ['smtp.example.com', 'smtp', 'smtp.example.com', 587, 'none'],
            ['[2001:db8::25]:25', 'smtp', '[2001:db8::25]', 25, 'none'],
        ];

        foreach ($servers as list($spec, $kind, $host, $port, $security)) {
            $this->assertSame(['host' => $host, 'port' => $port, 'security' => $security],
                MailmfaMailPrograms::server($spec, $kind), "$kind $spec");
        }

        foreach (['', 'http://mail.example.com', 'unix:///run/dovecot/imap', 'mail.example.com:0',
                'mail.example.com:70000', 'mail example.com', 'ssl://', ':993', null, ['mail.example.com']] as $spec) {
            $this->assertNull(MailmfaMailPrograms::server($spec, 'imap'), var_export($spec, true));
        }
        $this->assertNull(MailmfaMailPrograms::server('mail.example.com', 'pop3'), 'IMAP and SMTP only');
    }

    public function test_a_server_on_this_machine_is_no_server_for_mail_programs()
    {
        foreach (['localhost', 'LOCALHOST', 'localhost.localdomain', 'mail.localhost', '127.0.0.1', '127.1.2.3', '::1', '[::1]'] as $host) {
            $this->assertTrue(MailmfaMailPrograms::is_loopback($host), $host);
        }

        foreach (['mail.example.com', '10.0.0.1', '127.0.0.1.example.com', 'localhost.example.com', '[2001:db8::1]'] as $host) {
            $this->assertFalse(MailmfaMailPrograms::is_loopback($host), $host);
        }
    }

    public function test_a_name_is_one_line_of_at_most_64_characters()
    {
        $this->assertSame('Thunderbird at home', MailmfaMailPrograms::posted_name('  Thunderbird at home '));
        $this->assertSame(str_repeat('é', 64), MailmfaMailPrograms::posted_name(str_repeat('é', 64)), 'characters, not bytes');

        foreach (['', '   ', str_repeat('a', 65), "Phone\nwork", "Tab\there", "\xff\xfe", null] as $name) {
            $this->assertNull(MailmfaMailPrograms::posted_name($name), var_export($name, true));
        }
    }

    public function test_only_known_protocols_are_sent_in_the_services_order()
    {
        $this->assertSame(['imap', 'smtp'], MailmfaMailPrograms::posted_protocols(['smtp', 'gopher', 'imap', 5, ['pop3']]));
        $this->assertSame(['imap', 'pop3', 'smtp', 'sieve'], MailmfaMailPrograms::posted_protocols(['sieve', 'smtp', 'pop3', 'imap', 'imap']));
        $this->assertSame([], MailmfaMailPrograms::posted_protocols(null), 'none ticked');
        $this->assertSame([], MailmfaMailPrograms::posted_protocols('imap'), 'not a list of boxes');
    }

    public function test_a_name_in_use_or_a_full_list_is_refused_before_a_code_is_asked_for()
    {
        $current = ['max' => 2, 'app_passwords' => [['name' => 'Phone', 'protocols' => ['imap']]]];

        $this->assertSame(['apppasswordexists', ['name' => 'Phone']], MailmfaMailPrograms::refusal_before_step_up('Phone', $current));
        $this->assertNull(MailmfaMailPrograms::refusal_before_step_up('phone', $current), 'names differ in case');
        $this->assertNull(MailmfaMailPrograms::refusal_before_step_up('Laptop', $current));

        $current['app_passwords'][] = ['name' => 'Laptop'];
        $this->assertSame(['apppasswordmax', ['max' => 2]], MailmfaMailPrograms::refusal_before_step_up('Tablet', $current));
        $this->assertNull(MailmfaMailPrograms::refusal_before_step_up('Tablet', ['app_passwords' => 'not a list']),
            'an answer that cannot be read is left to the service');
    }

    public function test_refusals_of_a_new_app_password_are_put_in_words()
    {
        $this->assertSame(['apppasswordconflict', 'error'],
            MailmfaMailPrograms::refusal(new MailmfaError('the service answered 409: exists', 409)));
        $this->assertSame(['refused_step_up_required', 'error'],
            MailmfaMailPrograms::refusal(new MailmfaError('the service answered 403: step up', 403, 'step_up_required')));

        foreach ([new MailmfaError('the service answered 403: no', 403, 'not_this_client'),
                new MailmfaError('the service answered 503: busy', 503), new MailmfaError('no connection', 0, null, true)] as $e) {
            $this->assertSame(['mailprogramsunavailable', 'error'], MailmfaMailPrograms::refusal($e), $e->getMessage());
        }
    }
}
