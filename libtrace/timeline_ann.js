// timeline_ann.js — the program's annotations on the ctrace timeline (libtrace/timeline.c
// appends it to timeline.js: one script, one scope). Regions are nested slices under each
// thread's state band (one row per depth, the outermost first), tasks dashed links from
// each region of a task to its next one on any thread (the band that follows a request
// across threads), logs marks on the top edge of their thread's lane. Hover names them; a
// click on a region shows its time by state and its task's regions. Data: rg, tk, lg, rn
// (format in timeline.c). The page's first paint (at the end of timeline.js) comes before
// this script runs: until then threads have no .reg and everything here draws nothing.
var RH = 12; // one row of regions, in pixels
var annNames = D.rn || [], annSel = null;
var annTasks = (D.tk || []).map(function (a, i) {
	return { i: i, name: annNames[a[0]] || "task", st: a[1], en: a[2], id: a[3], ended: a[4], regs: [] };
});
threads.forEach(function (th) {
	var r = new Reader((D.rg || [])[th.i] || ""), t = 0;
	var R = { st: [], en: [], d: [], nm: [], tk: [], un: [], maxEnd: [], depth: 0, n: 0 };
	while (r.more()) {
		t += r.num();
		var d = r.num(), dep = r.num(), nm = r.num(), tk = r.num(), un = r.num(), k = R.n++;
		R.st.push(t); R.en.push(t + d); R.d.push(dep); R.nm.push(nm); R.tk.push(tk); R.un.push(un);
		R.maxEnd.push(Math.max(t + d, k ? R.maxEnd[k - 1] : 0));
		if (dep > R.depth) R.depth = dep;
		if (tk && annTasks[tk - 1]) annTasks[tk - 1].regs.push([th.i, k]);
	}
	th.reg = R; th.logs = [];
});
(D.lg || []).forEach(function (a) { var th = threads[a[0]]; if (th) th.logs.push({ t: a[1], cat: a[2], msg: a[3], tk: a[4] }); });
annTasks.forEach(function (k) { k.regs.sort(function (x, y) { return threads[x[0]].reg.st[x[1]] - threads[y[0]].reg.st[y[1]]; }); });
mark("annotations");

function annH(th) { return th.reg && th.reg.depth ? th.reg.depth * RH + 2 : 0; }
function regionY(R, k) { return LANE_H + (R.d[k] - 1) * RH; }
function drawAnn(L, y) {
	var th = L.th, R = th.reg, t0 = view.t0, t1 = view.t1, k = W / (t1 - t0), last = {};
	if (!R) return; // the first paint comes before this script has run
	ctx.font = "9px sans-serif"; ctx.textBaseline = "middle";
	for (var i = lowerEnd(R, t0); i < R.n && R.st[i] < t1; i++) {
		if (R.en[i] < t0) continue;
		var xs = Math.max((R.st[i] - t0) * k, -1), xe = Math.min((R.en[i] - t0) * k, W + 1), ry = y + regionY(R, i);
		if (xe - xs < 1 && last[R.d[i]] === Math.floor(xs)) continue; // one mark per pixel and row
		last[R.d[i]] = Math.floor(xs);
		ctx.fillStyle = hue(R.nm[i] + 7); ctx.fillRect(xs, ry, Math.max(xe - xs, 1), RH - 1);
		if (annSel && annSel.kind === "region" && annSel.th === th && annSel.k === i) { ctx.strokeStyle = "#000"; ctx.strokeRect(xs + 0.5, ry + 0.5, Math.max(xe - xs - 1, 1), RH - 2); }
		if (xe - xs > 30) {
			ctx.save(); ctx.beginPath(); ctx.rect(xs, ry, xe - xs, RH); ctx.clip();
			ctx.fillStyle = "#fff"; ctx.fillText(annNames[R.nm[i]] + (R.un[i] ? " …" : ""), Math.max(xs, 0) + 3, ry + RH / 2);
			ctx.restore();
		}
	}
	ctx.fillStyle = "#1d2333";
	th.logs.forEach(function (g) {
		if (g.t < t0 || g.t > t1) return;
		var x = (g.t - t0) * k;
		ctx.beginPath(); ctx.moveTo(x - 3.5, y); ctx.lineTo(x + 3.5, y); ctx.lineTo(x, y + 6); ctx.fill();
	});
}
function drawTaskLinks(top) {
	if (!annTasks || !annTasks.length) return;
	var laneOf = {}, n = 0;
	lanes.forEach(function (L) { if (L.kind === "thread") laneOf[L.th.i] = L; });
	ctx.setLineDash([4, 3]); ctx.lineWidth = 1.5;
	annTasks.forEach(function (tk) {
		if (tk.regs.length < 2 || tk.en < view.t0 || tk.st > view.t1 || n > 5000) return;
		var hot = annSel && annSel.task === tk;
		ctx.strokeStyle = hot ? "#c0392b" : hue(tk.i * 3 + 1); ctx.lineWidth = hot ? 2.5 : 1.5;
		for (var j = 0; j + 1 < tk.regs.length; j++) {
			var a = tk.regs[j], b = tk.regs[j + 1], La = laneOf[a[0]], Lb = laneOf[b[0]];
			if (a[0] === b[0] || !La || !Lb) continue;
			var Ra = threads[a[0]].reg, Rb = threads[b[0]].reg;
			var x1 = xOf(Ra.en[a[1]]), y1 = La.y - top + regionY(Ra, a[1]) + RH / 2;
			var x2 = xOf(Rb.st[b[1]]), y2 = Lb.y - top + regionY(Rb, b[1]) + RH / 2;
			ctx.beginPath(); ctx.moveTo(x1, y1); ctx.bezierCurveTo(x1 + 20, y1, x2 - 20, y2, x2, y2); ctx.stroke(); n++;
		}
	});
	ctx.setLineDash([]); ctx.lineWidth = 1;
}

