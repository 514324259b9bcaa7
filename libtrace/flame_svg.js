// flame_svg.js — the script inside ctrace's SVG flame graphs (libtrace/flame.c embeds it).
// Frames are <g class="f" data-o data-v data-d> elements: value offset, value, depth.
// Zoom re-lays every frame out from those numbers; search tests the frame names (first
// line of each <title>). Opened with "#selftest" the graph exercises itself and writes
// "selftest: PASS" (or what failed) into the #selftest text element.
"use strict";
var ct = { frames: [], zoomed: null, errors: [] };

window.addEventListener("error", function (e) {
	ct.errors.push(String(e.message));
	var st = document.getElementById("selftest");
	if (st) {
		st.textContent = "selftest: FAIL error " + ct.errors.join("; ");
		st.setAttribute("class", "");
	}
});

function ctFmt(v) {
	var u = ct.unit, a = Math.abs(v), s = v < 0 ? "-" : "";
	if (v === 0) return "0";
	function f(x, suffix) {
		return s + (Math.round(x * 100) / 100).toString() + suffix;
	}
	var mult = { nanoseconds: 1, microseconds: 1e3, milliseconds: 1e6, seconds: 1e9 }[u];
	if (mult) {
		var ns = a * mult;
		if (ns >= 1e9 * 0.999995) return f(ns / 1e9, "s");
		if (ns >= 1e6 * 0.999995) return f(ns / 1e6, "ms");
		if (ns >= 1e3 * 0.999995) return f(ns / 1e3, "us");
		return f(ns, "ns");
	}
	if (u === "bytes") {
		var units = ["B", "KB", "MB", "GB", "TB", "PB"], k = 0;
		while (k + 1 < units.length && a >= 1023.995) {
			a /= 1024;
			k++;
		}
		return f(a, units[k]);
	}
	return String(v) + (u && u !== "count" ? " " + u : "");
}

function ctName(g) {
	var t = g.getElementsByTagName("title")[0].textContent;
	var i = t.indexOf("\n");
	return i < 0 ? t : t.slice(0, i);
}

function ctLabel(g, w) {
	var t = g.getElementsByTagName("text")[0], n = ctName(g);
	var fit = Math.floor((w - 6) / 7.2);
	if (fit < 3) t.textContent = "";
	else t.textContent = n.length > fit ? n.slice(0, fit - 2) + ".." : n;
}

function ctPlace(g, x, w) {
	var r = g.getElementsByTagName("rect")[0];
	r.setAttribute("x", x.toFixed(1));
	r.setAttribute("width", Math.max(w, 0).toFixed(1));
	g.getElementsByTagName("text")[0].setAttribute("x", (x + 3).toFixed(1));
	ctLabel(g, w);
}

function ctNum(g, a) {
	return Number(g.getAttribute(a));
}

function ctShow(g, cls) {
	g.setAttribute("class", cls ? "f " + cls : "f");
}

function ctZoom(z) {
	var zo = ctNum(z, "data-o"), zv = ctNum(z, "data-v"), zd = ctNum(z, "data-d");
	var span = ct.width - 2 * ct.pad, scale = span / zv;
	ct.frames.forEach(function (g) {
		var o = ctNum(g, "data-o"), v = ctNum(g, "data-v"), d = ctNum(g, "data-d");
		if (d >= zd && o >= zo && o + v <= zo + zv) {
			ctShow(g, "");
			ctPlace(g, ct.pad + (o - zo) * scale, v * scale);
		} else if (d < zd && o <= zo && o + v >= zo + zv) {
			ctShow(g, "parent");
			ctPlace(g, ct.pad, span);
		} else {
			ctShow(g, "hide");
		}
	});
	ct.zoomed = z;
	document.getElementById("unzoom").setAttribute("class", "btn");
}

function ctUnzoom() {
	var scale = (ct.width - 2 * ct.pad) / ct.total;
	ct.frames.forEach(function (g) {
		ctShow(g, "");
		ctPlace(g, ct.pad + ctNum(g, "data-o") * scale, ctNum(g, "data-v") * scale);
	});
	ct.zoomed = null;
	document.getElementById("unzoom").setAttribute("class", "btn hide");
}

