// The import runs inside the request and may take minutes: once its form is submitted, lock the
// button so a second click cannot send a second request (the Redis lock would refuse it anyway,
// but the admin would get a confusing warning about their own import).
(function () {
    "use strict";

    function lock(form, event) {
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
                    button.dataset.idleLabel = button.textContent;
                    button.textContent = button.dataset.busyLabel;
                }
            }, 0);
        });
    }

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
                    button.textContent = button.dataset.idleLabel;
                }
            });
        });
    });

    document.addEventListener("DOMContentLoaded", function () {
        document.querySelectorAll("form[data-import-trigger]").forEach(function (form) {
            form.addEventListener("submit", function (event) { lock(form, event); });
        });
        // The same action chosen in the action bar.
        var changelist = document.getElementById("changelist-form");
        if (changelist) {
            changelist.addEventListener("submit", function (event) {
                var select = changelist.querySelector("select[name=action]");
                if (select && select.value === "trigger_catalog_import") {
                    lock(changelist, event);
                }
            });
        }
    });
})();
