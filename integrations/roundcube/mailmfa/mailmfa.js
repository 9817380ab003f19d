/**
 * mailmfa: the page Settings → Mail programs draws with a new app password.
 *
 * That page answers the POST of the step-up's code. Its address becomes the page's own, so that a
 * reload asks for the page afresh (without the password, which is shown once) instead of posting
 * the code again. The Copy button puts the password on the clipboard.
 *
 * Copyright (C) The mailmfa developers. Licensed under the MIT license.
 */
(function () {
    function copy(button, password) {
        var done = function () {
            button.textContent = button.getAttribute('data-copied');
        };
        var select = function () {
            var range = document.createRange();
            var selection = window.getSelection();

            range.selectNodeContents(password);
            selection.removeAllRanges();
            selection.addRange(range);
            if (document.execCommand('copy')) {
                done();
            }
        };

        if (navigator.clipboard && window.isSecureContext) {
            navigator.clipboard.writeText(password.textContent).then(done, select);
        }
        else {
            select();
        }
    }

    document.addEventListener('DOMContentLoaded', function () {
        var page = window.rcmail && rcmail.env.mailmfa_page;
        var button = document.getElementById('mailmfa-copy');
        var password = document.getElementById('mailmfa-app-password');

        if (page && window.history.replaceState) {
            window.history.replaceState(null, '', page);
        }

        if (button && password) {
            button.hidden = false;
            button.addEventListener('click', function () {
                copy(button, password);
            });
        }
    });
})();
