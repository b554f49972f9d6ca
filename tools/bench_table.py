#!/usr/bin/env python3
"""Prints Google Benchmark JSON results (--benchmark_out_format=json) as a readable table.

    tools/bench_table.py build/bench/bench_core.json [more.json ...]

One table per file: benchmark name, wall time per iteration, CPU time per iteration, iterations,
user counters. Where names differ only in the runtime measured -- a name part `weft`, `fiber` /
`boost_fiber`, or `tbb` / `onetbb`, e.g. `spawn_join/weft` and `spawn_join/fiber` -- a column
"vs weft" gives each one's time as a multiple of weft's (x2.0: twice as slow as weft).
"""
import json
import math
import re
import sys

UNITS_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
PEERS = {"weft": "weft", "fiber": "fiber", "boostfiber": "fiber", "tbb": "tbb", "onetbb": "tbb"}
SPLIT = re.compile(r"([/_:<>,\s.-]+)")


def fmt_time(value, unit):
    if value is None or not math.isfinite(value):
        return "-"
    # Re-scale into the most readable unit (the JSON keeps the benchmark's own).
    ns = value * UNITS_NS.get(unit, 1.0)
    for u, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3), ("ns", 1.0)):
        if ns >= scale or u == "ns":
            v = ns / scale
            return f"{v:.3g} {u}" if v < 1000 else f"{v:.0f} {u}"
    return f"{value} {unit}"


def fmt_count(value):
    if isinstance(value, float) and not value.is_integer():
        v = value
    else:
        v = int(value)
        if v < 10000:
            return str(v)
    for suffix, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(v) >= scale:
            return f"{v / scale:.3g}{suffix}"
    return f"{v:.3g}"


def peer_key(name):
    """(name with the runtime part replaced by '*', runtime) or None if no runtime part.

    "boost_fiber" splits into "boost", "_", "fiber" and is found as "fiber"."""
    parts = SPLIT.split(name)
    for i, part in enumerate(parts):
        peer = PEERS.get(part.lower())
        if peer:
            key = "".join(parts[:i] + ["*"] + parts[i + 1:])
            return key, peer
    return None


def time_ns(b):
    t = b.get("real_time")
    if t is None:
        return None
    return t * UNITS_NS.get(b.get("time_unit", "ns"), 1.0)


def table(path):
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        print(f"{path}: cannot read benchmark JSON: {e}")
        return False
    ctx = data.get("context", {})
    benches = data.get("benchmarks", [])
    exe = ctx.get("executable", path)
    print(f"== {exe}")
    bits = []
    if "num_cpus" in ctx:
        bits.append(f"{ctx['num_cpus']} CPUs")
    if ctx.get("mhz_per_cpu"):
        bits.append(f"{ctx['mhz_per_cpu']} MHz")
    if ctx.get("date"):
        bits.append(ctx["date"])
    if bits:
        print("   " + ", ".join(bits))
    if not benches:
        print("   (no benchmarks ran: did --filter match nothing?)")
        print()
        return True

    # Ratios to weft among benchmarks that differ only in the runtime.
    # With repetitions, only the mean and median rows get one.
    def comparable(b):
        if b.get("error_occurred") or not time_ns(b):
            return None
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") not in ("mean", "median"):
                return None
        elif b.get("repetitions", 1) > 1:
            return None
        pk = peer_key(b.get("run_name") or b.get("name", ""))
        return ((pk[0], b.get("aggregate_name", "")), pk[1]) if pk else None

    groups = {}
    for b in benches:
        ck = comparable(b)
        if ck:
            groups.setdefault(ck[0], {})[ck[1]] = time_ns(b)
    ratios = {}
    for i, b in enumerate(benches):
        ck = comparable(b)
        runs = groups.get(ck[0], {}) if ck else {}
        if "weft" in runs and len(runs) > 1:
            ratios[i] = f"x{time_ns(b) / runs['weft']:.2f}"

    std = {"name", "family_index", "per_family_instance_index", "run_name", "run_type",
           "repetitions", "repetition_index", "threads", "iterations", "real_time", "cpu_time",
           "time_unit", "aggregate_name", "aggregate_unit", "error_occurred", "error_message",
           "label"}
    rows = []
    for i, b in enumerate(benches):
        name = b.get("name", "?")
        if b.get("error_occurred"):
            rows.append([name, None, str(b.get("error_message", ""))])
            continue
        unit = b.get("time_unit", "ns")
        extra = []
        for k, v in b.items():
            if k not in std and isinstance(v, (int, float)):
                extra.append(f"{k}={fmt_count(v)}")
        if b.get("label"):
            extra.append(str(b["label"]))
        iters = b.get("iterations")
        if b.get("run_type") == "aggregate" and b.get("aggregate_unit") == "percentage":
            real = f"{b.get('real_time', 0) * 100:.2f} %"
            cpu = f"{b.get('cpu_time', 0) * 100:.2f} %"
        else:
            real = fmt_time(b.get("real_time"), unit)
            cpu = fmt_time(b.get("cpu_time"), unit)
        rows.append([name, real, cpu, "" if iters is None else str(iters),
                     ratios.get(i, ""), " ".join(extra)])

    header = ["Benchmark", "Time", "CPU", "Iterations", "vs weft", "Counters"]
    ok_rows = [r for r in rows if r[1] is not None]
    keep = [i for i in range(len(header)) if i < 4 or any(r[i] for r in ok_rows)]
    header = [header[i] for i in keep]
    widths = [max(len(str(x)) for x in col)
              for col in zip(header, *[[r[i] for i in keep] for r in ok_rows])]
    widths[0] = max([widths[0]] + [len(r[0]) for r in rows])
    right = {"Time", "CPU", "Iterations", "vs weft"}

    def line(cells):
        out = []
        for h, c, w in zip(header, cells, widths):
            out.append(str(c).rjust(w) if h in right else str(c).ljust(w))
        return "  ".join(out).rstrip()

    print(line(header))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        if r[1] is None:  # the benchmark reported an error: no timings
            print(f"{r[0].ljust(widths[0])}  ERROR: {r[2]}")
        else:
            print(line([r[i] for i in keep]))
    print()
    return True


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(argv) >= 2 else 2
    ok = True
    for path in argv[1:]:
        ok = table(path) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
