// Sortable tables: click a header to sort by that column (numbers by data-v or value), click again to reverse.
(function () {
  function key(td, numeric) {
    var v = td.getAttribute('data-v');
    if (v === null) v = td.textContent;
    if (numeric) { var n = parseFloat(v); return isNaN(n) ? -Infinity : n; }
    return v.toLowerCase();
  }
  function sortBy(table, col, th) {
    var numeric = th.getAttribute('data-type') === 'num';
    var asc = !th.classList.contains('asc');
    table.querySelectorAll('thead th').forEach(function (h) { h.classList.remove('asc', 'desc'); });
    th.classList.add(asc ? 'asc' : 'desc');
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a.cells[col], numeric), y = key(b.cells[col], numeric);
      return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  document.querySelectorAll('table.sortable').forEach(function (table) {
    table.querySelectorAll('thead th').forEach(function (th, col) {
      th.addEventListener('click', function () { sortBy(table, col, th); });
    });
  });
  // A link can open the page sorted: #sort=<table id>:<column>[:desc], e.g. #sort=gap-table:2:desc.
  var m = /^#sort=([\w-]+):(\d+)(:desc)?$/.exec(location.hash);
  var target = m && document.getElementById(m[1]);
  if (target) {
    var th = target.querySelectorAll('thead th')[+m[2]];
    if (th) { sortBy(target, +m[2], th); if (m[3]) sortBy(target, +m[2], th); }
  }
  var gaps = document.getElementById('gap-table');
  if (gaps) gaps.setAttribute('data-sortable', 'ready');
  window.addEventListener('load', function () {
    var n = (performance.getEntriesByType ? performance.getEntriesByType('resource').length : 0);
    document.documentElement.setAttribute('data-resources', String(n));
    document.documentElement.setAttribute('data-ready', '1');
  });
})();
