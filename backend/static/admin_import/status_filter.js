// The status filter as a select2 dropdown whose entries show each status's icon and colour.
// Jazzmin's change_list.js starts select2 on its ".search-filter" selects without templates (and
// an <option> cannot hold HTML), so this select has its own class and is set up here, after
// Jazzmin's script, with the same behaviour: choosing an entry names the select for the search
// form, which applies it.
(function ($) {
    "use strict";
    if (!$) {
        return;
    }

    function withIcon(choice) {
        if (!choice.element || !choice.element.dataset.icon) {
            return choice.text;
        }
        var data = choice.element.dataset;
        var icon = document.createElement("i");
        icon.className = data.icon + " me-1 import-status-icon text-" + data.color;
        icon.setAttribute("aria-hidden", "true");
        var label = document.createElement("span");
        label.appendChild(icon);
        label.appendChild(document.createTextNode(choice.text));  // text, never HTML
        return $(label);
    }

    $(function () {
        var $selects = $("select.search-filter-icons");
        if (!$selects.length || !$.fn.select2 || !$.fn.search_filters) {
            return;  // Jazzmin's scripts missing: the plain <select> still works with the search form
        }
        $selects.search_filters();
        $selects.each(function () {
            $(this).select2({templateResult: withIcon, templateSelection: withIcon, minimumResultsForSearch: -1});
        });
    });
})(window.jQuery || window.django && window.django.jQuery);
