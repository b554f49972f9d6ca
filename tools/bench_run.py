#!/usr/bin/env python3
"""The comparison run (tools/bench runs this after tools/deps).

Builds the release preset's comparison suites (benchmarks/bench_{spawn,switch,submit,memory,
timers,net}) and the load generator that drives every echo server (bench_netload), the Go program (benchmarks/go) and the Tokio program (benchmarks/tokio, offline from
Debian's packaged crates), finds Python's asyncio and uvloop for the Python servers
(benchmarks/python/pybench.py), runs every workload x runtime x worker count on its own -- each
repetition in a fresh process -- and then prints the table and the targets and writes
build/bench/results.json, samples.json, unavailable.json and report.html.

A runtime that cannot be built here (Tokio without cargo or its crates; weft-eager on a weft
without RunOptions::eager_tasks; uvloop without python3-uvloop) is left out with the reason, which the table shows as
"not built: <why>"; that is not a failure of the run.
"""
import argparse
import glob
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_report  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUITES = ["bench_spawn", "bench_switch", "bench_submit", "bench_memory", "bench_timers",
          "bench_net"]
# The load generator every echo server is driven by (benchmarks/net/netload.cpp); bench_net,
# gobench and tokiobench find it through $CMP_NETLOAD.
NETLOAD = "bench_netload"
NAME = re.compile(r"^(?P<bench>[a-z_]+)/(?P<runtime>[a-z.\-]+)/threads:(?P<threads>\d+)")
QUICK_REPS, FULL_REPS = 3, 10
DEFAULT_WORKERS = "1,2"
# The Tokio build: Debian's cargo and rustc (rustup's, if on PATH, are newer than the packaged
# crates were written for and would look for the network), and Debian's crate registry.
DEBIAN_CARGO, DEBIAN_RUSTC = "/usr/bin/cargo", "/usr/bin/rustc"
DEBIAN_REGISTRY = "/usr/share/cargo/registry"
# Workloads whose figure does not move between repetitions (suspended_memory's RSS per task is
# the same to the byte) but which take long: fewer repetitions unless --repetitions says.
REPS_CAP = {"suspended_memory": {"quick": 1, "full": 3},
            # 10,000 connections opened and 3 s idle; echo_syscalls attaches a counter to the server.
            "idle_conns": {"quick": 1, "full": 3},
            "echo_syscalls": {"quick": 1, "full": 3}}
# The Python servers (asyncio, and asyncio on uvloop's event loop): one script, the runtime a flag.
PYBENCH = os.path.join(ROOT, "benchmarks", "python", "pybench.py")
# Debian's python3, the one python3-uvloop is built for (a pyenv or venv python3 on PATH is not),
# runs both, so that the two differ only in the event loop; $CMP_PYTHON overrides it.
DEBIAN_PYTHON = "/usr/bin/python3"
PY_RUNTIMES = ["asyncio", "uvloop"]
# Workloads whose figure is one of the load generator's extras rather than the server's CPU per
# round trip: workload -> (extra, unit).
VALUE_FROM_EXTRA = {"idle_conns": ("idle_cpu_ms_per_s", "cpu ms/s"),
                    "echo_syscalls": ("syscalls_per_round_trip", "syscalls/round trip")}
# Rows derived from another workload's extras: workload -> [(derived workload, extra, unit)].
DERIVED = {"idle_conns": [("idle_conn_memory", "rss_kib_per_conn", "KiB/connection")]}


def log(msg="", end="\n"):
    sys.stderr.write(msg + end)
    sys.stderr.flush()


def run_logged(cmd, logfile, env=None, cwd=ROOT):
    with open(logfile, "a") as f:
        f.write(f"$ {' '.join(cmd)}\n")
        f.flush()
        return subprocess.call(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, cwd=cwd)


def tail(path, n=25):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


def parse_workers(text):
    """'1,2,4' -> [1, 2, 4] (duplicates dropped, order kept); ValueError if malformed."""
    counts = []
    for item in text.split(","):
        item = item.strip()
        if not item.isdigit() or not 1 <= int(item) <= 4096:
            raise ValueError(f"{item!r} is not a worker count (1 to 4096)")
        if int(item) not in counts:
            counts.append(int(item))
    return counts


