// The hosted passkey page's one script (served as /static/passkey.js under `script-src 'self'`):
// runs the WebAuthn ceremony whose options the form carries, and posts the browser's answer
// through the same form. Every word it shows is in the page already (hidden), from texts.rs.
"use strict";

(function () {
  const form = document.getElementById("passkey");
  if (!form) {
    return;
  }
  const button = form.querySelector("button.passkey-go");
  const notes = Array.from(document.querySelectorAll("[data-passkey-note]"));

  function say(which) {
    for (const note of notes) {
      note.hidden = note.dataset.passkeyNote !== which;
    }
  }

  const supported = window.PublicKeyCredential
    && typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function"
    && typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function"
    && typeof PublicKeyCredential.prototype.toJSON === "function";
  if (!supported) {
    say("unsupported");
    return;
  }
  button.hidden = false;

  button.addEventListener("click", async function () {
    button.disabled = true;
    say(null);
    try {
      const options = JSON.parse(form.dataset.options);
      const credential = form.dataset.ceremony === "create"
        ? await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options) })
        : await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) });
      form.elements.webauthn.value = JSON.stringify(credential.toJSON());
      form.submit();
    } catch (error) {
      // NotAllowedError: cancelled, timed out, or no passkey here. The challenge was not
      // answered, so the same one can be tried again.
      say(error && error.name === "NotAllowedError" ? "cancelled" : "failed");
      button.disabled = false;
    }
  });
})();
