// timeline.js — the ctrace state-transition timeline (embedded by libtrace/timeline.c).
// Decodes the packed model (format in timeline.c), builds lanes (pinned, counters, CPUs,
// threads, groups of short-lived threads), and draws them on one canvas with a level of
// detail: slices narrower than a pixel are merged per lane per pixel (the state that
// covers most of that pixel wins), and at most MERGE slices are looked at per pixel before
// jumping by binary search, so a frame costs pixels x lanes, not events.
"use strict";
var errors = [];
window.addEventListener("error", function (e) { errors.push(String(e.message)); });
document.addEventListener("securitypolicyviolation", function (e) { errors.push("blocked " + e.blockedURI); });
var T0 = performance.now(), marks = [];
function mark(what) { marks.push(what + " " + (performance.now() - T0).toFixed(0)); }
var D = JSON.parse(document.getElementById("ct-data").textContent);
mark("parse");
var LANE_H = 18, SECT_H = 16, LABEL_W = 230, MERGE = 12, GROUP_MIN = 12;
var RUN = 0, RUNNABLE = 1, ONCPU = 2, WAIT = 3;
var STATE_COLORS = ["#3a9a4c", "#f0ad2c", "#7fbf7b"];
var REASON_COLORS = { mutex: "#d64541", rwlock: "#e67e9a", spin: "#a93226", sem: "#9b59b6",
	cond: "#6a5acd", join: "#8d6e3f", net: "#2f7ed8", sleep: "#c3c9d3", futex: "#f2705e",
	io: "#19a3b5", kernel: "#8a8f98" };
var codeColors = [];
function codeColor(c) { return codeColors[c] || (codeColors[c] = c < WAIT ? STATE_COLORS[c] : REASON_COLORS[D.reasons[c - WAIT]] || "#999"); }
function codeName(c) { return c === RUN ? "running" : c === RUNNABLE ? "runnable" : c === ONCPU ? "running or runnable" : "waiting: " + D.reasons[c - WAIT]; }

// ---- decoding ------------------------------------------------------------------------
var B64 = new Int8Array(128).fill(-1);
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".split("").forEach(function (ch, i) { B64[ch.charCodeAt(0)] = i; });
function Reader(s) { this.s = s; this.i = 0; }
Reader.prototype.more = function () { return this.i < this.s.length; };
Reader.prototype.num = function () {
	var v = 0, mul = 1, g;
	for (;;) {
		g = B64[this.s.charCodeAt(this.i++) & 127];
		if (g < 0 || this.i > this.s.length) throw new Error("bad packed data at " + (this.i - 1));
		if (g < 32) return v + g * mul;
		v += (g - 32) * mul; mul *= 32;
	}
};
function unzig(v) { return v % 2 ? -(v + 1) / 2 : v / 2; }

var stacks = [], locs = [];
(function () {
	var r = new Reader(D.locs);
	while (r.more()) locs.push({ fn: r.num(), file: r.num(), line: r.num() });
	r = new Reader(D.stacks);
	while (r.more()) { var n = r.num(), s = []; for (var k = 0; k < n; k++) s.push(r.num()); stacks.push(s); }
})();
function stackOf(i) { return i ? stacks[i - 1] : null; }
function fnName(loc) { return D.fns[locs[loc].fn]; }
function leafFn(st) { var s = stackOf(st); return s && s.length ? fnName(s[0]) : "[no stack]"; }

var threads = D.threads.map(function (a, i) {
	return { i: i, tid: a[0], name: a[1], begin: a[2], end: a[3], creator: a[4], alive: a[5], switches: a[6], preempt: a[7] };
});
// Every thread's intervals go into shared arrays (grown by doubling); each thread then gets
// views of its part, so 20,000 threads cost views, not 20,000 sets of buffers.
// Sized once from the strings (an interval takes at least 3 characters, a sample 2).
var G = { n: 0, cap: 16 }, GS = { n: 0, cap: 16 };
D.iv.forEach(function (x) { G.cap += Math.ceil(x.length / 3); });
D.sm.forEach(function (x) { GS.cap += Math.ceil(x.length / 2); });
function grow(g, kinds) {
	g.cap *= 2;
	kinds.forEach(function (k) { var x = new g[k].constructor(g.cap); x.set(g[k]); g[k] = x; });
}
["st", "en"].forEach(function (k) { G[k] = new Float64Array(G.cap); });
G.code = new Uint8Array(G.cap); G.a = new Int32Array(G.cap); G.b = new Int32Array(G.cap);
GS.t = new Float64Array(GS.cap); GS.s = new Int32Array(GS.cap);
function decodeThread(th) {
	var r = new Reader(D.iv[th.i]), n = G.n, wake = {}, t = 0, off = n;
	while (r.more()) {
		if (n === G.cap) grow(G, ["st", "en", "code", "a", "b"]);
		t += r.num(); var d = r.num(), cw = r.num(), c = cw >> 1;
		G.st[n] = t; G.en[n] = t + d; G.code[n] = c; G.a[n] = 0; G.b[n] = 0; t += d;
		if (c === RUN) G.a[n] = r.num();
		else if (c >= WAIT) { G.a[n] = r.num(); G.b[n] = r.num(); }
		if (cw & 1) wake[n - off] = { ti: r.num() - 1, at: G.en[n] - unzig(r.num()), stack: r.num() };
		n++;
	}
	th.off = off; th.n = n - off; G.n = n; th.wake = wake;
	r = new Reader(D.sm[th.i]); t = 0; var m = GS.n; th.soff = m;
	while (r.more()) {
		if (m === GS.cap) grow(GS, ["t", "s"]);
		t += r.num(); GS.t[m] = t; GS.s[m++] = r.num();
	}
	th.sn = m - th.soff; GS.n = m;
}
threads.forEach(decodeThread);
var NO_T = new Float64Array(0), NO_S = new Int32Array(0);
threads.forEach(function (th) {
	var o = th.off, e = o + th.n;
	th.st = G.st.subarray(o, e); th.en = G.en.subarray(o, e); th.code = G.code.subarray(o, e);
	th.a = G.a.subarray(o, e); th.b = G.b.subarray(o, e); th.maxEnd = th.en;
	th.smT = th.sn ? GS.t.subarray(th.soff, th.soff + th.sn) : NO_T;
	th.smS = th.sn ? GS.s.subarray(th.soff, th.soff + th.sn) : NO_S;
});
mark("decode");

