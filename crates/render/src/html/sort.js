// Sorts the destinations table by the clicked column, using each cell's data-sort value.
(function () {
  "use strict";
  var table = document.getElementById("destinations");
  if (!table || !table.tBodies.length) { return; }
  var body = table.tBodies[0];
  var heads = table.querySelectorAll("thead th[data-key]");
  function value(row, index, numeric) {
    var cell = row.cells[index];
    var v = cell ? (cell.getAttribute("data-sort") || "") : "";
    return numeric ? Number(v) || 0 : v.toLowerCase();
  }
  function sort(th) {
    var index = th.cellIndex;
    var numeric = th.getAttribute("data-type") === "num";
    var current = th.getAttribute("aria-sort");
    var descending = current ? current === "ascending" : numeric;
    var rows = Array.prototype.slice.call(body.rows).map(function (row, i) {
      return { row: row, key: value(row, index, numeric), i: i };
    });
    rows.sort(function (a, b) {
      var c = numeric ? a.key - b.key : a.key.localeCompare(b.key);
      if (descending) { c = -c; }
      return c || a.i - b.i;
    });
    rows.forEach(function (r) { body.appendChild(r.row); });
    heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
  }
  heads.forEach(function (th) {
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = th.textContent;
    button.title = "Sort by " + th.textContent.toLowerCase();
    th.textContent = "";
    th.appendChild(button);
    th.addEventListener("click", function () { sort(th); });
  });
}());