// ---- hover and click -------------------------------------------------------------------
function annAt(L, p) {
	if (!L || L.kind !== "thread" || !L.th.reg) return null;
	var th = L.th, R = th.reg, yoff = p.y + $("scroller").scrollTop - L.y, t = tOf(p.x), tol = 3 * (view.t1 - view.t0) / W;
	if (yoff < 7) for (var g = 0; g < th.logs.length; g++) if (Math.abs(th.logs[g].t - t) <= tol) return { kind: "log", th: th, log: th.logs[g] };
	if (yoff < LANE_H || !R.n) return null;
	var d = Math.floor((yoff - LANE_H) / RH) + 1, best = -1;
	for (var i = lowerEnd(R, t - tol); i < R.n && R.st[i] <= t + tol; i++)
		if (R.d[i] === d && R.en[i] >= t - tol && (best < 0 || (R.st[i] <= t && R.en[i] >= t))) best = i;
	return best < 0 ? null : { kind: "region", th: th, k: best, task: R.tk[best] ? annTasks[R.tk[best] - 1] : null };
}
function taskLabel(tk) { return tk ? tk.name + " #" + tk.id : ""; }
function annTip(a) {
	if (a.kind === "log") return a.th.name + "\nlog " + a.log.cat + ": " + a.log.msg + "\nat " + fmtDur(a.log.t) + (a.log.tk ? "\ntask " + taskLabel(annTasks[a.log.tk - 1]) : "");
	var R = a.th.reg, k = a.k;
	return "region " + annNames[R.nm[k]] + (R.un[k] ? " (no end recorded)" : "") + "\n" + a.th.name + "\nstart " + fmtDur(R.st[k]) +
		"\nduration " + fmtDur(R.en[k] - R.st[k]) + (a.task ? "\ntask " + taskLabel(a.task) : "");
}
function annSelect(a) {
	sel = null; annSel = a;
	if (a.kind === "log") {
		$("details").innerHTML = "<h2>Log " + esc(a.log.cat) + "</h2><p>" + esc(a.log.msg) + "</p><table><tr><td>thread</td><td>" + esc(a.th.name) + "</td></tr><tr><td>at</td><td>" + fmtDur(a.log.t) + "</td></tr></table>";
		draw(); return;
	}
	var th = a.th, R = th.reg, k = a.k, by = {};
	for (var i = lowerEnd(th, R.st[k]); i < th.n && th.st[i] < R.en[k]; i++) {
		var c = codeName(th.code[i]);
		by[c] = (by[c] || 0) + Math.min(th.en[i], R.en[k]) - Math.max(th.st[i], R.st[k]);
	}
	var out = "<h2>Region " + esc(annNames[R.nm[k]]) + " <span class='loc'>" + esc(th.name) + " (" + th.tid + ")</span></h2><table>" +
		"<tr><td>start</td><td>" + fmtDur(R.st[k]) + "</td></tr><tr><td>duration</td><td>" + fmtDur(R.en[k] - R.st[k]) + (R.un[k] ? " (no end recorded)" : "") + "</td></tr>" +
		"<tr><td>depth</td><td>" + R.d[k] + "</td></tr>" + (a.task ? "<tr><td>task</td><td>" + esc(taskLabel(a.task)) + "</td></tr>" : "") + "</table>";
	out += "<h3>Time by state inside the region</h3><table>" + Object.keys(by).sort(function (x, y) { return by[y] - by[x]; }).map(function (s) { return "<tr><td>" + esc(s) + "</td><td class='n'>" + fmtDur(by[s]) + "</td></tr>"; }).join("") + "</table>";
	if (a.task) out += "<h3>Regions of task " + esc(taskLabel(a.task)) + "</h3><table>" + a.task.regs.slice(0, 200).map(function (x) {
		var Rx = threads[x[0]].reg; return "<tr><td>" + esc(thName(x[0])) + "</td><td>" + esc(annNames[Rx.nm[x[1]]]) + "</td><td class='n'>" + fmtDur(Rx.st[x[1]]) + "</td><td class='n'>" + fmtDur(Rx.en[x[1]] - Rx.st[x[1]]) + "</td></tr>";
	}).join("") + "</table>";
	$("details").innerHTML = out; draw();
}
// The selftest's part: a click on the first region of a thread shows its details.
function annSelftest(check, mouse) {
	var th = null;
	threads.forEach(function (x) { if (!th && !x.group && x.reg.n) th = x; });
	if (!th) return;
	var R = th.reg, d = Math.max(R.en[0] - R.st[0], 1);
	view.t0 = R.st[0] - d / 4; view.t1 = R.en[0] + d / 4; clampView(); draw();
	var L = laneOfThread(th.i); $("scroller").scrollTop = Math.max(0, L.y - 40); draw();
	var y = L.y - $("scroller").scrollTop + regionY(R, 0) + RH / 2, x = xOf((R.st[0] + R.en[0]) / 2);
	mouse("mousedown", x, y); mouse("mouseup", x, y);
	var det = $("details").textContent;
	check(det.indexOf("Region " + annNames[R.nm[0]]) >= 0 && det.indexOf("Time by state inside the region") >= 0, "click on a region: no region details");
	marks.push("regions " + threads.reduce(function (s, x) { return s + x.reg.n; }, 0));
}