// ---- lanes ---------------------------------------------------------------------------
// kinds: sect (a heading), counter, cpu, thread, group. Groups: at least GROUP_MIN
// short-lived threads (lifetime under 2% of the run) of one name (digits dropped).
var lanes = [], groups = [];
function groupKey(th) { return th.name.replace(/[0-9]+/g, "#"); }
(function () {
	var byKey = {}, order = [], life = D.dur * 0.02;
	threads.forEach(function (th) {
		if (th.end - th.begin >= life) return;
		var k = groupKey(th);
		if (!byKey[k]) { byKey[k] = []; order.push(k); }
		byKey[k].push(th);
	});
	order.forEach(function (k) {
		var m = byKey[k];
		if (m.length < GROUP_MIN) return;
		var g = { key: k, members: m, open: false, name: k + " \u00d7" + m.length };
		m.forEach(function (th) { th.group = g; });
		mergeGroup(g);
		groups.push(g);
	});
})();
function mergeGroup(g) {
	var total = 0; g.members.forEach(function (th) { total += th.n; });
	var ord = new Array(total), k = 0;
	g.members.forEach(function (th) { for (var i = 0; i < th.n; i++) ord[k++] = th.off + i; });
	ord.sort(function (x, y) { return G.st[x] - G.st[y]; });
	g.st = new Float64Array(total); g.en = new Float64Array(total); g.code = new Uint8Array(total); g.maxEnd = new Float64Array(total);
	var mx = 0;
	for (var i = 0; i < total; i++) { var j = ord[i]; g.st[i] = G.st[j]; g.en[i] = G.en[j]; g.code[i] = G.code[j]; mx = Math.max(mx, g.en[i]); g.maxEnd[i] = mx; }
	g.n = total;
}
mark("groups");
// CPU lanes and the counter are built just after the first paint (thread lanes first); until
// then they are empty, with the same layout.
function emptyCpu(c) { var z = new Float64Array(0); return { cpu: c, n: 0, st: z, en: z, maxEnd: z, ti: new Int32Array(0) }; }
var cpus = [];
for (var c0 = 0; c0 < D.ncpus; c0++) cpus.push(emptyCpu(c0));
function buildCpus() {
	cpus = [];
	for (var c = 0; c < D.ncpus; c++) cpus.push([]);
	threads.forEach(function (th) {
		for (var i = 0; i < th.n; i++) if (th.code[i] === RUN && th.a[i] < D.ncpus) cpus[th.a[i]].push(th.st[i], th.en[i], th.i);
	});
	cpus = cpus.map(function (arr, c) {
		var n = arr.length / 3, ord = new Array(n); // an Array: its sort finds the per-thread sorted runs
		for (var i = 0; i < n; i++) ord[i] = i;
		ord.sort(function (x, y) { return arr[3 * x] - arr[3 * y]; });
		var L = { cpu: c, n: n, st: new Float64Array(n), en: new Float64Array(n), ti: new Int32Array(n), maxEnd: new Float64Array(n) }, mx = 0;
		for (i = 0; i < n; i++) { var j = ord[i]; L.st[i] = arr[3 * j]; L.en[i] = arr[3 * j + 1]; L.ti[i] = arr[3 * j + 2]; mx = Math.max(mx, L.en[i]); L.maxEnd[i] = mx; }
		return L;
	});
}
// running and runnable counts over time: a step function.
var counter = { T: new Float64Array(0), R: new Uint16Array(0), Q: new Uint16Array(0), n: 0, max: 1 };
function buildCounter() {
	var n = 0; threads.forEach(function (th) { n += th.n; });
	var ev = new Float64Array(2 * n), kind = new Int8Array(2 * n), k = 0;
	threads.forEach(function (th) {
		for (var i = 0; i < th.n; i++) {
			var c = th.code[i]; if (c >= WAIT) continue;
			var s = c === RUNNABLE ? 2 : 1;
			ev[k] = th.st[i]; kind[k++] = s; ev[k] = th.en[i]; kind[k++] = -s;
		}
	});
	var ord = new Array(k); for (var i = 0; i < k; i++) ord[i] = i; // per-thread sorted runs
	ord.sort(function (x, y) { return ev[x] - ev[y]; });
	var T = new Float64Array(k), R = new Uint16Array(k), Q = new Uint16Array(k), r = 0, q = 0, mx = 1;
	for (i = 0; i < k; i++) {
		var j = ord[i], s2 = kind[j];
		if (s2 === 1) r++; else if (s2 === -1) r--; else if (s2 === 2) q++; else q--;
		T[i] = ev[j]; R[i] = r; Q[i] = q; mx = Math.max(mx, r + q);
	}
	counter = { T: T, R: R, Q: Q, n: k, max: mx };
}