// Highlights frames whose name matches re; returns the matched share of the total (the
// union of the matched frames' ranges, so nested matches are not counted twice).
function ctSearch(re) {
	var spans = [];
	ct.frames.forEach(function (g) {
		var r = g.getElementsByTagName("rect")[0];
		if (!r.hasAttribute("data-fill")) r.setAttribute("data-fill", r.getAttribute("fill"));
		if (re.test(ctName(g))) {
			r.setAttribute("fill", "rgb(225,0,225)");
			spans.push([ctNum(g, "data-o"), ctNum(g, "data-v")]);
		} else {
			r.setAttribute("fill", r.getAttribute("data-fill"));
		}
	});
	spans.sort(function (a, b) {
		return a[0] - b[0];
	});
	var sum = 0, end = -1;
	spans.forEach(function (s) {
		var lo = Math.max(s[0], end), hi = s[0] + s[1];
		if (hi > lo) sum += hi - lo;
		end = Math.max(end, hi);
	});
	var share = ct.total > 0 ? (100 * sum) / ct.total : 0;
	document.getElementById("matched").textContent =
		"Matched: " + ctFmt(sum) + " (" + share.toFixed(2) + "%)";
	document.getElementById("search").textContent = "Reset Search";
	ct.searching = true;
	return share;
}

function ctResetSearch() {
	ct.frames.forEach(function (g) {
		var r = g.getElementsByTagName("rect")[0];
		if (r.hasAttribute("data-fill")) r.setAttribute("fill", r.getAttribute("data-fill"));
	});
	document.getElementById("matched").textContent = " ";
	document.getElementById("search").textContent = "Search";
	ct.searching = false;
}

function ctAskSearch() {
	if (ct.searching) {
		ctResetSearch();
		return;
	}
	var term = window.prompt("Search frames (regular expression):", "");
	if (!term) return;
	try {
		ctSearch(new RegExp(term));
	} catch (e) {
		document.getElementById("matched").textContent = "Bad regex: " + e.message;
	}
}

function ctSelftest() {
	var fails = [], root = null, kid = null;
	ct.frames.forEach(function (g) {
		var d = ctNum(g, "data-d");
		if (d === 0) root = g;
		if (d === 1 && (!kid || ctNum(g, "data-v") > ctNum(kid, "data-v"))) kid = g;
	});
	if (!root) fails.push("no root frame");
	if (kid) {
		var w0 = ctNum(kid.getElementsByTagName("rect")[0], "width");
		kid.dispatchEvent(new MouseEvent("click", { bubbles: true }));
		var w1 = ctNum(kid.getElementsByTagName("rect")[0], "width");
		if (ct.zoomed !== kid || Math.abs(w1 - (ct.width - 2 * ct.pad)) > 0.5)
			fails.push("zoom: width " + w0 + " -> " + w1);
		ctUnzoom();
		var w2 = ctNum(kid.getElementsByTagName("rect")[0], "width");
		if (Math.abs(w2 - w0) > 0.5) fails.push("reset zoom: width " + w2 + " != " + w0);
		var name = ctName(kid).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
		var share = ctSearch(new RegExp("^" + name + "$"));
		if (!(share > 0)) fails.push("search matched nothing");
		if (kid.getElementsByTagName("rect")[0].getAttribute("fill") !== "rgb(225,0,225)")
			fails.push("search did not highlight");
	}
	if (ct.errors.length) fails.push("errors: " + ct.errors.join("; "));
	var st = document.getElementById("selftest");
	st.textContent = fails.length ? "selftest: FAIL " + fails.join("; ") : "selftest: PASS";
	st.setAttribute("class", "");
}

function ctInit() {
	var g = document.getElementById("frames");
	ct.total = Number(g.getAttribute("data-total"));
	ct.unit = g.getAttribute("data-unit");
	ct.width = Number(g.getAttribute("data-width"));
	ct.pad = Number(g.getAttribute("data-pad"));
	ct.frames = Array.prototype.slice.call(g.getElementsByTagName("g"));
	var details = document.getElementById("details");
	g.addEventListener("click", function (e) {
		var f = e.target.closest("g.f");
		if (f) ctZoom(f);
	});
	g.addEventListener("mouseover", function (e) {
		var f = e.target.closest("g.f");
		if (f) {
			var t = f.getElementsByTagName("title")[0].textContent.split("\n");
			details.textContent = t.slice(0, 2).join("  ");
		}
	});
	g.addEventListener("mouseout", function () {
		details.textContent = " ";
	});
	document.getElementById("unzoom").addEventListener("click", ctUnzoom);
	document.getElementById("search").addEventListener("click", ctAskSearch);
	window.addEventListener("keydown", function (e) {
		if ((e.ctrlKey || e.metaKey) && e.key === "f") {
			e.preventDefault();
			ctAskSearch();
		} else if (e.key === "Escape") {
			ctResetSearch();
			ctUnzoom();
		}
	});
	if (window.location.hash === "#selftest") ctSelftest();
}
