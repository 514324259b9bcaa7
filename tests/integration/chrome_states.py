#!/usr/bin/env python3
"""chrome_states.py STATES.json PLAIN.json

Checks a `ctrace report --chrome-states` export against the `--chrome` export of the same
trace:
- both parse; the states export holds the same traceEvents (the X slices, flows, samples);
- its systemTraceEvents string is ftrace text that Perfetto's systrace tokenizer accepts (the
  same line pattern), with only sched_switch and sched_wakeup events whose fields parse as
  Perfetto's sched_switch parser reads them (key=value split on spaces);
- each CPU's switches chain: a switch's prev_pid is the previous switch's next_pid on that
  CPU (0, the idle task, at first), and time never goes backwards;
- each thread's running time rebuilt from the switches equals its running X slices' total
  (1 us of rounding per slice), and every thread that ran is in the text;
- one sched_wakeup per unblock flow.
Prints one line per check and exits 1 on the first failure.
"""
import json
import re
import sys
from collections import defaultdict

# Perfetto's SystraceLineTokenizer pattern (src/trace_processor/importers/systrace).
LINE = re.compile(r"-(\d+)\s+\(?\s*(\d+|-+)?\)?\s?\[(\d+)\]\s*"
                  r"[a-zA-Z0-9.]{0,4}\s+(\d+\.\d+):\s+(\S+):")


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def fields(rest):
    out = {}
    for tok in rest.split(" "):
        if "=" in tok:
            k, v = tok.split("=", 1)
            out[k] = v
    return out


def main():
    states = json.load(open(sys.argv[1]))
    plain = json.load(open(sys.argv[2]))
    if states["traceEvents"] != plain["traceEvents"]:
        fail("--chrome-states' traceEvents differ from --chrome's")
    if "systemTraceEvents" in plain:
        fail("--chrome has systemTraceEvents")
    text = states.get("systemTraceEvents")
    if not isinstance(text, str) or not text.startswith("# tracer: nop\n"):
        fail("systemTraceEvents is not ftrace text")
    print("ok: same traceEvents as --chrome, plus systemTraceEvents text")

    cur = defaultdict(int)        # cpu -> tid running (0 idle)
    since = {}                    # cpu -> time the current one got it
    last_t = defaultdict(float)
    ran = defaultdict(float)      # tid -> seconds running per the switches
    wakeups = switches = 0
    for n, line in enumerate(text.split("\n")):
        if not line or line.startswith("#"):
            continue
        m = LINE.search(line)
        if not m:
            fail("line %d does not match Perfetto's systrace pattern: %r" % (n, line))
        cpu, t, event = int(m.group(3)), float(m.group(4)), m.group(5)
        f = fields(line[m.end():].strip())
        if event == "sched_wakeup":
            int(f["pid"])
            wakeups += 1
            continue
        if event != "sched_switch":
            fail("unexpected event %s in line %d" % (event, n))
        switches += 1
        try:
            prev, nxt = int(f["prev_pid"]), int(f["next_pid"])
            int(f["prev_prio"]), int(f["next_prio"])
        except (KeyError, ValueError):
            fail("sched_switch fields do not parse in line %d: %r" % (n, line))
        if f["prev_state"] not in ("R", "R+", "S", "X"):
            fail("prev_state %r in line %d" % (f["prev_state"], n))
        if int(m.group(1)) != prev:
            fail("line %d: the line's task %s is not prev_pid %d" % (n, m.group(1), prev))
        if prev != cur[cpu]:
            fail("cpu %d at %.6f: switch from %d, but %d was running" % (cpu, t, prev, cur[cpu]))
        if t < last_t[cpu]:
            fail("cpu %d: time goes back at line %d" % (cpu, n))
        if prev:
            ran[prev] += t - since[cpu]
        cur[cpu], since[cpu], last_t[cpu] = nxt, t, t
    end = max([e["ts"] + e.get("dur", 0) for e in plain["traceEvents"] if "ts" in e] + [0]) / 1e6
    for cpu, tid in cur.items():
        if tid:
            ran[tid] += end - since[cpu]
    print("ok: %d switches chain on every CPU, %d wake-ups" % (switches, wakeups))

    x_run = defaultdict(float)
    slices = defaultdict(int)
    flows = 0
    for e in plain["traceEvents"]:
        if e.get("ph") == "X" and e.get("name") == "running":
            x_run[e["tid"]] += e["dur"] / 1e6
            slices[e["tid"]] += 1
        flows += e.get("ph") == "s"
    for tid, secs in x_run.items():
        if abs(ran.get(tid, 0) - secs) > 2e-6 * slices[tid] + 1e-6:
            fail("tid %d: %.6f s running per the switches, %.6f s per the X slices"
                 % (tid, ran.get(tid, 0), secs))
    if flows != wakeups:
        fail("%d unblock flows but %d sched_wakeup lines" % (flows, wakeups))
    print("ok: every thread's running time (%d threads) and wake-ups match the X slices"
          % len(x_run))


main()
