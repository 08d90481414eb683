// The import runs inside the request and may take minutes: once an import form is submitted, lock
// its button so a second click cannot send a second request (the Redis lock would refuse it
// anyway, but the admin would get a confusing warning about their own import).
//
// Listens on the document, so forms that appear later (the dashboard card refreshes itself) are
// guarded too: a form[data-import-trigger] (the list's and the card's button), or the action bar
// with the import action chosen.
(function () {
    "use strict";

    function isImportSubmit(form) {
        if (form.hasAttribute("data-import-trigger")) {
            return true;
        }
        var select = form.id === "changelist-form" && form.querySelector("select[name=action]");
        return Boolean(select && select.value === "trigger_catalog_import");
    }

    document.addEventListener("submit", function (event) {
        var form = event.target;
        if (event.defaultPrevented || !(form instanceof HTMLFormElement) || !isImportSubmit(form)) {
            return;
        }
        if (form.dataset.submitted) {
            event.preventDefault();
            return;
        }
        form.dataset.submitted = "1";
        form.querySelectorAll("button[type=submit], input[type=submit]").forEach(function (button) {
            // Disable after the submission has been built, so the button's own value still goes out.
            window.setTimeout(function () {
                button.disabled = true;
                if (button.dataset.busyLabel) {
                    button.dataset.idleLabel = button.innerHTML;
                    button.textContent = button.dataset.busyLabel;
                }
            }, 0);
        });
    });

    // Coming back to the page from the browser's history cache: the request is long finished.
    window.addEventListener("pageshow", function (event) {
        if (!event.persisted) {
            return;
        }
        document.querySelectorAll("form[data-submitted]").forEach(function (form) {
            delete form.dataset.submitted;
            form.querySelectorAll("button[type=submit], input[type=submit]").forEach(function (button) {
                button.disabled = false;
                if (button.dataset.idleLabel) {
                    button.innerHTML = button.dataset.idleLabel;
                }
            });
        });
    });
})();