var hidden = {}, pinned = [], query = "", matchSet = null;
function threadLane(th) { return { kind: "thread", th: th, src: th, label: th.name, tid: th.tid }; }
function buildLanes() {
	lanes = [];
	function sect(t) { lanes.push({ kind: "sect", label: t }); }
	if (pinned.length) { sect("Pinned"); pinned.forEach(function (th) { lanes.push(threadLane(th)); }); }
	sect("Counters"); lanes.push({ kind: "counter", label: D.merged ? "on CPU or runnable" : "running / runnable" });
	if (!D.merged && cpus.length) { sect("CPUs"); cpus.forEach(function (L) { lanes.push({ kind: "cpu", src: L, label: "CPU " + L.cpu }); }); }
	sect("Threads (" + threads.length + ")");
	var seen = {};
	threads.forEach(function (th) {
		if (hidden[th.i] || pinned.indexOf(th) >= 0 || (matchSet && !matchSet[th.i])) return;
		var g = th.group;
		if (g) {
			if (seen[g.key]) return;
			seen[g.key] = true;
			lanes.push({ kind: "group", g: g, src: g, label: g.name });
			if (g.open) g.members.forEach(function (m) { if (!hidden[m.i] && (!matchSet || matchSet[m.i])) lanes.push(threadLane(m)); });
			return;
		}
		lanes.push(threadLane(th));
	});
	var y = 0;
	lanes.forEach(function (L) { L.y = y; L.h = L.kind === "sect" ? SECT_H : L.kind === "counter" ? 2 * LANE_H : L.kind === "thread" ? LANE_H + annH(L.th) : LANE_H; y += L.h; });
	totalH = y;
	renderLabels();
}
var totalH = 0;
var $ = function (id) { return document.getElementById(id); };
function renderLabels() {
	var box = $("labels"), frag = document.createDocumentFragment();
	box.textContent = "";
	lanes.forEach(function (L, li) {
		var d = document.createElement("div");
		d.className = "lane" + (L.kind === "sect" ? " sect" : "") + (L.kind === "group" ? " grp" : "") +
			(L.th && pinned.indexOf(L.th) >= 0 ? " pinned" : "") + (L.th && matchSet && query ? " match" : "");
		d.style.top = L.y + "px"; d.style.height = L.h + "px";
		d.setAttribute("role", "listitem");
		if (L.kind === "group") {
			var ex = document.createElement("button"); ex.className = "b"; ex.style.visibility = "visible";
			ex.textContent = L.g.open ? "\u25be" : "\u25b8"; ex.title = "expand or collapse the group";
			ex.onclick = function () { L.g.open = !L.g.open; buildLanes(); draw(); };
			d.appendChild(ex);
		}
		var nm = document.createElement("span"); nm.className = "nm"; nm.textContent = L.label; nm.title = L.label;
		d.appendChild(nm);
		if (L.th) {
			var tid = document.createElement("span"); tid.className = "tid"; tid.textContent = L.th.tid; d.appendChild(tid);
			d.dataset.tid = L.th.tid;
			var pin = document.createElement("button"); pin.className = "b pin"; pin.textContent = "\u2691"; pin.title = "pin to the top";
			pin.onclick = function () { var k = pinned.indexOf(L.th); if (k >= 0) pinned.splice(k, 1); else pinned.push(L.th); buildLanes(); draw(); };
			var hide = document.createElement("button"); hide.className = "b"; hide.textContent = "\u2715"; hide.title = "hide this lane";
			hide.onclick = function () { hidden[L.th.i] = true; var k = pinned.indexOf(L.th); if (k >= 0) pinned.splice(k, 1); buildLanes(); draw(); };
			d.appendChild(pin); d.appendChild(hide);
		}
		L.el = d; frag.appendChild(d); L.index = li;
	});
	box.appendChild(frag);
	box.style.height = totalH + "px";
	var nh = Object.keys(hidden).length, u = $("unhide");
	u.hidden = !nh; u.textContent = "show " + nh + " hidden";
}

// ---- view ----------------------------------------------------------------------------
var view = { t0: 0, t1: Math.max(D.dur, 1) }, sel = null, range = null, W = 800, H = 400, DPR = window.devicePixelRatio || 1;
var canvas = $("lanes"), ctx = canvas.getContext("2d"), axis = $("axis"), actx = axis.getContext("2d"), mini = $("minimap"), mctx = mini.getContext("2d");
function fmtDur(ns) {
	var a = Math.abs(ns);
	if (a < 1e3) return ns.toFixed(0) + " ns";
	if (a < 1e6) return (ns / 1e3).toFixed(a < 1e4 ? 2 : 1) + " \u00b5s";
	if (a < 1e9) return (ns / 1e6).toFixed(a < 1e7 ? 2 : 1) + " ms";
	return (ns / 1e9).toFixed(3) + " s";
}
function clampView() {
	var w = view.t1 - view.t0, max = Math.max(D.dur, 1);
	if (w < 100) { var c = (view.t0 + view.t1) / 2; view.t0 = c - 50; view.t1 = c + 50; w = 100; }
	if (w > max * 1.05) { view.t0 = -max * 0.025; view.t1 = max * 1.025; return; }
	if (view.t0 < -w * 0.05) { view.t0 = -w * 0.05; view.t1 = view.t0 + w; }
	if (view.t1 > max + w * 0.05) { view.t1 = max + w * 0.05; view.t0 = view.t1 - w; }
}
function zoomBy(f, atX) {
	var w = view.t1 - view.t0, t = view.t0 + w * (atX === undefined ? 0.5 : atX / W);
	view.t0 = t - (t - view.t0) / f; view.t1 = t + (view.t1 - t) / f; clampView(); draw();
}
function panBy(frac) { var w = view.t1 - view.t0; view.t0 += w * frac; view.t1 += w * frac; clampView(); draw(); }
function fitAll() { view.t0 = 0; view.t1 = Math.max(D.dur, 1); clampView(); draw(); }
function xOf(t) { return (t - view.t0) * W / (view.t1 - view.t0); }
function tOf(x) { return view.t0 + x * (view.t1 - view.t0) / W; }
function resize() {
	var wrap = $("canvaswrap"), sc = $("scroller");
	W = Math.max(100, wrap.clientWidth); H = Math.max(50, sc.clientHeight);
	[[canvas, W, H], [axis, W, 22], [mini, W, 34]].forEach(function (c) {
		c[0].width = c[1] * DPR; c[0].height = c[2] * DPR; c[0].style.width = c[1] + "px"; c[0].style.height = c[2] + "px";
	});
	$("canvaswrap").style.height = totalH + "px";
	draw();
}
// first index i with maxEnd[i] > t
function lowerEnd(L, t) { var lo = 0, hi = L.n; while (lo < hi) { var m = (lo + hi) >> 1; if (L.maxEnd[m] > t) hi = m; else lo = m + 1; } return lo; }
function upper(arr, n, t) { var lo = 0, hi = n; while (lo < hi) { var m = (lo + hi) >> 1; if (arr[m] <= t) lo = m + 1; else hi = m; } return lo; }
var hues = [];
function hue(i) { return hues[i] || (hues[i] = "hsl(" + ((i * 137.508) % 360).toFixed(0) + ",55%,58%)"); }

