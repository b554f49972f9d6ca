#!/usr/bin/env python3
"""The comparison run's report: a table, the issue's targets, and a self-contained HTML page.

    tools/bench_report.py [build/bench/results.json] [--html build/bench/report.html]

Reads the rows tools/bench wrote -- {"bench", "runtime", "threads", "value", "unit", "min",
"max"}, value being the median of the repetitions -- and, beside them, unavailable.json (the
runtimes that could not be built, [{"runtime", "why"}]), prints the table (workload x workers,
one column per runtime: median (min-max), "not built" for a runtime that could not be built,
and weft's ratio to the best peer) and each target's PASS / MISS, and writes the HTML report:
the same table plus one bar chart per workload (inline SVG, log scale where the values span
decades; no scripts, nothing fetched), each with a table of where weft's time went: its own
counters (steps, steals, parks, ...) per unit of work.

Every figure is lower-is-better. TARGETS below is the one list of the targets (issue 14, and
issue 12's network ones).
"""
import argparse
import html
import json
import math
import os
import sys

# The workloads in the order they are shown: unit, what they measure.
WORKLOADS = [
    ("skynet", "ms", "10-ary task tree of depth 6: 1M leaves, 1,111,111 tasks, sum checked"),
    ("spawn_join", "ns/task", "one task spawns 1M trivial tasks, then joins them all"),
    ("gather_fanout", "ns/task", "one task gathers 10k tasks, 10 rounds"),
    ("yield_switch", "ns/switch", "two tasks on one worker take turns yielding, 1M times each"),
    ("pingpong", "ns/round trip",
     "two tasks pass a token through the runtime's channel, 100k round trips"),
    ("foreign_submit", "ns/task", "a non-worker thread submits 1M tasks, then waits for all"),
    ("suspended_memory", "bytes/task", "1M tasks suspended on one event: RSS grown per task"),
    ("sleep_timers", "ms", "100k tasks each sleep 10 ms: first spawn to last join (ideal: 10)"),
    ("idle_cpu", "cpu ms/s", "CPU time a started, idle runtime burns, per second of wall time"),
    ("echo_single", "cpu ns/round trip",
     "echo server, 1 loopback connection, 50k round trips of 512 B: server CPU per round trip"),
    ("echo", "cpu ns/round trip",
     "echo server, 50 connections x 2k round trips of 512 B: server CPU per round trip"),
    ("echo_many", "cpu ns/round trip",
     "echo server, 1,000 connections x 100 round trips of 512 B: server CPU per round trip"),
    ("http", "cpu ns/request",
     "HTTP/1.1 keep-alive server, 50 connections x 2k sequential GETs: server CPU per request"),
    ("stream", "cpu ns/message",
     "echo server, 4 connections each streaming 25k messages of 512 B (echo read as it comes): "
     "server CPU per message"),
    ("idle_conns", "cpu ms/s",
     "echo server holding 10,000 idle connections (after one round trip each) for 3 s: server "
     "CPU per second"),
    ("idle_conn_memory", "KiB/connection",
     "the same run: the server's RSS growth per connection (from before the first connect)"),
    ("echo_syscalls", "syscalls/round trip",
     "echo server, 1 connection, 5k round trips of 512 B: server syscalls per round trip "
     "(perf's raw_syscalls counter; strace -c -f where perf cannot run)"),
    ("http_wrk", "cpu ns/request",
     "HTTP/1.1 server driven by wrk: 256 connections, 3 s, one request in flight on each: server "
     "CPU per request"),
    ("http_wrk_pipelined", "cpu ns/request",
     "the same with 16 requests pipelined on each connection"),
]
UNITS = {name: unit for name, unit, _ in WORKLOADS}
# weft-eager is weft with RunOptions{.eager_tasks = true, .continuation_stealing = true}
# (issue 14): a variant of weft, not a peer.
RUNTIMES = ["weft", "weft-eager", "weft-sock", "boost.fiber", "boost.fiber-suspend", "onetbb", "go", "tokio",
            "hyper", "asio", "asyncio", "uvloop"]
