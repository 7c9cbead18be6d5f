(function () {
	"use strict";
	/* The page is complete without this script: it only adds sorting. */
	var each = function (list, fn) {
		Array.prototype.forEach.call(list, fn);
	};
	var key = function (cell) {
		var v = cell ? cell.getAttribute("data-v") : null;
		return v === null || v === "" ? null : Number(v);
	};
	var text = function (cell) {
		return cell ? cell.textContent : "";
	};
	var compare = function (a, b, col) {
		var x = key(a.cells[col]), y = key(b.cells[col]);
		if (x !== null && y !== null)
			return x - y;
		if (x !== null || y !== null)
			return x === null ? 1 : -1;
		return text(a.cells[col]).localeCompare(text(b.cells[col]));
	};
	var sortBy = function (table, th, col) {
		var body = table.tBodies[0];
		var asc = th.getAttribute("aria-sort") !== "ascending";
		var rows = Array.prototype.slice.call(body.rows);
		rows.sort(function (a, b) {
			return asc ? compare(a, b, col) : compare(b, a, col);
		});
		each(th.parentNode.cells, function (h) {
			h.removeAttribute("aria-sort");
		});
		th.setAttribute("aria-sort", asc ? "ascending" : "descending");
		each(rows, function (r) {
			body.appendChild(r);
		});
	};
	each(document.querySelectorAll("table.sortable"), function (table) {
		if (!table.tHead || !table.tBodies.length)
			return;
		each(table.tHead.rows[0].cells, function (th, col) {
			th.tabIndex = 0;
			th.addEventListener("click", function () {
				sortBy(table, th, col);
			});
			th.addEventListener("keydown", function (e) {
				if (e.key === "Enter")
					sortBy(table, th, col);
			});
		});
	});
	document.documentElement.classList.add("js");
})();