def cores():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def build_tokio(out_dir, logfile):
    """Builds benchmarks/tokio offline; (path of the binary, None) or (None, why not)."""
    return build_cargo("tokio", "tokiobench", ("tokio-1", "libc-0.2"),
                       "librust-tokio-dev, librust-libc-dev", out_dir, logfile)


def build_hyper(out_dir, logfile):
    """Builds benchmarks/hyper offline; (path of the binary, None) or (None, why not)."""
    return build_cargo("hyper", "hyperbench", ("hyper-0.14", "tokio-1", "libc-0.2"),
                       "librust-hyper-dev", out_dir, logfile)


def build_cargo(project, binary, crates, packages, out_dir, logfile):
    """Builds benchmarks/<project> offline from Debian's crates; (path of the binary, None) or
    (None, why not)."""
    cargo = os.environ.get("CMP_CARGO") or DEBIAN_CARGO
    rustc = os.environ.get("CMP_RUSTC") or DEBIAN_RUSTC
    if not (os.path.isfile(cargo) and os.access(cargo, os.X_OK)):
        return None, f"no cargo at {cargo} (tools/deps installs Debian's cargo; CMP_CARGO=path)"
    if not (os.path.isfile(rustc) and os.access(rustc, os.X_OK)):
        return None, f"no rustc at {rustc} (tools/deps installs Debian's rustc; CMP_RUSTC=path)"
    missing = [c for c in crates if not glob.glob(os.path.join(DEBIAN_REGISTRY, c + ".*"))]
    if missing:
        return None, (f"crates {', '.join(missing)} not in {DEBIAN_REGISTRY} (tools/deps "
                      f"installs {packages})")
    # A CARGO_HOME of our own: crates.io replaced by Debian's registry, never the network.
    home = os.path.join(out_dir, "cargo-home")
    os.makedirs(home, exist_ok=True)
    with open(os.path.join(home, "config.toml"), "w") as f:
        f.write("# Written by tools/bench_run.py: build benchmarks/tokio and benchmarks/hyper "
                "from Debian's\n# packaged crates, offline.\n"
                "[source.crates-io]\nreplace-with = \"debian\"\n\n"
                f"[source.debian]\ndirectory = \"{DEBIAN_REGISTRY}\"\n\n"
                "[net]\noffline = true\n")
    target = os.path.join(out_dir, f"{project}-target")
    exe = os.path.join(target, "release", binary)
    env = dict(os.environ, CARGO_HOME=home, RUSTC=rustc, CARGO_TARGET_DIR=target)
    for var in ("RUSTUP_TOOLCHAIN", "RUSTFLAGS", "CARGO_BUILD_TARGET"):
        env.pop(var, None)
    cmd = [cargo, "build", "--release", "--offline", "--target-dir", target]
    if run_logged(cmd, logfile, env=env, cwd=os.path.join(ROOT, "benchmarks", project)) != 0:
        # Never run a binary left from an earlier build.
        if os.path.exists(exe):
            os.unlink(exe)
        last = [ln for ln in tail(logfile, 40).splitlines() if ln.startswith("error")]
        why = last[0] if last else "cargo build failed"
        return None, f"{why} (see build/bench/build.log)"
    if not os.access(exe, os.X_OK):
        return None, f"cargo build made no {exe}"
    return exe, None