# weft-sock is weft's echo server on sock_accept / sock_recv_into / sock_sendall instead of the
# streams (issue 12): a variant too.
VARIANTS = ["weft", "weft-eager", "weft-sock"]
PEERS = [rt for rt in RUNTIMES if rt not in VARIANTS]
COLORS = {"weft": "#d62728", "weft-eager": "#ff9896", "weft-sock": "#ffbb78", "boost.fiber": "#1f77b4",
          "boost.fiber-suspend": "#7fb0dc", "onetbb": "#2ca02c", "go": "#9467bd",
          "tokio": "#8c564b", "hyper": "#c49c94", "asio": "#e377c2", "asyncio": "#7f7f7f",
          "uvloop": "#bcbd22"}
# The workloads a runtime has rows for, where not all: where a runtime that could not be built
# is shown as "not built".
NET_BENCHES = {"echo_single", "echo", "echo_many", "http", "stream", "idle_conns",
               "idle_conn_memory", "echo_syscalls", "http_wrk", "http_wrk_pipelined"}
RUNTIME_BENCHES = {"weft-eager": {"skynet", "spawn_join", "gather_fanout"},
                   "weft-sock": {"echo_single", "echo", "echo_many", "stream", "idle_conns",
                                 "idle_conn_memory", "echo_syscalls"},
                   "asio": NET_BENCHES,
                   # hyper (benchmarks/hyper): the HTTP server only, driven by wrk.
                   "hyper": {"http", "http_wrk", "http_wrk_pipelined"},
                   # The Python servers: the network workloads, one event loop (1 worker).
                   "asyncio": NET_BENCHES,
                   "uvloop": NET_BENCHES}

# The targets of issue 14 (2 workers unless said). A target is
#   (workload, workers, subject, peer, factor): subject's median <= factor x the peer's, or
#   (workload, workers, subject, None, limit): subject's median <= limit, in the workload's unit.
# subject is weft or its weft-eager variant; "boost.fiber*" is the better of the two Boost.Fiber
# variants (suspend=false / true).
TARGETS = [
    ("spawn_join", 2, "weft", "go", 0.6),
    ("spawn_join", 2, "weft", "tokio", 1.0),
    ("spawn_join", 2, "weft", "onetbb", 1.5),
    ("gather_fanout", 2, "weft", "tokio", 1.0),
    ("gather_fanout", 2, "weft", "onetbb", 2.0),
    ("skynet", 2, "weft-eager", "onetbb", 2.0),
    ("skynet", 2, "weft", "go", 0.1),
    ("skynet", 2, "weft", "tokio", 0.5),
    ("yield_switch", 1, "weft", "go", 0.6),
    ("yield_switch", 1, "weft", "tokio", 1.0),
    ("yield_switch", 1, "weft", "boost.fiber*", 1.0),
    ("pingpong", 1, "weft", "go", 0.75),
    ("pingpong", 1, "weft", "tokio", 1.0),
    ("pingpong", 2, "weft", "go", 0.75),
    ("pingpong", 2, "weft", "tokio", 1.0),
    ("foreign_submit", 1, "weft", "onetbb", 1.0),
    ("foreign_submit", 1, "weft", "boost.fiber*", 0.3),
    ("foreign_submit", 1, "weft", "tokio", 1.0),
    ("foreign_submit", 2, "weft", "onetbb", 1.0),
    ("foreign_submit", 2, "weft", "boost.fiber*", 0.3),
    ("foreign_submit", 2, "weft", "tokio", 1.0),
    ("suspended_memory", 2, "weft", None, 4710.0),  # one 4 KiB stack page + 614 B
    ("sleep_timers", 2, "weft", "go", 0.5),
    ("idle_cpu", 2, "weft", None, 10.0),  # 0.01 CPU s per idle s
    # Issue 12: ping-pong at 1,000 connections, in round trips per second of server CPU,
    # >= 1.15 x Go and >= 1.0 x Tokio and Asio; as CPU ns per round trip, <= 1 / 1.15 x Go.
    ("echo_many", 2, "weft", "go", 0.87),
    ("echo_many", 2, "weft", "tokio", 1.0),
    ("echo_many", 2, "weft", "asio", 1.0),
    ("echo_many", 2, "weft", "weft-sock", 1.10),  # the streams cost <= 1.10 x sock_*
    # Streaming on 4 connections >= 1.3 x Go (in messages per CPU second) and >= 1.0 x Tokio.
    ("stream", 2, "weft", "go", 0.77),
    ("stream", 2, "weft", "tokio", 1.0),
    # 10,000 idle connections: <= 0.1 CPU ms per second, <= 6 KiB each.
    ("idle_conns", 2, "weft", None, 0.1),
    ("idle_conn_memory", 2, "weft", None, 6.0),
    # <= 2.3 syscalls per echo (the issue says strace -c; perf's counter where it runs).
    ("echo_syscalls", 1, "weft", None, 2.3),
    ("echo_syscalls", 2, "weft", None, 2.3),
    # HTTP (wrk, 256 connections) >= 1.2 x Go net/http in requests per CPU second.
    ("http_wrk", 2, "weft", "go", 0.83),
    ("http_wrk_pipelined", 2, "weft", "go", 0.83),
]


