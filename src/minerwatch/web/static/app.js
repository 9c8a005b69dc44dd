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