def build(out_dir, build_dir, unavailable):
    logfile = os.path.join(out_dir, "build.log")
    open(logfile, "w").close()
    started = time.time()
    log("tools/bench: building the comparison suites (release preset) ...", end="")
    if build_dir == os.path.join(ROOT, "build", "release"):
        steps = [["cmake", "--preset", "release"],
                 ["cmake", "--build", "--preset", "release", "--target"] + SUITES + [NETLOAD]]
    else:
        steps = [["cmake", "--build", build_dir, "-j2", "--target"] + SUITES + [NETLOAD]]
    for cmd in steps:
        if run_logged(cmd, logfile) != 0:
            log(" FAILED")
            log(f"tools/bench: {' '.join(cmd)} failed; {logfile} ends with:\n{tail(logfile)}")
            return False
    log(f" done ({time.time() - started:.0f} s)")
    log("tools/bench: building benchmarks/go ...", end="")
    if not shutil.which("go"):
        log(" FAILED: no `go` on PATH (tools/deps installs golang-go)")
        return False
    env = dict(os.environ, GOFLAGS="-mod=mod", GOTOOLCHAIN="local", GOPROXY="off",
               GOCACHE=os.path.join(out_dir, "go-cache"))
    cmd = ["go", "build", "-o", os.path.join(out_dir, "gobench"), "."]
    if run_logged(cmd, logfile, env=env, cwd=os.path.join(ROOT, "benchmarks", "go")) != 0:
        log(" FAILED")
        log(f"tools/bench: go build failed; {logfile} ends with:\n{tail(logfile)}")
        return False
    log(" done")
    log("tools/bench: building benchmarks/tokio (offline, Debian's crates) ...", end="")
    started = time.time()
    exe, why = build_tokio(out_dir, logfile)
    if exe:
        log(f" done ({time.time() - started:.0f} s)")
    else:
        log(f" not built: {why}")
        unavailable["tokio"] = why
    log("tools/bench: building benchmarks/hyper (offline, Debian's crates) ...", end="")
    started = time.time()
    exe, why = build_hyper(out_dir, logfile)
    if exe:
        log(f" done ({time.time() - started:.0f} s)")
    else:
        log(f" not built: {why}")
        unavailable["hyper"] = why
    why = uvloop_missing()
    if why:
        log(f"tools/bench: uvloop: not built: {why}")
        unavailable["uvloop"] = why
    return True


def python():
    return os.environ.get("CMP_PYTHON") or (DEBIAN_PYTHON if os.access(DEBIAN_PYTHON, os.X_OK)
                                            else sys.executable)


def uvloop_missing():
    """Why the uvloop server cannot run here, or None."""
    probe = subprocess.run([python(), "-c", "import uvloop"], capture_output=True, text=True)
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["import failed"])[-1]
        return f"{python()} cannot import uvloop ({last}; tools/deps installs python3-uvloop)"
    return None


def list_jobs(build_dir, out_dir, workers, unavailable):
    """Every (name, kind, binary) to run, in workload order. Records the runtimes a suite
    reports as not built (cmp::note_unavailable) in `unavailable`."""
    jobs = []
    env = dict(os.environ, CMP_WORKERS=",".join(map(str, workers)))
    for suite in SUITES:
        exe = os.path.join(build_dir, "benchmarks", suite)
        if not os.access(exe, os.X_OK):
            raise SystemExit(f"tools/bench: {exe} is missing: build first (or drop --no-build)")
        names = subprocess.run([exe, "--benchmark_list_tests"], capture_output=True, text=True,
                               check=True, env=env).stdout.split()
        jobs += [(n, "gbench", exe) for n in names if NAME.match(n)]
        notes = subprocess.run([exe, "--cmp_unavailable"], capture_output=True, text=True,
                               env=env).stdout
        for line in notes.splitlines():
            runtime, _, why = line.partition("\t")
            if runtime and why:
                unavailable.setdefault(runtime, why)
    workers_arg = ["-workers", ",".join(map(str, workers))]
    gobench = os.path.join(out_dir, "gobench")
    if not os.access(gobench, os.X_OK):
        raise SystemExit(f"tools/bench: {gobench} is missing: build first (or drop --no-build)")
    names = subprocess.run([gobench, "-list"] + workers_arg, capture_output=True, text=True,
                           check=True).stdout.split()
    jobs += [(n, "go", gobench) for n in names if NAME.match(n)]
    tokiobench = os.path.join(out_dir, "tokio-target", "release", "tokiobench")
    if "tokio" not in unavailable:
        if not os.access(tokiobench, os.X_OK):
            unavailable["tokio"] = f"{tokiobench} is missing (build without --no-build)"
        else:
            names = subprocess.run([tokiobench, "-list"] + workers_arg, capture_output=True,
                                   text=True, check=True).stdout.split()
            jobs += [(n, "tokio", tokiobench) for n in names if NAME.match(n)]
    hyperbench = os.path.join(out_dir, "hyper-target", "release", "hyperbench")
    if "hyper" not in unavailable:
        if not os.access(hyperbench, os.X_OK):
            unavailable["hyper"] = f"{hyperbench} is missing (build without --no-build)"
        else:
            names = subprocess.run([hyperbench, "-list"] + workers_arg, capture_output=True,
                                   text=True, check=True).stdout.split()
            jobs += [(n, "hyper", hyperbench) for n in names if NAME.match(n)]
    for runtime in PY_RUNTIMES:
        if runtime == "uvloop" and "uvloop" not in unavailable:
            why = uvloop_missing()
            if why:
                unavailable["uvloop"] = why
        if runtime in unavailable:
            continue
        names = subprocess.run([python(), PYBENCH, "-runtime", runtime, "-list"],
                               capture_output=True, text=True, check=True).stdout.split()
        jobs += [(n, runtime, PYBENCH) for n in names if NAME.match(n)]
    order = {name: i for i, (name, _, _) in enumerate(bench_report.WORKLOADS)}
    rt_order = {name: i for i, name in enumerate(bench_report.RUNTIMES)}

    def key(job):
        m = NAME.match(job[0])
        return (order.get(m["bench"], 99), int(m["threads"]), rt_order.get(m["runtime"], 99))
    return sorted(jobs, key=key)