def unavailable_map(unavailable):
    """[{"runtime", "why"}] (unavailable.json) -> {runtime: why}."""
    return {u["runtime"]: u["why"] for u in (unavailable or ())}


def not_built(runtime, bench, unavailable):
    """True if `runtime` could not be built and would have had a row for `bench`."""
    return runtime in unavailable and bench in RUNTIME_BENCHES.get(runtime, {bench})


def columns(table, unavailable):
    """The runtimes shown: those measured, and those that could not be built."""
    return [rt for rt in RUNTIMES
            if any(rt in c or not_built(rt, bench, unavailable) for (bench, _), c in table.items())]


def fmt(v):
    """A figure with about three significant digits, no exponent."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    a = abs(v)
    if a == 0:
        return "0"
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    digits = 2 - int(math.floor(math.log10(a)))
    return f"{v:.{digits}f}"


def index(rows):
    """{(bench, threads): {runtime: row}} and {bench: unit}."""
    table, units = {}, {}
    for r in rows:
        table.setdefault((r["bench"], r["threads"]), {})[r["runtime"]] = r
        units.setdefault(r["bench"], r["unit"])
    return table, units


def ordered_keys(table):
    order = {name: i for i, (name, _, _) in enumerate(WORKLOADS)}
    return sorted(table, key=lambda k: (order.get(k[0], len(order)), k[0], k[1]))


def best_peer(cells):
    """(runtime, row) of the lowest median among the peers present, or (None, None)."""
    peers = [(cells[p]["value"], p) for p in PEERS if p in cells]
    if not peers:
        return None, None
    _, name = min(peers)
    return name, cells[name]


def ratio_text(cells):
    if "weft" not in cells:
        return ""
    name, row = best_peer(cells)
    if not row:
        return ""
    if row["value"] == 0:
        return f"inf vs {name}" if cells["weft"]["value"] > 0 else f"1 vs {name}"
    return f"{cells['weft']['value'] / row['value']:.2f} x {name}"


def cell_text(row):
    if row is None:
        return ""
    return f"{fmt(row['value'])} ({fmt(row['min'])}-{fmt(row['max'])})"


def table_lines(rows, unavailable=()):
    table, units = index(rows)
    missing = unavailable_map(unavailable)
    present = columns(table, missing)
    header = ["workload", "unit", "workers"] + present + ["weft / best peer"]
    body = []
    for key in ordered_keys(table):
        cells = table[key]
        body.append([key[0], units[key[0]], str(key[1])] +
                    ["not built" if not_built(rt, key[0], missing) else cell_text(cells.get(rt))
                     for rt in present] + [ratio_text(cells)])
    widths = [max(len(x) for x in col) for col in zip(header, *body)]
    right = set(range(2, len(header)))

    def line(cells):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    out = [line(header), "  ".join("-" * w for w in widths)]
    prev = None
    for b in body:
        if prev is not None and b[0] != prev:
            out.append("")
        prev = b[0]
        out.append(line(b))
    for rt, why in missing.items():
        out.append(f"{rt}: not built: {why}")
    return out


def evaluate_targets(rows, unavailable=()):
    """One dict per target: text, passed (True/False/None when not measured)."""
    table, units = index(rows)
    missing = unavailable_map(unavailable)
    results = []
    for bench, threads, subject, peer, bound in TARGETS:
        cells = table.get((bench, threads), {})
        unit = units.get(bench, UNITS.get(bench, ""))
        where = f"{bench} ({threads} worker{'s' if threads > 1 else ''})"
        weft = cells.get(subject)
        goal = f"target <= {fmt(bound)} {unit}" if peer is None else f"target <= {bound:g}"
        absent = [rt for rt in (subject, peer) if rt in missing]
        if absent and not (weft and (peer is None or cells.get(peer))):
            why = ", ".join(absent) + " not built (why: under the table)"
            vs = "" if peer is None else f" vs {peer}"
            results.append({"text": f"{where}: {subject}{vs}: {why} ({goal})", "passed": None})
            continue
        if peer is None:
            if not weft:
                results.append({"text": f"{where}: {subject} not measured ({goal})",
                                "passed": None})
                continue
            v = weft["value"]
            ok = v <= bound
            results.append({"text": f"{where}: {subject} {fmt(v)} {unit} = {v / bound:.3g} x "
                                    f"the limit ({goal})", "passed": ok})
            continue
        if peer == "boost.fiber*":
            variants = [cells[p] for p in ("boost.fiber", "boost.fiber-suspend") if p in cells]
            other = min(variants, key=lambda r: r["value"]) if variants else None
        else:
            other = cells.get(peer)
        if not weft or not other:
            results.append({"text": f"{where}: {subject} vs {peer} not measured ({goal})",
                            "passed": None})
            continue
        name = other["runtime"]
        if other["value"] > 0:
            ratio = weft["value"] / other["value"]
        else:
            ratio = math.inf if weft["value"] > 0 else 1.0
        ok = ratio <= bound
        results.append({"text": f"{where}: {subject} {fmt(weft['value'])} {unit} = {ratio:.3g} "
                                f"x {name} {fmt(other['value'])} ({goal})", "passed": ok})
    return results


# ---- where weft's time goes ------------------------------------------------------------------
# weft's own counters per unit of work (a row's "profile", from benchmarks/common/weft_profile.hpp
# through tools/bench_run.py), in the order shown: key, heading, what it says.
PROFILE = [
    ("steps", "steps", "task steps and callbacks run (1 = every task ran once, never suspending)"),
    ("steals", "steals", "tasks a worker took from another's queue"),
    ("parks", "parks", "times a worker went to sleep for want of work"),
    ("unparks", "unparks", "times a worker was woken by another thread"),
    ("lifo_hits", "LIFO hits", "woken tasks run next from the waker's LIFO slot"),
    ("block_misses", "block mallocs", "task memory the block pool had to ask malloc for"),
    ("stack_misses", "fresh stacks", "fiber stacks not taken warm from the pool"),
    ("busy_ns", "busy ns", "worker time not parked (running or searching), summed over workers"),
]


def per_unit(unit):
    """What one unit of a workload is, from its unit: "ns/task" -> "task"; time-only units
    (skynet's and sleep_timers' "ms") count tasks."""
    if "/" in unit and not unit.endswith("/s"):
        return unit.split("/", 1)[1]
    return "task"


def profile_rows(rows, bench):
    """[(runtime, threads, profile)] of the weft variants' rows of `bench` that carry one."""
    out = [(r["runtime"], r["threads"], r["profile"]) for r in rows
           if r["bench"] == bench and r.get("profile") and r["runtime"] in VARIANTS]
    return sorted(out, key=lambda t: (VARIANTS.index(t[0]), t[1]))