// Draws slices of L (st, en, maxEnd, n) at y..y+h with level of detail: keyOf(i) is a small
// integer (state code, thread index), colorOf(key) its colour.
var accK = new Int32Array(MERGE + 1), accW = new Float64Array(MERGE + 1);
function drawSlices(L, y, h, keyOf, colorOf) {
	var t0 = view.t0, t1 = view.t1, k = W / (t1 - t0), i = lowerEnd(L, t0);
	while (i < L.n && L.st[i] < t1) {
		var xs = (L.st[i] - t0) * k, xe = (L.en[i] - t0) * k;
		if (xe - xs >= 1) {
			ctx.fillStyle = colorOf(keyOf(i));
			var a = Math.max(xs, -1), b = Math.min(xe, W + 1);
			ctx.fillRect(a, y, Math.max(b - a - (b - a > 3 ? 0.5 : 0), 0.5), h);
			i++; continue;
		}
		// sub-pixel: the key covering most of this pixel column wins
		var px = Math.floor(xs), pa = tOf(px), pb = tOf(px + 1), nk = 0, best = 0, seen = 0;
		while (i < L.n && L.st[i] < pb && seen < MERGE) {
			var key = keyOf(i), wdt = Math.min(L.en[i], pb) - Math.max(L.st[i], pa), j = 0;
			while (j < nk && accK[j] !== key) j++;
			if (j === nk) { accK[nk] = key; accW[nk++] = 0; }
			accW[j] += wdt;
			if (accW[j] > accW[best]) best = j;
			if (L.en[i] > pb) break; // continues past this pixel: drawn below
			i++; seen++;
		}
		ctx.fillStyle = colorOf(accK[best]); ctx.fillRect(px, y, 1, h);
		if (i < L.n && L.st[i] < pb && L.en[i] > pb) {
			ctx.fillStyle = colorOf(keyOf(i)); ctx.fillRect(px + 1, y, Math.min((L.en[i] - t0) * k, W + 1) - px - 1, h); i++;
		} else if (seen >= MERGE) i = Math.max(i, lowerEnd(L, pb));
	}
}
function drawSamples(th, y) {
	var t0 = view.t0, k = W / (view.t1 - t0), n = th.smT.length, i = upper(th.smT, n, t0);
	ctx.fillStyle = "rgba(10,40,15,.75)";
	while (i < n && th.smT[i] < view.t1) {
		var x = Math.floor((th.smT[i] - t0) * k);
		ctx.fillRect(x, y, 1, 4);
		i = Math.max(i + 1, upper(th.smT, n, tOf(x + 2)));
	}
}
function drawCounter(y, h) {
	var C = counter, k = W / (view.t1 - view.t0), scale = (h - 3) / C.max;
	for (var px = 0; px < W; px++) {
		var ta = tOf(px), tb = tOf(px + 1), i = upper(C.T, C.n, ta) - 1, r = 0, q = 0, s = 0;
		if (i >= 0) { r = C.R[i]; q = C.Q[i]; }
		for (var j = i + 1; j < C.n && C.T[j] < tb && s < MERGE; j++, s++) { r = Math.max(r, C.R[j]); q = Math.max(q, C.Q[j]); }
		if (r) { ctx.fillStyle = STATE_COLORS[RUN]; ctx.fillRect(px, y + h - r * scale, 1, r * scale); }
		if (q) { ctx.fillStyle = STATE_COLORS[RUNNABLE]; ctx.fillRect(px, y + h - (r + q) * scale, 1, q * scale); }
	}
	ctx.fillStyle = "#667"; ctx.font = "10px sans-serif"; ctx.fillText("max " + C.max, 3, y + 10);
	void k;
}
function drawAxis() {
	actx.setTransform(DPR, 0, 0, DPR, 0, 0); actx.clearRect(0, 0, W, 22);
	var w = view.t1 - view.t0, step = Math.pow(10, Math.floor(Math.log10(w / 8)));
	if (w / step > 16) step *= 5; else if (w / step > 8) step *= 2;
	actx.fillStyle = "#445"; actx.strokeStyle = "#aab"; actx.font = "10px sans-serif";
	for (var t = Math.ceil(view.t0 / step) * step; t < view.t1; t += step) {
		var x = Math.round(xOf(t)) + 0.5;
		actx.beginPath(); actx.moveTo(x, 14); actx.lineTo(x, 22); actx.stroke();
		actx.fillText(fmtDur(t), x + 2, 11);
	}
	$("corner").textContent = "view " + fmtDur(w) + " · " + fmtDur(step) + "/tick";
}
var miniCache = null;
function drawMinimap() {
	mctx.setTransform(DPR, 0, 0, DPR, 0, 0);
	if (!miniCache || miniCache.w !== W) {
		var vals = new Float64Array(W), C = counter, dur = Math.max(D.dur, 1);
		for (var px = 0; px < W; px++) {
			var ta = px * dur / W, tb = (px + 1) * dur / W, i = Math.max(upper(C.T, C.n, ta) - 1, 0), m = 0;
			for (var j = i; j < C.n && C.T[j] < tb && j < i + 64; j++) m = Math.max(m, C.R[j] + C.Q[j]);
			if (i < C.n) m = Math.max(m, C.R[i] + C.Q[i]);
			vals[px] = m;
		}
		miniCache = { w: W, vals: vals };
	}
	mctx.clearRect(0, 0, W, 34); mctx.fillStyle = "#f3f5f9"; mctx.fillRect(0, 0, W, 34);
	mctx.fillStyle = "#7fb48a";
	for (px = 0; px < W; px++) { var v = miniCache.vals[px] / counter.max * 30; mctx.fillRect(px, 33 - v, 1, v); }
	var dur2 = Math.max(D.dur, 1), a = view.t0 / dur2 * W, b = view.t1 / dur2 * W;
	mctx.fillStyle = "rgba(32,38,58,.18)"; mctx.fillRect(0, 0, Math.max(a, 0), 34); mctx.fillRect(b, 0, W - b, 34);
	mctx.strokeStyle = "#20263a"; mctx.strokeRect(Math.max(a, 0) + 0.5, 0.5, Math.max(b - a - 1, 1), 33);
}
var drawn = false, firstPaint = 0;
function draw() {
	var sc = $("scroller"), top = sc.scrollTop;
	ctx.setTransform(DPR, 0, 0, DPR, 0, 0);
	ctx.clearRect(0, 0, W, H);
	lanes.forEach(function (L) {
		var y = L.y - top;
		if (y + L.h < 0 || y > H) return;
		if (L.kind === "sect") { ctx.fillStyle = "#eef1f7"; ctx.fillRect(0, y, W, L.h); return; }
		var pad = 2, h = (L.kind === "thread" ? LANE_H : L.h) - 2 * pad;
		if (L.kind === "counter") { drawCounter(y + pad, h); return; }
		ctx.fillStyle = "#fafbfc"; ctx.fillRect(0, y, W, L.h);
		if (L.kind === "cpu") { drawSlices(L.src, y + pad, h, function (i) { return L.src.ti[i]; }, hue); return; }
		var src = L.src;
		var b0 = xOf(L.kind === "thread" ? src.begin : 0);
		if (L.kind === "thread" && b0 > 0) { ctx.fillStyle = "#eceef2"; ctx.fillRect(0, y, Math.min(b0, W), L.h); }
		drawSlices(src, y + pad, h, function (i) { return src.code[i]; }, codeColor);
		if (L.kind === "thread") { drawSamples(src, y + pad); drawAnn(L, y); }
		if (sel && sel.th === L.th) { ctx.strokeStyle = "#000"; ctx.lineWidth = 1.5; var xs = xOf(src.st[sel.i]), xe = xOf(src.en[sel.i]); ctx.strokeRect(xs, y + 1, Math.max(xe - xs, 2), LANE_H - 2); ctx.lineWidth = 1; }
	});
	drawTaskLinks(top); drawArrow(top);
	if (range) { var a = xOf(range.a), b = xOf(range.b); ctx.fillStyle = "rgba(40,90,200,.13)"; ctx.fillRect(a, 0, b - a, H); ctx.strokeStyle = "rgba(40,90,200,.8)"; ctx.strokeRect(a + 0.5, 0, b - a, H); }
	drawAxis(); drawMinimap();
	if (!drawn) { drawn = true; firstPaint = performance.now(); mark("paint"); }
}
function laneOfThread(ti) { for (var k = 0; k < lanes.length; k++) if (lanes[k].th && lanes[k].th.i === ti) return lanes[k]; return null; }
function drawArrow(top) {
	if (!sel || !sel.wake) return;
	var from = laneOfThread(sel.wake.ti), to = laneOfThread(sel.th.i);
	if (!from || !to) return;
	var x1 = xOf(sel.wake.at), y1 = from.y - top + from.h / 2, x2 = xOf(sel.th.en[sel.i]), y2 = to.y - top + to.h / 2;
	ctx.strokeStyle = "#c0392b"; ctx.fillStyle = "#c0392b"; ctx.lineWidth = 2;
	ctx.beginPath(); ctx.moveTo(x1, y1); ctx.bezierCurveTo(x1 + 30, y1, x2 - 30, y2, x2, y2); ctx.stroke();
	var dir = y2 > y1 ? 1 : -1;
	ctx.beginPath(); ctx.moveTo(x2, y2); ctx.lineTo(x2 - 8, y2 - 4 * dir); ctx.lineTo(x2 - 8, y2 + 4 * dir); ctx.fill();
	ctx.beginPath(); ctx.arc(x1, y1, 3, 0, 7); ctx.fill(); ctx.lineWidth = 1;
}

