#!/usr/bin/env python3
"""pybench: the comparison run's network servers on Python's asyncio, with its own event loop
(runtime "asyncio") or uvloop's (runtime "uvloop", Debian's python3-uvloop). tools/bench runs it
as it runs benchmarks/go, with the same command line and output:

    pybench.py -runtime asyncio -list [-workers 1,2]           the workload names, one a line
    pybench.py -runtime uvloop -bench echo -threads 1 -reps 3  3 measurements, one JSON line each

Only the network workloads, and only at 1 worker: an event loop is one thread (the GIL leaves no
second worker to give it). Each repetition runs in a fresh child process (this script re-run with
-child). The servers are asyncio streams (asyncio.start_server, a task per connection): the echo
server reads what comes (up to 4 KiB) and writes it back; the HTTP server reads each request's
head through its blank line and writes the same 200 answer, until end-of-file. The load
generator is bench_netload ($CMP_NETLOAD), which checks every byte; the figure is this
process's CPU time per round trip (request, message). Standard library only, plus uvloop.
"""
import asyncio
import json
import os
import resource
import socket
import subprocess
import sys

# name, unit: the workloads of benchmarks/net/workloads.hpp this server runs.
WORKLOADS = [
    ("echo_single", "cpu ns/round trip"),
    ("echo", "cpu ns/round trip"),
    ("echo_many", "cpu ns/round trip"),
    ("http", "cpu ns/request"),
    ("stream", "cpu ns/message"),
    ("idle_conns", "cpu ns/connection"),
    ("echo_syscalls", "cpu ns/round trip"),
    ("http_wrk", "cpu ns/request"),
    ("http_wrk_pipelined", "cpu ns/request"),
]
UNITS = dict(WORKLOADS)
BODY = b"Hello, World!"
RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Type: text/plain\r\n\r\n"
            % len(BODY)) + BODY
BACKLOG = 1024  # echo_many connects 1,000 at once


def uvloop_missing():
    """Why uvloop cannot run here, or None."""
    try:
        import uvloop  # noqa: F401
    except ImportError as e:
        return f"python3 cannot import uvloop ({e}; tools/deps installs python3-uvloop)"
    return None


async def echo(reader, writer):
    try:
        while True:
            data = await reader.read(4096)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    writer.close()


async def http(reader, writer):
    try:
        while True:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(RESPONSE)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass  # the client closed (or, wrk, reset) the connection
    writer.close()


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def serve(workload):
    """(value, extra) or raises RuntimeError with the load generator's complaint."""
    load = os.environ.get("CMP_NETLOAD")
    if not load:
        raise RuntimeError("CMP_NETLOAD is not set (tools/bench sets it to "
                           "build/release/benchmarks/bench_netload)")
    handler = http if workload.startswith("http") else echo
    server = await asyncio.start_server(handler, "127.0.0.1", 0, backlog=BACKLOG)
    # asyncio sets TCP_NODELAY on every accepted TCP connection (since 3.6), uvloop too.
    port = server.sockets[0].getsockname()[1]
    before = cpu_seconds()
    proc = await asyncio.create_subprocess_exec(
        load, "--port", str(port), "--workload", workload, stdout=subprocess.PIPE)
    out, _ = await proc.communicate()
    cpu = cpu_seconds() - before
    server.close()
    words = out.decode(errors="replace").split()
    try:
        round_trips = float(words[1]) if words and words[0] == "ok" else 0
    except (IndexError, ValueError):
        round_trips = 0
    if proc.returncode != 0 or round_trips <= 0:
        raise RuntimeError(f"bench_netload (exit status {proc.returncode}): "
                           f"{out.decode(errors='replace').strip() or 'no output'}")
    extra = {"wall_ns_per_round_trip": float(words[2]) * 1e9 / round_trips,
             "p50_latency_ns": float(words[3]), "p99_latency_ns": float(words[4])}
    for word in words[5:]:
        key, eq, value = word.partition("=")
        if eq:
            extra[key] = float(value)
    return cpu * 1e9 / round_trips, extra


def child(runtime, bench, threads):
    result = {"bench": bench, "runtime": runtime, "threads": threads, "value": 0,
              "unit": UNITS[bench], "ok": False}
    # idle_conns holds 10,000 connections: the soft descriptor limit up to the hard one.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        if runtime == "uvloop":
            import uvloop
            loop = uvloop.new_event_loop()
        else:
            loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        value, extra = loop.run_until_complete(serve(bench))
        result.update(value=value, extra=extra, ok=True)
    except Exception as e:  # noqa: BLE001: any failure is the measurement's failure
        result["error"] = f"{type(e).__name__}: {e}"
    print(json.dumps(result), flush=True)
    return 0 if result["ok"] else 1


def usage(why):
    sys.stderr.write(f"pybench: {why}\nusage: pybench.py -runtime asyncio|uvloop "
                     "(-list [-workers 1,2] | -bench NAME -threads 1 -reps N [-child])\n")
    sys.exit(2)


def main(argv):
    opts = {"runtime": "asyncio", "workers": "", "bench": "", "threads": "1", "reps": "1"}
    flags = set()
    args = iter(argv[1:])
    for arg in args:
        name = arg.lstrip("-")
        if name in ("list", "child"):
            flags.add(name)
        elif name in opts:
            opts[name] = next(args, None) or usage(f"{arg} needs a value")
        else:
            usage(f"unknown argument {arg!r}")
    runtime = opts["runtime"]
    if runtime not in ("asyncio", "uvloop"):
        usage(f"-runtime {runtime!r}: asyncio or uvloop")
    if "list" in flags:
        for name, _ in WORKLOADS:
            print(f"{name}/{runtime}/threads:1")
        return 0
    if opts["bench"] not in UNITS:
        usage(f"unknown workload {opts['bench']!r} (see -list)")
    if opts["threads"] != "1":
        usage("-threads: an event loop is one thread; only 1")
    if "child" in flags:
        return child(runtime, opts["bench"], 1)
    failed = False
    for _ in range(int(opts["reps"])):
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), "-child", "-runtime",
                               runtime, "-bench", opts["bench"], "-threads", "1"],
                              stdout=subprocess.PIPE, text=True)
        line = proc.stdout.strip().splitlines()[-1:] or [""]
        try:
            result = json.loads(line[0])
        except ValueError:
            result = {"bench": opts["bench"], "runtime": runtime, "threads": 1, "value": 0,
                      "unit": UNITS[opts["bench"]], "ok": False,
                      "error": f"the child process ended without a result "
                               f"(exit status {proc.returncode})"}
        failed = failed or not result.get("ok")
        print(json.dumps(result), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