def run_process(cmd, timeout, env=None):
    """(exit status or None on timeout, stdout, stderr). Its own process group, killed whole
    on timeout (the benchmarks fork a child per measurement)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, cwd=ROOT, env=env)
    try:
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, out, err
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return None, out, err


def run_job(name, kind, exe, reps, timeout, workers):
    """{"samples": [...], "unit": ..., "error": str or None, "extra": {...}}. kind: "gbench"
    (a C++ suite) or "go" / "tokio" (gobench's command line, which tokiobench shares)."""
    m = NAME.match(name)
    if kind == "gbench":
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
            out_json = tmp.name
        cmd = [exe, "--benchmark_filter=^" + name.replace(".", "[.]") + "$",
               f"--benchmark_repetitions={reps}", f"--benchmark_out={out_json}",
               "--benchmark_out_format=json"]
        env = dict(os.environ, CMP_WORKERS=",".join(map(str, workers)))
        status, out, err = run_process(cmd, timeout, env)
        try:
            with open(out_json) as f:
                data = json.load(f)
        except (OSError, ValueError):
            data = {}
        finally:
            os.unlink(out_json)
        runs = [b for b in data.get("benchmarks", []) if b.get("run_type") == "iteration"]
        errors = [b.get("error_message", "error") for b in runs if b.get("error_occurred")]
        good = [b for b in runs if not b.get("error_occurred") and "value" in b]
        samples = [b["value"] for b in good]
        unit = good[0].get("label", "") if good else ""
        extra = {}
        for b in good:
            for k, v in b.items():
                if (k.endswith("_per_task") or k.startswith("retained") or k.startswith("weft.")
                        or k.endswith("_ns") or k.endswith("_per_round_trip")
                        or k.endswith("_per_s") or k.endswith("_per_conn")):
                    extra.setdefault(k, []).append(v)
    else:
        cmd = [exe, "-bench", m["bench"], "-threads", m["threads"], "-reps", str(reps)]
        if kind in PY_RUNTIMES:
            cmd = [python(), exe, "-runtime", kind] + cmd[1:]
        status, out, err = run_process(cmd, timeout)
        samples, errors, unit, extra = [], [], "", {}
        for line in out.splitlines():
            try:
                r = json.loads(line)
            except ValueError:
                continue
            if r.get("ok"):
                samples.append(r["value"])
                unit = r["unit"]
                for k, v in (r.get("extra") or {}).items():
                    extra.setdefault(k, []).append(v)
            else:
                errors.append(r.get("error", "error"))
    error = None
    if status is None:
        error = f"timed out after {timeout} s"
    elif errors:
        error = errors[0]
    elif status != 0:
        error = f"exit status {status}: {(err or out).strip().splitlines()[-1:]}"
    elif len(samples) != reps:
        error = f"{len(samples)} of {reps} repetitions reported a value"
    if m["bench"] in VALUE_FROM_EXTRA and not error:
        key, figure_unit = VALUE_FROM_EXTRA[m["bench"]]
        if len(extra.get(key, [])) != len(samples):
            error = f"the load generator reported no {key}"
        else:
            # The server's own figure (its CPU per connection or round trip) stays an extra.
            extra["server_figure " + unit] = samples
            samples, unit = extra[key], figure_unit
    return {"samples": samples, "unit": unit, "error": error, "extra": extra,
            "command": " ".join(cmd)}


def main(argv):
    ap = argparse.ArgumentParser(
        prog="tools/bench",
        description="The comparison run: weft beside Boost.Fiber, oneTBB, Go, Tokio and Asio.",
        epilog="Quick by default (%d repetitions); results in build/bench/ (results.json, "
               "samples.json, report.html). See docs/performance.md, \"Comparison\"."
               % QUICK_REPS)
    ap.add_argument("--full", action="store_true",
                    help=f"more repetitions ({FULL_REPS} instead of {QUICK_REPS})")
    ap.add_argument("--repetitions", type=int, metavar="N", help="repetitions of each workload")
    ap.add_argument("--filter", metavar="REGEX",
                    help="run only the names it matches (re.search), e.g. 'skynet' or "
                         "'/weft/|/go/' or 'threads:2'; names are bench/runtime/threads:N")
    ap.add_argument("--workers", metavar="LIST",
                    default=os.environ.get("CMP_WORKERS") or DEFAULT_WORKERS,
                    help="worker counts, comma-separated, e.g. 1,2,4,8 (default: $CMP_WORKERS "
                         f"or {DEFAULT_WORKERS}); yield_switch always runs at 1 and "
                         "suspended_memory at 2")
    ap.add_argument("--json", action="store_true",
                    help="print results.json to stdout (the table and progress go to stderr)")
    ap.add_argument("--list", action="store_true", help="list the names and exit")
    ap.add_argument("--no-build", action="store_true", help="use what is built already")
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build", "release"),
                    help="where the suites are built (default: the release preset's)")
    ap.add_argument("--timeout", type=float, default=600,
                    help="seconds one workload (all its repetitions) may take (default 600)")
    args = ap.parse_args(argv[1:])
    reps = args.repetitions or (FULL_REPS if args.full else QUICK_REPS)
    if reps < 1:
        ap.error("--repetitions must be at least 1")
    try:
        pattern = re.compile(args.filter) if args.filter else None
    except re.error as e:
        ap.error(f"--filter: {e}")
    try:
        workers = parse_workers(args.workers)
    except ValueError as e:
        ap.error(f"--workers {args.workers}: {e}")
    found = cores()
    if max(workers) > found:
        log(f"tools/bench: warning: --workers {','.join(map(str, workers))} asks for more workers "
            f"than the {found} cores found: counts above {found} are oversubscribed (workers "
            f"share cores), so their figures show time-slicing, not scaling")
    build_dir = os.path.abspath(args.build_dir)
    os.environ["CMP_NETLOAD"] = os.path.join(build_dir, "benchmarks", NETLOAD)
    out_dir = os.path.join(ROOT, "build", "bench")
    os.makedirs(out_dir, exist_ok=True)
    report_out = sys.stderr if args.json else sys.stdout

    unavailable = {}  # runtime -> why it has no rows
    if not args.no_build and not build(out_dir, build_dir, unavailable):
        return 1
    jobs = list_jobs(build_dir, out_dir, workers, unavailable)
    unavailable_rows = [{"runtime": rt, "why": why} for rt, why in unavailable.items()]
    with open(os.path.join(out_dir, "unavailable.json"), "w") as f:
        json.dump(unavailable_rows, f, indent=1)
        f.write("\n")
    if pattern:
        jobs = [j for j in jobs if pattern.search(NAME.match(j[0]).group(0))]
    if args.list:
        for j in jobs:
            print(NAME.match(j[0]).group(0))
        return 0
    if not jobs:
        log("tools/bench: --filter matched nothing (see --list)")
        return 2
    for rt, why in unavailable.items():
        log(f"tools/bench: {rt}: not built: {why}")

    load_before = os.getloadavg()
    started = time.time()
    log(f"tools/bench: {len(jobs)} workloads x runtimes x workers, {reps} repetitions each, "
        f"every repetition in a fresh process (load average {load_before[0]:.1f})")
    rows, samples_out, failures = [], [], []
    width = max(len(NAME.match(j[0]).group(0)) for j in jobs)
    for i, (name, kind, exe) in enumerate(jobs, 1):
        m = NAME.match(name)
        short = m.group(0)
        n = reps
        if not args.repetitions and m["bench"] in REPS_CAP:
            n = min(reps, REPS_CAP[m["bench"]]["full" if args.full else "quick"])
        log(f"[{i:>{len(str(len(jobs)))}}/{len(jobs)}] {short:<{width}} x{n} ... ", end="")
        t0 = time.time()
        res = run_job(name, kind, exe, n, args.timeout, workers)
        took = time.time() - t0
        entry = {"bench": m["bench"], "runtime": m["runtime"], "threads": int(m["threads"]),
                 "unit": res["unit"], "samples": res["samples"], "extra": res["extra"],
                 "error": res["error"], "command": res["command"]}
        samples_out.append(entry)
        if res["error"]:
            failures.append((short, res["error"]))
            log(f"FAILED: {res['error']}  [{took:.1f} s]")
            continue
        s = res["samples"]
        row = {"bench": m["bench"], "runtime": m["runtime"], "threads": int(m["threads"]),
               "value": statistics.median(s), "unit": res["unit"], "min": min(s), "max": max(s)}
        # weft's own counters per unit of work (benchmarks/common/weft_profile.hpp): medians.
        profile = {k[len("weft."):]: statistics.median(v) for k, v in res["extra"].items()
                   if k.startswith("weft.") and v}
        if profile:
            row["profile"] = profile
        rows.append(row)
        for bench, key, unit in DERIVED.get(m["bench"], ()):
            d = res["extra"].get(key)
            if d:
                rows.append({"bench": bench, "runtime": m["runtime"],
                             "threads": int(m["threads"]), "value": statistics.median(d),
                             "unit": unit, "min": min(d), "max": max(d)})
        log(f"{bench_report.fmt(row['value'])} {row['unit']} "
            f"({bench_report.fmt(row['min'])}-{bench_report.fmt(row['max'])})  [{took:.1f} s]")

    elapsed = time.time() - started
    load_after = os.getloadavg()
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(rows, f, indent=1)
        f.write("\n")
    with open(os.path.join(out_dir, "samples.json"), "w") as f:
        json.dump(samples_out, f, indent=1)
        f.write("\n")
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": f"{os.uname().nodename}, {os.cpu_count()} CPUs, Linux {os.uname().release}",
        "commit": subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                                 capture_output=True, text=True).stdout.strip() or "?",
        "repetitions": reps,
        "workers": ",".join(map(str, workers)) + f" ({found} cores found)",
        "run time": f"{elapsed:.0f} s",
        "load average (1 min) before / after": f"{load_before[0]:.1f} / {load_after[0]:.1f}",
        "command": "tools/bench " + " ".join(argv[1:]),
    }
    bench_report.write_html(rows, os.path.join(out_dir, "report.html"), meta, failures,
                            unavailable_rows)

    print(file=report_out)
    print("\n".join(bench_report.table_lines(rows, unavailable_rows)), file=report_out)
    print(file=report_out)
    print("Targets (issues 14 and 12; tools/bench_report.py, TARGETS):", file=report_out)
    print("\n".join("  " + t for t in bench_report.target_lines(rows, unavailable_rows)),
          file=report_out)
    profile = bench_report.profile_lines(rows)
    if profile:
        print(file=report_out)
        print("\n".join(profile), file=report_out)
    print(file=report_out)
    print(f"tools/bench: {len(rows)} results in {elapsed:.0f} s, {reps} repetitions, load average "
          f"{load_before[0]:.1f} -> {load_after[0]:.1f}; wrote build/bench/results.json, "
          f"samples.json, unavailable.json, report.html", file=report_out)
    if args.json:
        json.dump(rows, sys.stdout, indent=1)
        sys.stdout.write("\n")
    if failures:
        log(f"tools/bench: FAILED: {len(failures)} workload(s) gave no valid result:")
        for short, error in failures:
            log(f"  {short}: {error}")
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except KeyboardInterrupt:
        sys.exit(130)
