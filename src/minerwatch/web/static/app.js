// minerwatch serve: draws the charts of a page (their figures are JSON in the page, read
// here: the Content-Security-Policy allows no inline script) after a load and after htmx
// swaps the page's content.
(function () {
  "use strict";
  function draw(root) {
    if (typeof Plotly === "undefined") { return; }
    root.querySelectorAll("div.chart[data-spec]").forEach(function (div) {
      if (div.dataset.drawn) { return; }
      var spec = JSON.parse(document.getElementById(div.dataset.spec).textContent);
      div.style.height = spec.height + "px";
      Plotly.newPlot(div, spec.data, spec.layout, spec.config);
      div.dataset.drawn = "1";
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function () { draw(document); });
})();
// A page that shows the latest day (the Now page without ?as_of) follows the database:
// on each change the server announces (/events, server-sent events), its content is fetched
// again and swapped in, as the as-of form does.
(function () {
  "use strict";
  function follow() {
    var live = document.querySelector("[data-live]");
    if (!live || typeof EventSource === "undefined" || typeof htmx === "undefined") { return; }
    var source = new EventSource("/events?since=" + encodeURIComponent(live.dataset.live));
    source.addEventListener("change", function () {
      htmx.ajax("GET", window.location.pathname + window.location.search,
                {target: "#page", select: "#page", swap: "outerHTML"});
    });
  }
  document.addEventListener("DOMContentLoaded", follow);
})();
// A form marked data-swap-errors (the Fleet page's) shows the server's answer to bad input
// too: the page with the message in it, a 4xx or a 503, swapped in as a success is.
(function () {
  "use strict";
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    var config = event.detail.requestConfig;  // detail.elt is the target, not the form
    var source = config && config.elt ? config.elt : null;
    var form = source && source.closest ? source.closest("[data-swap-errors]") : null;
    if (form && ((status >= 400 && status < 500) || status === 503)) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
