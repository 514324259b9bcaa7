#!/usr/bin/env python3
"""trace_states.py CHROME.json PROGRAM.out [--merged]

Checks a `ctrace report --chrome` export of samples/thread_states against the program's own
clock_gettime measurements (its "ts: name=... tid=... cpu_ns=... wall_ns=... wait=...
wait_ns=..." lines):
- the JSON parses and every thread's X events are in order and never overlap;
- every thread of the program has its name (an odd one: the quote survives the JSON
  round trip, the control character too or as the '?' every export puts for one);
- spinners (wait=none; not with --merged): running within 10% of their CPU time,
  runnable within 20% of wall - CPU;
- every wait the program timed (mutex, cond, sleep, join, net; io when the trace has io
  waits): the waiting time of that reason within 10% of the measured wait, with the
  function that waited on one of those waits' stacks.
Prints one line per check and exits 1 on the first failure.
"""
import json
import sys

EXPECT_FN = {"mutex": "waiter", "cond": "waiter", "sleep": "sleep_ms", "join": "waiter",
             "net": "waiter", "io": "waiter"}


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def near(value, target, frac):
    return abs(value - target) <= frac * target


def main():
    chrome, progout = sys.argv[1], sys.argv[2]
    merged = "--merged" in sys.argv[3:]
    with open(chrome, encoding="utf-8") as f:
        doc = json.load(f)
    names, spans = {}, {}
    for e in doc["traceEvents"]:
        if e["ph"] == "M" and e["name"] == "thread_name":
            names[e["tid"]] = e["args"]["name"]
        elif e["ph"] == "X":
            spans.setdefault(e["tid"], []).append(e)
    for tid, evs in spans.items():
        end = None
        for e in evs:
            if end is not None and e["ts"] < end - 0.002:
                fail("thread %d: X event at %.3f overlaps the previous one (ends %.3f)" %
                     (tid, e["ts"], end))
            end = e["ts"] + e["dur"]
    print("ok: valid JSON, %d threads, X events in order without overlap" % len(spans))

    lines = [dict(kv.split("=", 1) for kv in l.split()[1:])
             for l in open(progout) if l.startswith("ts: name=")]
    if not lines:
        fail("no measurements in " + progout)
    reasons_seen = {e["args"].get("reason") for evs in spans.values() for e in evs
                    if e["name"] == "waiting"}
    for m in lines:
        tid, name = int(m["tid"]), m["name"]
        got = names.get(tid)
        if name == "odd":
            if not got or '"' not in got or not ("\x01" in got or "?" in got):
                fail("thread %d: odd name came out as %r" % (tid, got))
        elif got != name:
            fail("thread %d: named %r in the trace, %r by the program" % (tid, got, name))
        evs = spans.get(tid, [])
        state = {}
        for e in evs:
            key = e["name"] if e["name"] != "waiting" else "waiting:" + e["args"]["reason"]
            state[key] = state.get(key, 0) + e["dur"] * 1000
        cpu, wall, wait, wait_ns = (int(m["cpu_ns"]), int(m["wall_ns"]), m["wait"],
                                    int(m["wait_ns"]))
        if wait == "none" and not merged:
            run, rnb = state.get("running", 0), state.get("runnable", 0)
            if not near(run, cpu, 0.10):
                fail("%s: running %.1f ms, CPU time %.1f ms" % (name, run / 1e6, cpu / 1e6))
            if not near(rnb, wall - cpu, 0.20):
                fail("%s: runnable %.1f ms, wall - CPU %.1f ms" %
                     (name, rnb / 1e6, (wall - cpu) / 1e6))
            print("ok: %s: running %.1f ms (CPU %.1f), runnable %.1f ms (wall-CPU %.1f)" %
                  (name, run / 1e6, cpu / 1e6, rnb / 1e6, (wall - cpu) / 1e6))
        elif wait in EXPECT_FN and (wait != "io" or "io" in reasons_seen):
            w = state.get("waiting:" + wait, 0)
            if not near(w, wait_ns, 0.10):
                fail("%s: %s waiting %.1f ms, measured %.1f ms" %
                     (name, wait, w / 1e6, wait_ns / 1e6))
            stacks = [e["args"].get("stack", []) for e in evs
                      if e["name"] == "waiting" and e["args"]["reason"] == wait]
            if not any(EXPECT_FN[wait] in s for s in stacks):
                fail("%s: no %s wait with %s on its stack: %r" %
                     (name, wait, EXPECT_FN[wait], stacks))
            print("ok: %s: %s %.1f ms (measured %.1f ms), stack has %s" %
                  (name, wait, w / 1e6, wait_ns / 1e6, EXPECT_FN[wait]))


main()
