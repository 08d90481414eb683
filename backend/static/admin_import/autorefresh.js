// Keep a page that shows a running import up to date: reload it every N seconds while an import
// is pending or running, and never under a person's hands.
//
// The server decides whether anything runs and says so on this script's tag
// (data-import-active; data-refresh-seconds), so this works whatever the language, filter,
// search or page. With no import active the script does nothing; the last reload shows the
// finished session and stops.
(function () {
    "use strict";
    var script = document.currentScript;
    if (!script || !script.hasAttribute("data-import-active")) {
        return;
    }
    var interval = (parseInt(script.dataset.refreshSeconds, 10) || 10) * 1000;
    var QUIET_MS = 2000;  // once an interaction ends, this long before a reload may come
    var TICK_MS = 500;
    var TEXT_ENTRY = "input:not([type=checkbox]):not([type=radio]):not([type=submit]):not([type=button])" +
        ":not([type=hidden]), textarea, select, [contenteditable]";
    var due = Date.now() + interval;

    // True while a reload would take something from the person: ticked rows, an open menu or
    // dropdown, text being typed or selected, a hidden tab, an import request on its way.
    function interacting() {
        if (document.hidden) {
            return true;
        }
        if (document.querySelector("form[data-submitted]")) {
            return true;
        }
        if (document.querySelector("input.action-select:checked, #action-toggle:checked")) {
            return true;
        }
        if (document.querySelector(".select2-container--open, .dropdown-menu.show")) {
            return true;
        }
        var action = document.querySelector("#changelist-form select[name=action]");
        if (action && action.value) {
            return true;
        }
        var search = document.getElementById("searchbar");
        if (search && search.value !== search.defaultValue) {
            return true;
        }
        var focused = document.activeElement;
        if (focused && focused !== document.body && focused.matches(TEXT_ENTRY)) {
            return true;
        }
        return Boolean(window.getSelection && String(window.getSelection()));
    }

    window.setInterval(function () {
        var now = Date.now();
        if (interacting()) {
            due = Math.max(due, now + QUIET_MS);
        } else if (now >= due) {
            window.location.reload();
        }
    }, TICK_MS);
})();