// ---- hit testing, tooltip, details -----------------------------------------------------
function laneAt(y) { var yy = y + $("scroller").scrollTop; for (var k = 0; k < lanes.length; k++) if (yy >= lanes[k].y && yy < lanes[k].y + lanes[k].h) return lanes[k]; return null; }
function sliceAt(L, x) {
	if (!L || !L.src || L.kind === "counter") return -1;
	var S = L.src, t = tOf(x), tol = 2 * (view.t1 - view.t0) / W, i = lowerEnd(S, t - tol), best = -1, bd = Infinity;
	for (; i < S.n && S.st[i] <= t + tol; i++) {
		var d = t < S.st[i] ? S.st[i] - t : t > S.en[i] ? t - S.en[i] : 0;
		if (d < bd) { bd = d; best = i; }
		if (d === 0) break;
	}
	return best;
}
function stackHtml(st) {
	var s = stackOf(st);
	if (!s) return "<p class='hint'>no stack recorded</p>";
	return "<table>" + s.slice(0, 48).map(function (l) {
		var L = locs[l], f = D.files[L.file] || "";
		return "<tr><td class='fr'>" + esc(D.fns[L.fn]) + (f ? " <span class='loc'>" + esc(f.replace(/.*\//, "")) + (L.line ? ":" + L.line : "") + "</span>" : "") + "</td></tr>";
	}).join("") + "</table>";
}
function esc(s) { return String(s).replace(/[&<>"]/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]; }); }
function thName(ti) { var t = threads[ti]; return t ? t.name + " (" + t.tid + ")" : "?"; }
function tipText(L, i) {
	if (L.kind === "cpu") { var S = L.src; return L.label + ": " + thName(S.ti[i]) + "\nstart " + fmtDur(S.st[i]) + "\nduration " + fmtDur(S.en[i] - S.st[i]); }
	var s = L.src, c = s.code[i], t = codeName(c);
	if (L.kind === "thread") {
		if (c === RUN) t += " on CPU " + s.a[i];
		if (c >= WAIT) t += "\nat " + leafFn(s.a[i]);
		if (s.wake && s.wake[i]) t += "\nunblocked by " + thName(s.wake[i].ti);
	}
	return L.label + "\n" + t + "\nstart " + fmtDur(s.st[i]) + "\nduration " + fmtDur(s.en[i] - s.st[i]);
}
function topFns(list, n) {
	var m = {}; list.forEach(function (e) { m[e[0]] = (m[e[0]] || 0) + e[1]; });
	return Object.keys(m).map(function (k) { return [k, m[k]]; }).sort(function (a, b) { return b[1] - a[1]; }).slice(0, n);
}
function select(L, i) {
	if (L.kind === "group") { L.g.open = true; buildLanes(); resize(); return; }
	if (L.kind === "cpu") { var ti = L.src.ti[i], th = threads[ti]; var k = lowerEnd(th, L.src.st[i]); L = laneOfThread(ti) || threadLane(th); i = Math.min(k, th.n - 1); }
	var s = L.src, c = s.code[i], out = "<h2>" + esc(L.label) + " <span class='loc'>tid " + s.tid + "</span></h2><table>" +
		"<tr><td>state</td><td>" + esc(codeName(c)) + "</td></tr><tr><td>start</td><td>" + fmtDur(s.st[i]) + "</td></tr>" +
		"<tr><td>duration</td><td>" + fmtDur(s.en[i] - s.st[i]) + "</td></tr>";
	if (c === RUN) out += "<tr><td>CPU</td><td>" + s.a[i] + "</td></tr>";
	if (c >= WAIT) out += "<tr><td>object</td><td>" + (s.b[i] ? D.objs[s.b[i] - 1] : "unknown") + "</td></tr>";
	out += "</table>";
	sel = { th: s, i: i, wake: s.wake[i] || null };
	if (c >= WAIT) {
		out += "<h3>Wait stack (where the wait began)</h3>" + stackHtml(s.a[i]);
		var w = s.wake[i];
		if (w) out += "<h3>Unblocked by " + esc(thName(w.ti)) + " at " + fmtDur(w.at) + "</h3>" + stackHtml(w.stack);
		else out += "<p class='hint'>No unblock edge recorded for this wait.</p>";
	} else if (c === RUN || c === ONCPU) {
		var a = upper(s.smT, s.smT.length, s.st[i] - 1), list = [];
		for (; a < s.smT.length && s.smT[a] < s.en[i]; a++) list.push([leafFn(s.smS[a]), 1]);
		out += "<h3>CPU samples in this slice: " + list.length + "</h3><table>" + topFns(list, 10).map(function (r) { return "<tr><td class='fr'>" + esc(r[0]) + "</td><td class='n'>" + r[1] + "</td></tr>"; }).join("") + "</table>";
	} else if (c === RUNNABLE) {
		var p = upper(s.smT, s.smT.length, s.st[i]) - 1;
		out += "<h3>Preempted at (latest CPU sample)</h3>" + (p >= 0 ? stackHtml(s.smS[p]) : "<p class='hint'>no sample before it</p>");
	}
	$("details").innerHTML = out; draw();
}
function rangeStats(a, b) {
	var rows = [], waits = [], fns = [], tot = {};
	threads.forEach(function (th) {
		if (th.end < a || th.begin > b) return;
		var per = {}, any = false;
		for (var i = lowerEnd(th, a); i < th.n && th.st[i] < b; i++) {
			var d = Math.min(th.en[i], b) - Math.max(th.st[i], a); if (d <= 0) continue;
			var c = th.code[i], key = c >= WAIT ? "waiting" : codeName(c);
			per[key] = (per[key] || 0) + d; tot[key] = (tot[key] || 0) + d; any = true;
			if (c >= WAIT) waits.push([D.reasons[c - WAIT] + " \u2190 " + leafFn(th.a[i]), d]);
		}
		for (var j = upper(th.smT, th.smT.length, a); j < th.smT.length && th.smT[j] < b; j++) fns.push([leafFn(th.smS[j]), 1]);
		if (any) rows.push([th, per]);
	});
	return { rows: rows, waits: topFns(waits, 10), fns: topFns(fns, 10), tot: tot };
}
function showRange() {
	var r = rangeStats(range.a, range.b), cols = D.merged ? ["running or runnable", "waiting"] : ["running", "runnable", "waiting"];
	var out = "<h2>Range " + fmtDur(range.a) + " \u2013 " + fmtDur(range.b) + " (" + fmtDur(range.b - range.a) + ")</h2>";
	out += "<h3>Time per state per thread</h3><table><tr><th>thread</th>" + cols.map(function (c) { return "<th>" + c + "</th>"; }).join("") + "</tr>";
	out += "<tr><td><b>all</b></td>" + cols.map(function (c) { return "<td class='n'><b>" + fmtDur(r.tot[c] || 0) + "</b></td>"; }).join("") + "</tr>";
	r.rows.slice(0, 200).forEach(function (x) { out += "<tr><td>" + esc(x[0].name) + " <span class='loc'>" + x[0].tid + "</span></td>" + cols.map(function (c) { return "<td class='n'>" + fmtDur(x[1][c] || 0) + "</td>"; }).join("") + "</tr>"; });
	out += "</table><h3>Top wait sites</h3><table>" + r.waits.map(function (w) { return "<tr><td class='fr'>" + esc(w[0]) + "</td><td class='n'>" + fmtDur(w[1]) + "</td></tr>"; }).join("") + "</table>";
	out += "<h3>Top CPU functions (samples)</h3><table>" + r.fns.map(function (w) { return "<tr><td class='fr'>" + esc(w[0]) + "</td><td class='n'>" + w[1] + "</td></tr>"; }).join("") + "</table>";
	$("details").innerHTML = out; draw();
}

// ---- input ---------------------------------------------------------------------------
var drag = null, tip = $("tip");
function pos(e) { var r = canvas.getBoundingClientRect(); return { x: e.clientX - r.left, y: e.clientY - r.top }; }
canvas.addEventListener("wheel", function (e) { e.preventDefault(); var p = pos(e); zoomBy(e.deltaY < 0 ? 1.25 : 0.8, p.x); }, { passive: false });
canvas.addEventListener("mousedown", function (e) { var p = pos(e); drag = { x: p.x, y: p.y, t0: view.t0, t1: view.t1, top: $("scroller").scrollTop, shift: e.shiftKey, moved: false }; canvas.focus(); });
window.addEventListener("mousemove", function (e) {
	var p = pos(e);
	if (drag) {
		if (Math.abs(p.x - drag.x) + Math.abs(p.y - drag.y) > 3) drag.moved = true;
		if (drag.shift) { range = { a: Math.min(tOf(drag.x), tOf(p.x)), b: Math.max(tOf(drag.x), tOf(p.x)) }; draw(); }
		else if (drag.moved) { var dt = (p.x - drag.x) * (drag.t1 - drag.t0) / W; view.t0 = drag.t0 - dt; view.t1 = drag.t1 - dt; clampView(); $("scroller").scrollTop = drag.top - (p.y - drag.y); draw(); }
		return;
	}
	if (e.target !== canvas) { tip.style.display = "none"; return; }
	var L = laneAt(p.y), an = annAt(L, p), i = an ? -1 : sliceAt(L, p.x);
	if (!an && i < 0) { tip.style.display = "none"; return; }
	tip.textContent = an ? annTip(an) : tipText(L, i); tip.style.display = "block";
	tip.style.left = Math.min(e.clientX + 14, window.innerWidth - 300) + "px"; tip.style.top = (e.clientY + 14) + "px";
});
window.addEventListener("mouseup", function (e) {
	if (!drag) return;
	var d = drag, p = pos(e); drag = null;
	if (d.shift && d.moved && range) { showRange(); return; }
	if (!d.moved) { var L = laneAt(p.y), an = annAt(L, p), i = an ? -1 : sliceAt(L, p.x); annSel = null; if (an) annSelect(an); else if (i >= 0) select(L, i); }
});
document.addEventListener("keydown", function (e) {
	if (e.target === $("search")) { if (e.key === "Escape") e.target.blur(); return; }
	var k = e.key.toLowerCase();
	if (k === "w") zoomBy(1.5); else if (k === "s") zoomBy(1 / 1.5);
	else if (k === "a") panBy(-0.15); else if (k === "d") panBy(0.15);
	else if (k === "f" || k === "0") fitAll();
	else if (k === "/") { e.preventDefault(); $("search").focus(); }
	else if (k === "escape") { sel = null; range = null; draw(); }
	else return;
	e.preventDefault();
});
$("fit").onclick = fitAll;
$("unhide").onclick = function () { hidden = {}; buildLanes(); resize(); };
$("scroller").addEventListener("scroll", draw);
window.addEventListener("resize", resize);
function miniGo(e) { var r = mini.getBoundingClientRect(), t = (e.clientX - r.left) / W * D.dur, w = view.t1 - view.t0; view.t0 = t - w / 2; view.t1 = t + w / 2; clampView(); draw(); }
var miniDrag = false;
mini.addEventListener("mousedown", function (e) { miniDrag = true; miniGo(e); });
window.addEventListener("mouseup", function () { miniDrag = false; });
mini.addEventListener("mousemove", function (e) { if (miniDrag) miniGo(e); });
function threadMatches(th, q) {
	if (th.name.toLowerCase().indexOf(q) >= 0 || String(th.tid) === q) return true;
	for (var i = 0; i < th.n; i++) if (th.code[i] >= WAIT && leafFnMatches(th.a[i], q)) return true;
	for (i = 0; i < th.smS.length; i++) if (leafFnMatches(th.smS[i], q)) return true;
	return false;
}
var fnMatchCache = {};
function leafFnMatches(st, q) {
	var key = st + "\u0000" + q;
	if (key in fnMatchCache) return fnMatchCache[key];
	var s = stackOf(st), m = false;
	if (s) for (var k = 0; k < s.length && !m; k++) m = fnName(s[k]).toLowerCase().indexOf(q) >= 0;
	return fnMatchCache[key] = m;
}
function search(q) {
	query = q.trim().toLowerCase(); fnMatchCache = {};
	if (!query) matchSet = null;
	else { matchSet = {}; threads.forEach(function (th) { if (threadMatches(th, query)) { matchSet[th.i] = true; if (th.group) th.group.open = true; } }); }
	buildLanes(); resize();
}
$("search").addEventListener("input", function (e) { search(e.target.value); });

// ---- start ---------------------------------------------------------------------------
(function () {
	$("title").textContent = D.title || "ctrace timeline";
	document.title = "ctrace timeline: " + (D.title || "");
	$("info").textContent = threads.length + " threads · " + fmtDur(D.dur) + " · " + D.engine + " engine · pid " + D.pid;
	var w = [];
	if (D.merged) w.push("no context-switch records: running and runnable are merged");
	if (D.truncated) w.push("trace truncated (recording cut)");
	if (D.lost) w.push(D.lost + " events lost");
	$("warn").textContent = w.join(" · ");
	var lg = $("legend"), items = D.merged ? [[ONCPU, "running or runnable"]] : [[RUN, "running"], [RUNNABLE, "runnable"]];
	D.reasons.forEach(function (r, k) { items.push([WAIT + k, "waiting: " + r]); });
	items.forEach(function (it) { var s = document.createElement("span"), i = document.createElement("i"); i.style.background = codeColor(it[0]); s.appendChild(i); s.appendChild(document.createTextNode(it[1])); lg.appendChild(s); });
	var tk = document.createElement("span"); tk.textContent = "\u2758 CPU sample · CPU lanes: one colour per thread · arrow: who unblocked the selected wait"; lg.appendChild(tk);
	buildLanes(); resize();
	setTimeout(function () { buildCpus(); buildCounter(); miniCache = null; buildLanes(); resize(); mark("complete"); }, 0);
	window.ctTimeline = { data: D, threads: threads, lanes: function () { return lanes; }, view: view, zoomBy: zoomBy, panBy: panBy, fitAll: fitAll, search: search, select: select, firstPaint: function () { return firstPaint; } };
	if (location.hash === "#selftest") setTimeout(selftest, 0);
})();

// ---- selftest ------------------------------------------------------------------------
function selftest() {
	var fails = [], el = $("selftest");
	function check(ok, what) { if (!ok) fails.push(what); }
	function mouse(type, x, y, shift) {
		var r = canvas.getBoundingClientRect();
		(type === "mousedown" ? canvas : window).dispatchEvent(new MouseEvent(type, { clientX: r.left + x, clientY: r.top + y, shiftKey: !!shift, bubbles: true }));
	}
	var labels = Array.prototype.map.call(document.querySelectorAll("#labels .lane[data-tid]"), function (d) { return d.textContent; }).join("\n");
	threads.forEach(function (th) { if (!th.group) check(labels.indexOf(th.name) >= 0 && labels.indexOf(String(th.tid)) >= 0, "no lane label for " + th.name); });
	var w0 = view.t1 - view.t0; zoomBy(4); check(Math.abs((view.t1 - view.t0) * 4 - w0) < w0 * 1e-6, "zoom");
	var s0 = view.t0; document.dispatchEvent(new KeyboardEvent("keydown", { key: "d" })); check(view.t0 > s0, "pan (D)");
	var s1 = view.t0; mouse("mousedown", 300, 5); mouse("mousemove", 200, 5); mouse("mouseup", 200, 5); check(view.t0 > s1, "pan (drag)");
	// a waiting slice with a waker: centre it, click it, the details name its stack and waker
	var target = null;
	threads.forEach(function (th) { if (target || th.group) return; for (var i = 0; i < th.n; i++) if (th.code[i] >= WAIT && th.wake[i] && th.a[i]) { target = { th: th, i: i }; break; } });
	check(target, "no waiting slice with a waker");
	if (target) {
		var th = target.th, i = target.i, d = th.en[i] - th.st[i];
		view.t0 = th.st[i] - d; view.t1 = th.en[i] + d; draw();
		var L = laneOfThread(th.i); $("scroller").scrollTop = Math.max(0, L.y - 40); draw();
		var y = L.y - $("scroller").scrollTop + L.h / 2, x = xOf((th.st[i] + th.en[i]) / 2);
		mouse("mousedown", x, y); mouse("mouseup", x, y);
		var det = $("details").textContent;
		check(det.indexOf("Wait stack") >= 0 && det.indexOf(leafFn(th.a[i])) >= 0, "details lack the wait stack");
		check(det.indexOf("Unblocked by " + threads[th.wake[i].ti].name) >= 0, "details lack the waker");
		check(sel && sel.wake, "no arrow selection");
	}
	fitAll();
	mouse("mousedown", W * 0.2, 30, true); mouse("mousemove", W * 0.6, 60, true); mouse("mouseup", W * 0.6, 60, true);
	var rd = $("details").textContent;
	check(range && rd.indexOf("Time per state per thread") >= 0 && rd.indexOf("Top wait sites") >= 0 && rd.indexOf("Top CPU functions") >= 0, "range aggregates");
	check(document.querySelectorAll("#details td.n").length > 3, "range table is empty");
	annSelftest(check, mouse);
	var res = performance.getEntriesByType("resource");
	check(res.length === 0, "network requests: " + res.map(function (r) { return r.name; }).join(" "));
	check(errors.length === 0, "errors: " + errors.join("; "));
	range = null; fitAll();
	if (target) { // leave the clicked wait and its waker's arrow on screen
		var th2 = target.th, d2 = th2.en[target.i] - th2.st[target.i];
		view.t0 = th2.st[target.i] - 6 * d2; view.t1 = th2.en[target.i] + 6 * d2; clampView();
		$("scroller").scrollTop = 0; select(laneOfThread(th2.i), target.i);
	}
	var msg = "selftest: " + (fails.length ? "FAIL " + fails.join("; ") : "PASS") + " (first paint " + firstPaint.toFixed(0) + " ms, decode+build " + (firstPaint - T0).toFixed(0) + " ms, " + threads.length + " threads, " + lanes.length + " lanes; ms: " + marks.join(", ") + ")";
	el.hidden = false; el.textContent = msg; document.title = msg;
}
