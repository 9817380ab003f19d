/**
 * mailmfa: the passkey ceremony on the plugin's pages (sign-in, a step-up, Settings → Passkeys).
 *
 * The form `.mailmfa-passkey-form` carries the options the login service made
 * (`data-options`, the `publicKey` JSON) and which ceremony to run (`data-ceremony`: create or
 * get). The button asks the browser for the passkey; its answer, `credential.toJSON()`, goes
 * into the hidden field `_webauthn` and the form is posted to the plugin, which hands it to the
 * service. Without this script (or without passkey support in the browser) the page's own text
 * says what to do instead: use a recovery code.
 *
 * Copyright (C) The mailmfa developers. Licensed under the MIT license.
 */
(function () {
    function supported() {
        return window.PublicKeyCredential && navigator.credentials
            && typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function'
            && typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function';
    }

    function say(form, text) {
        var box = form.querySelector('.mailmfa-passkey-failed');

        box.textContent = text;
        box.hidden = false;
    }

    function run(form, button) {
        var options = JSON.parse(form.getAttribute('data-options'));
        var create = form.getAttribute('data-ceremony') === 'create';
        var asked = create
            ? navigator.credentials.create({publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options)})
            : navigator.credentials.get({publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options)});

        button.disabled = true;
        form.querySelector('.mailmfa-passkey-failed').hidden = true;
        asked.then(function (credential) {
            if (!credential) {
                throw new Error('no credential');
            }
            form.querySelector('input[name=_webauthn]').value = JSON.stringify(credential.toJSON());
            form.submit();
        }).catch(function () {
            // Cancelled, timed out, or no passkey for this mailbox on this device: nothing was
            // sent, so the same challenge may be tried again.
            button.disabled = false;
            say(form, form.getAttribute('data-failed'));
        });
    }

    document.addEventListener('DOMContentLoaded', function () {
        var forms = document.querySelectorAll('.mailmfa-passkey-form');

        Array.prototype.forEach.call(forms, function (form) {
            var button = form.querySelector('.mailmfa-passkey-button');
            var nojs = form.querySelector('.mailmfa-passkey-nojs');

            if (!supported()) {
                say(form, form.getAttribute('data-unsupported'));
                return;
            }

            nojs.hidden = true;
            button.hidden = false;
            button.addEventListener('click', function () {
                run(form, button);
            });
        });
    });
})();