def profile_lines(rows):
    """The text table: per workload and weft variant, the counters per unit of work."""
    table = [["workload", "per", "runtime", "workers"] + [head for _, head, _ in PROFILE]]
    for bench, unit, _ in WORKLOADS:
        for rt, th, p in profile_rows(rows, bench):
            table.append([bench, per_unit(UNITS.get(bench, unit)), rt, str(th)] +
                         [fmt_profile(p.get(k)) for k, _, _ in PROFILE])
    if len(table) == 1:
        return []
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    lines = ["where weft's time goes (weft::Runtime::metrics per unit of work, medians):"]
    for r in table:
        lines.append("  ".join(c.rjust(w) if i >= 4 else c.ljust(w)
                               for i, (c, w) in enumerate(zip(r, widths))))
    return lines


def fmt_profile(v):
    """fmt(), but a count far below one per unit (2e-06 parks per task) keeps its digits."""
    if v is None or v == 0 or abs(v) >= 1:
        return fmt(v)
    return f"{v:.3g}"


def profile_html(rows, bench, unit):
    found = profile_rows(rows, bench)
    if not found:
        return ""
    h = [f'<table><tr><th>weft, per {html.escape(per_unit(unit))}</th><th>workers</th>' +
         "".join(f'<th title="{html.escape(what)}">{html.escape(head)}</th>'
                 for _, head, what in PROFILE) + "</tr>"]
    for rt, th, p in found:
        h.append(f"<tr><td>{html.escape(rt)}</td><td>{th}</td>" +
                 "".join(f"<td>{html.escape(fmt_profile(p.get(k)))}</td>" for k, _, _ in PROFILE) +
                 "</tr>")
    h.append("</table>")
    return "".join(h)


