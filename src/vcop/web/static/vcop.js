/* vcop's own script: draw Vega-Lite charts from their JSON specs, and focus error summaries.
 * Pages work without it: every chart has its figures in a table. */
(function () {
  "use strict";

  function drawCharts(root) {
    if (typeof window.vegaEmbed !== "function") { return; }
    var nodes = root.querySelectorAll("[data-vega-spec]");
    Array.prototype.forEach.call(nodes, function (node) {
      if (node.getAttribute("data-rendered")) { return; }
      var source = document.getElementById(node.getAttribute("data-vega-spec"));
      if (!source) { return; }
      node.setAttribute("data-rendered", "pending");
      var spec = JSON.parse(source.textContent);
      window.vegaEmbed(node, spec, {
        actions: false,
        renderer: "svg",
        ast: true,
        expr: window.vega.expressionInterpreter
      }).then(function () {
        node.setAttribute("data-rendered", "true");
      }).catch(function (error) {
        node.setAttribute("data-rendered", "error");
        console.error("vcop: chart could not be drawn", error);
      });
    });
  }

  function focusErrorSummary() {
    var summary = document.querySelector(".govuk-error-summary");
    if (summary) { summary.focus(); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts(document);
    focusErrorSummary();
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    drawCharts(event.target || document);
  });
})();
