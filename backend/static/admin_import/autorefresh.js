// Keep what shows a running import up to date: every N seconds while an import is pending or
// running, and never under a person's hands.
//
// The server decides whether anything runs and says so with a data-import-active attribute, so
// this works whatever the language, filter, search or page. Two modes, set on this script's tag:
// - the whole page (the sessions list, a session page): the attribute is on the tag itself and
//   the page reloads;
// - one element (the dashboard card): data-refresh-target names the element's id, which carries
//   the attribute, and data-refresh-url the address that renders that element alone; it is
//   fetched and swapped in place.
// With nothing active there is no refresh at all; the last one shows the finished import and stops.
(function () {
    "use strict";
    var script = document.currentScript;
    if (!script) {
        return;
    }
    var targetId = script.dataset.refreshTarget;
    var url = script.dataset.refreshUrl;
    var interval = (parseInt(script.dataset.refreshSeconds, 10) || 10) * 1000;
    var QUIET_MS = 2000;  // once an interaction ends, this long before a refresh may come
    var TICK_MS = 500;
    var TEXT_ENTRY = "input:not([type=checkbox]):not([type=radio]):not([type=submit]):not([type=button])" +
        ":not([type=hidden]), textarea, select, [contenteditable]";

    function flagHolder() {
        return targetId ? document.getElementById(targetId) : script;
    }

    function active() {
        var holder = flagHolder();
        return Boolean(holder && holder.hasAttribute("data-import-active"));
    }

    // True while a refresh would take something from the person: ticked rows, an open menu or
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

    var due = Date.now() + interval;
    var fetching = false;

    function swapFragment() {
        fetching = true;
        window.fetch(url, {credentials: "same-origin", headers: {"Accept": "text/html"}})
            .then(function (response) {
                if (!response.ok || response.redirected) {
                    throw new Error("refresh answered " + response.status);
                }
                return response.text();
            })
            .then(function (html) {
                var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(targetId);
                var current = document.getElementById(targetId);
                if (!fresh || !current) {
                    throw new Error("no #" + targetId + " in the refresh");
                }
                if (!interacting()) {  // the person may have started something while we fetched
                    current.replaceWith(document.importNode(fresh, true));
                }
                fetching = false;
                due = Date.now() + interval;
            })
            .catch(function () {
                window.location.reload();  // logged out, server restarted…: the whole page says why
            });
    }

    var timer = window.setInterval(function () {
        if (!active()) {
            window.clearInterval(timer);
            return;
        }
        var now = Date.now();
        if (interacting()) {
            due = Math.max(due, now + QUIET_MS);
        } else if (now >= due && !fetching) {
            if (targetId && url) {
                swapFragment();
            } else {
                window.location.reload();
            }
        }
    }, TICK_MS);
})();