def target_lines(rows, unavailable=()):
    out = []
    for t in evaluate_targets(rows, unavailable):
        mark = {True: "PASS", False: "MISS", None: "n/a"}[t["passed"]]
        out.append(f"{t['text']} {mark}")
    return out


# ---- HTML -------------------------------------------------------------------------------------

def nice_ticks_linear(top):
    if top <= 0:
        return [0, 1]
    raw = top / 5
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=10 * mag)
    ticks, t = [], 0.0
    while t <= top * 1.0001 + step:
        ticks.append(t)
        if t >= top:
            break
        t += step
    return ticks


def chart_svg(bench, unit, table):
    """Bars per runtime, one group per worker count; whiskers for min-max."""
    groups = sorted(t for (b, t) in table if b == bench)
    if not groups:
        return ""
    present = [rt for rt in RUNTIMES if any(rt in table[(bench, t)] for t in groups)]
    values = [r[k] for t in groups for r in table[(bench, t)].values()
              for k in ("value", "min", "max")]
    positive = [v for v in values if v > 0]
    hi = max(values) if values else 1
    lo = min(positive) if positive else 1
    log = bool(positive) and hi / lo > 30
    W, H = 600, 280
    left, right, top, bottom = 78, 150, 20, 40
    pw, ph = W - left - right, H - top - bottom
    if log:
        y0 = 10 ** math.floor(math.log10(lo))
        y1 = 10 ** math.ceil(math.log10(hi))
        if y1 <= y0:
            y1 = y0 * 10

        def y(v):
            v = max(v, y0)
            return top + ph - (math.log10(v) - math.log10(y0)) / (math.log10(y1) - math.log10(y0)) * ph
        ticks = [10 ** e for e in range(int(math.log10(y0)), int(math.log10(y1)) + 1)]
    else:
        ticks = nice_ticks_linear(hi * 1.05)
        y1 = ticks[-1] or 1

        def y(v):
            return top + ph - max(v, 0) / y1 * ph
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="11">']
    for t in ticks:
        ty = y(t)
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{ty:.1f}" y2="{ty:.1f}" '
                   f'stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end">'
                   f'{html.escape(fmt(t))}</text>')
    out.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + ph}" stroke="#333"/>')
    out.append(f'<line x1="{left}" x2="{left + pw}" y1="{top + ph}" y2="{top + ph}" '
               f'stroke="#333"/>')
    scale = "log scale" if log else "linear scale"
    out.append(f'<text x="14" y="{top + ph / 2:.0f}" transform="rotate(-90 14 {top + ph / 2:.0f})" '
               f'text-anchor="middle">{html.escape(unit)} ({scale}; lower is better)</text>')
    gw = pw / len(groups)
    bw = min(36, (gw - 20) / max(1, len(present)))
    for gi, t in enumerate(groups):
        cells = table[(bench, t)]
        gx = left + gi * gw + (gw - bw * len(present)) / 2
        out.append(f'<text x="{left + gi * gw + gw / 2:.1f}" y="{top + ph + 28}" '
                   f'text-anchor="middle" font-weight="bold">{t} worker{"s" if t > 1 else ""}'
                   f'</text>')
        for ri, rt in enumerate(present):
            r = cells.get(rt)
            x = gx + ri * bw
            if not r:
                out.append(f'<text x="{x + bw / 2:.1f}" y="{top + ph - 4}" text-anchor="middle" '
                           f'fill="#999">-</text>')
                continue
            by = y(r["value"])
            out.append(f'<rect x="{x + 2:.1f}" y="{by:.1f}" width="{bw - 4:.1f}" '
                       f'height="{top + ph - by:.1f}" fill="{COLORS[rt]}">'
                       f'<title>{html.escape(rt)}: {html.escape(cell_text(r))} '
                       f'{html.escape(unit)}</title></rect>')
            cx = x + bw / 2
            ymin, ymax = y(r["min"]), y(r["max"])
            out.append(f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{ymin:.1f}" y2="{ymax:.1f}" '
                       f'stroke="#000"/>')
            for yy in (ymin, ymax):
                out.append(f'<line x1="{cx - 4:.1f}" x2="{cx + 4:.1f}" y1="{yy:.1f}" '
                           f'y2="{yy:.1f}" stroke="#000"/>')
            out.append(f'<text x="{cx:.1f}" y="{min(by, ymax) - 4:.1f}" text-anchor="middle" '
                       f'font-size="10">{html.escape(fmt(r["value"]))}</text>')
    for ri, rt in enumerate(present):
        ly = top + 8 + ri * 18
        out.append(f'<rect x="{left + pw + 16}" y="{ly - 9}" width="12" height="12" '
                   f'fill="{COLORS[rt]}"/>')
        out.append(f'<text x="{left + pw + 34}" y="{ly + 1}">{html.escape(rt)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def write_html(rows, path, meta=None, failures=(), unavailable=()):
    """failures: (name, error) of the workloads that gave no valid result; unavailable: the
    runtimes that could not be built, [{"runtime", "why"}]."""
    meta = meta or {}
    table, units = index(rows)
    missing = unavailable_map(unavailable)
    present = columns(table, missing)
    h = ['<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">',
         '<title>weft comparison run</title>', '<style>',
         'body{font-family:sans-serif;margin:24px;color:#222}',
         '.chart{display:inline-block;vertical-align:top;margin:0 24px 12px 0}',
         'table{border-collapse:collapse;margin:12px 0;font-size:13px}',
         'th,td{border:1px solid #ccc;padding:3px 8px;text-align:right;white-space:nowrap}',
         'th:first-child,td:first-child,td.l{text-align:left}',
         'tr.first td{border-top:2px solid #888}',
         '.pass{color:#1a7f1a;font-weight:bold}.miss{color:#c00;font-weight:bold}',
         '.na{color:#888}h2{margin-top:28px}.note{color:#555;font-size:13px}',
         '</style></head><body>', '<h1>weft comparison run</h1>']
    if meta:
        items = "".join(f"<li>{html.escape(k)}: {html.escape(str(v))}</li>"
                        for k, v in meta.items())
        h.append(f'<ul class="note">{items}</ul>')
    h.append('<p class="note">Each cell: the median of the repetitions (min-max). Lower is '
             'better everywhere. Ratios compare runs of the same session on the same machine; '
             'absolute figures on a shared machine are noise.</p>')
    if failures:
        h.append('<h2 class="miss">Failed</h2><p class="note">These gave no valid result (their '
                 'own check failed, they crashed or timed out); the table leaves them out.</p><ul>')
        for name, error in failures:
            h.append(f'<li><b>{html.escape(name)}</b>: {html.escape(error)}</li>')
        h.append("</ul>")
    if missing:
        h.append('<h2>Not built</h2><p class="note">These runtimes could not be built on this '
                 'machine; the table says "not built" where they would have a row.</p><ul>')
        for rt, why in missing.items():
            h.append(f'<li><b>{html.escape(rt)}</b>: not built: {html.escape(why)}</li>')
        h.append("</ul>")
    h.append('<h2>Table</h2><table><tr><th>workload</th><th>unit</th><th>workers</th>' +
             "".join(f"<th>{html.escape(rt)}</th>" for rt in present) +
             '<th>weft / best peer</th></tr>')
    prev = None
    for key in ordered_keys(table):
        cells = table[key]
        cls = ' class="first"' if key[0] != prev else ""
        prev = key[0]
        h.append(f"<tr{cls}><td>{html.escape(key[0])}</td><td class=\"l\">"
                 f"{html.escape(units[key[0]])}</td><td>{key[1]}</td>" +
                 "".join("<td>not built</td>" if not_built(rt, key[0], missing) else
                         f"<td>{html.escape(cell_text(cells.get(rt)))}</td>" for rt in present) +
                 f"<td>{html.escape(ratio_text(cells))}</td></tr>")
    h.append("</table>")
    h.append("<h2>Targets (issue 14)</h2><table><tr><th>target</th><th>result</th></tr>")
    for t in evaluate_targets(rows, unavailable):
        cls, mark = {True: ("pass", "PASS"), False: ("miss", "MISS"),
                     None: ("na", "n/a")}[t["passed"]]
        h.append(f'<tr><td>{html.escape(t["text"])}</td><td class="{cls}">{mark}</td></tr>')
    h.append('</table><h2>Charts</h2><p class="note">Under each chart, where weft\'s time went: '
             'its own counters (weft::Runtime::metrics) per unit of work, the medians of the '
             'repetitions. ' + "; ".join(f"<b>{html.escape(head)}</b>: {html.escape(what)}"
                                           for _, head, what in PROFILE) + ".</p>")
    for bench, unit, what in WORKLOADS:
        svg = chart_svg(bench, units.get(bench, unit), table)
        if svg:
            h.append(f'<div class="chart"><h3>{html.escape(bench)}</h3>'
                     f'<p class="note">{html.escape(what)}</p>{svg}'
                     f'{profile_html(rows, bench, units.get(bench, unit))}</div>')
    h.append("</body></html>")
    with open(path, "w") as f:
        f.write("\n".join(h) + "\n")


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("results", nargs="?", default="build/bench/results.json")
    ap.add_argument("--html", help="also write the HTML report here")
    args = ap.parse_args(argv[1:])
    try:
        with open(args.results) as f:
            rows = json.load(f)
    except (OSError, ValueError) as e:
        print(f"bench_report: cannot read {args.results}: {e}", file=sys.stderr)
        return 1
    unavailable = []
    beside = os.path.join(os.path.dirname(os.path.abspath(args.results)), "unavailable.json")
    if os.path.exists(beside):
        try:
            with open(beside) as f:
                unavailable = json.load(f)
        except (OSError, ValueError) as e:
            print(f"bench_report: cannot read {beside}: {e}", file=sys.stderr)
    print("\n".join(table_lines(rows, unavailable)))
    print()
    print("\n".join(target_lines(rows, unavailable)))
    profile = profile_lines(rows)
    if profile:
        print()
        print("\n".join(profile))
    if args.html:
        write_html(rows, args.html, {"results": os.path.abspath(args.results)},
                   unavailable=unavailable)
        print(f"\nbench_report: wrote {args.html}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
