//! tokiobench: the comparison run's workloads on Tokio, the Rust runtime weft is compared with
//! (docs/performance.md, "Comparison"). tools/bench builds it offline from Debian's packaged
//! crates and runs it as it runs benchmarks/go, with the same command line and output:
//!
//!     tokiobench -list [-workers 1,2]                 the workload names, one a line
//!     tokiobench -bench skynet -threads 2 -reps 3     3 measurements, one JSON line each
//!
//! Each repetition runs in a fresh child process (this program re-executed with -child). One
//! worker is a current-thread runtime (`Builder::new_current_thread`), N workers a multi-thread
//! runtime with `worker_threads(N)`. A line looks like
//!
//!     {"bench":"skynet","runtime":"tokio","threads":2,"value":54.2,"unit":"ms","ok":true}
//!
//! and a workload whose own check fails prints "ok":false with an "error" and makes the exit
//! status 1.

use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering::{AcqRel, SeqCst};
use std::sync::atomic::{AtomicI64, AtomicU8, AtomicUsize, Ordering::Relaxed};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::{Builder, Handle, Runtime};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;

// ---- results ----------------------------------------------------------------------------------

/// What one measurement produced: the figure and more counters (for the JSON only).
struct Outcome {
    value: f64,
    extra: Vec<(&'static str, f64)>,
}

fn measured(value: f64) -> Result<Outcome, String> {
    Ok(Outcome {
        value,
        extra: Vec::new(),
    })
}

/// A workload: its name, unit, the worker counts it runs at (None: the -workers list) and the
/// function that runs one measurement at a worker count.
struct Workload {
    name: &'static str,
    unit: &'static str,
    fixed_threads: Option<usize>,
    run: fn(usize) -> Result<Outcome, String>,
}

const WORKLOADS: &[Workload] = &[
    Workload {
        name: "skynet",
        unit: "ms",
        fixed_threads: None,
        run: skynet,
    },
    Workload {
        name: "spawn_join",
        unit: "ns/task",
        fixed_threads: None,
        run: spawn_join,
    },
    Workload {
        name: "gather_fanout",
        unit: "ns/task",
        fixed_threads: None,
        run: gather_fanout,
    },
    // One worker: with more, a yield need not switch at all.
    Workload {
        name: "yield_switch",
        unit: "ns/switch",
        fixed_threads: Some(1),
        run: yield_switch,
    },
    Workload {
        name: "pingpong",
        unit: "ns/round trip",
        fixed_threads: None,
        run: pingpong,
    },
    Workload {
        name: "foreign_submit",
        unit: "ns/task",
        fixed_threads: None,
        run: foreign_submit,
    },
    // Two workers only, as the C++ suites and Go: memory does not depend on the worker count.
    Workload {
        name: "suspended_memory",
        unit: "bytes/task",
        fixed_threads: Some(2),
        run: suspended_memory,
    },
    Workload {
        name: "sleep_timers",
        unit: "ms",
        fixed_threads: None,
        run: sleep_timers,
    },
    Workload {
        name: "idle_cpu",
        unit: "cpu ms/s",
        fixed_threads: None,
        run: idle_cpu,
    },
    Workload {
        name: "echo_single",
        unit: "cpu ns/round trip",
        fixed_threads: None,
        run: echo_single,
    },
    Workload {
        name: "echo",
        unit: "cpu ns/round trip",
        fixed_threads: None,
        run: echo,
    },
    Workload {
        name: "echo_many",
        unit: "cpu ns/round trip",
        fixed_threads: None,
        run: echo_many,
    },
    Workload {
        name: "http",
        unit: "cpu ns/request",
        fixed_threads: None,
        run: http,
    },
    Workload {
        name: "stream",
        unit: "cpu ns/message",
        fixed_threads: None,
        run: stream,
    },
    Workload {
        name: "idle_conns",
        unit: "cpu ns/connection",
        fixed_threads: None,
        run: idle_conns,
    },
    Workload {
        name: "echo_syscalls",
        unit: "cpu ns/round trip",
        fixed_threads: None,
        run: echo_syscalls,
    },
    Workload {
        name: "http_wrk",
        unit: "cpu ns/request",
        fixed_threads: None,
        run: http_wrk,
    },
    Workload {
        name: "http_wrk_pipelined",
        unit: "cpu ns/request",
        fixed_threads: None,
        run: http_wrk_pipelined,
    },
];

const DEFAULT_WORKERS: &[usize] = &[1, 2];

// ---- runtimes ---------------------------------------------------------------------------------

/// One worker: a current-thread runtime; more: a multi-thread runtime of `threads` workers.
/// `time`: with the timer driver (only the workloads that sleep or idle ask for it).
fn runtime(threads: usize, time: bool) -> Runtime {
    let mut builder = if threads == 1 {
        Builder::new_current_thread()
    } else {
        let mut b = Builder::new_multi_thread();
        b.worker_threads(threads);
        b
    };
    if time {
        builder.enable_time();
    }
    builder.build().expect("tokio runtime")
}

/// Runs `root` as a task (not on the calling thread, as weft's and Boost.Fiber's roots are
/// tasks) and returns its output. On one worker the calling thread drives the current-thread
/// runtime inside block_on.
fn run_root<F>(rt: &Runtime, root: F) -> Result<F::Output, String>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    rt.block_on(rt.spawn(root))
        .map_err(|e| format!("the root task failed: {e}"))
}

/// A runtime that runs on its own threads while the calling thread stays outside it: a
/// multi-thread runtime, or on one worker a current-thread runtime driven by a thread of its
/// own (blocked in block_on for ever). For the workloads that submit from outside or idle.
fn background_runtime(threads: usize, time: bool) -> Handle {
    let rt = runtime(threads, time);
    let handle = rt.handle().clone();
    if threads == 1 {
        std::thread::Builder::new()
            .name("tokio-worker".into())
            .spawn(move || rt.block_on(std::future::pending::<()>()))
            .expect("thread");
    } else {
        // Never dropped: the child process ends (process::exit) without shutting it down, as
        // the C++ suites' children end with _exit.
        std::mem::forget(rt);
    }
    handle
}

/// A count-down latch for a thread outside the runtime (std has none).
struct Latch {
    count: AtomicUsize,
    done: Mutex<bool>,
    cv: Condvar,
}

impl Latch {
    fn new(count: usize) -> &'static Latch {
        Box::leak(Box::new(Latch {
            count: AtomicUsize::new(count),
            done: Mutex::new(false),
            cv: Condvar::new(),
        }))
    }
    fn count_down(&self) {
        if self.count.fetch_sub(1, AcqRel) == 1 {
            *self.done.lock().unwrap() = true;
            self.cv.notify_all();
        }
    }
    fn wait(&self) {
        let mut done = self.done.lock().unwrap();
        while !*done {
            done = self.cv.wait(done).unwrap();
        }
    }
}

// ---- checks -----------------------------------------------------------------------------------

/// `n` zeroed per-task cells (the "it ran" slots, the results), never freed: the child process
/// ends instead. A task bumps its own slot with a plain load and store, as the C++ and Go
/// versions do `++ran[i]`.
fn leaked<T: Default>(n: usize) -> &'static [T] {
    Box::leak(
        (0..n)
            .map(|_| T::default())
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    )
}

fn slots(n: usize) -> &'static [AtomicU8] {
    leaked(n)
}

fn values(n: usize) -> &'static [AtomicI64] {
    leaked(n)
}

fn bump(slot: &AtomicU8) {
    slot.store(slot.load(Relaxed).wrapping_add(1), Relaxed);
}

/// Every slot must be 1: each task ran exactly once.
fn check_ran_once(ran: &[AtomicU8]) -> Result<(), String> {
    for (i, r) in ran.iter().enumerate() {
        let r = r.load(SeqCst);
        if r != 1 {
            return Err(format!("task {i} ran {r} times"));
        }
    }
    Ok(())
}

/// n * (n - 1) / 2: the sum of 0 .. n-1.
fn triangle(n: i64) -> i64 {
    n * (n - 1) / 2
}

fn per(start: Instant, count: usize) -> f64 {
    start.elapsed().as_nanos() as f64 / count as f64
}

// ---- skynet: a 10-ary task tree of depth 6, 1M leaves; each node awaits its children ------

const SKYNET_LEAVES: i64 = 1_000_000;
const SKYNET_SUM: i64 = 499_999_500_000;

/// An inner node. Recursion in async code needs a box: inner nodes (111,111) are boxed, the
/// 1M leaves are plain async blocks.
fn skynet_node(number: i64, size: i64) -> Pin<Box<dyn Future<Output = i64> + Send>> {
    Box::pin(async move {
        let child = size / 10;
        let mut children = Vec::with_capacity(10);
        for i in 0..10 {
            let n = number + i * child;
            children.push(if child == 1 {
                tokio::spawn(async move { n })
            } else {
                tokio::spawn(skynet_node(n, child))
            });
        }
        let mut sum = 0;
        for c in children {
            sum += c.await.expect("skynet child");
        }
        sum
    })
}

fn skynet(threads: usize) -> Result<Outcome, String> {
    let rt = runtime(threads, false);
    let start = Instant::now();
    let sum = run_root(&rt, skynet_node(0, SKYNET_LEAVES))?;
    let ms = start.elapsed().as_nanos() as f64 / 1e6;
    if sum != SKYNET_SUM {
        return Err(format!("wrong sum {sum}"));
    }
    measured(ms)
}

// ---- spawn_join: one task spawns 1M trivial tasks, then joins them all (JoinHandles) ------

fn spawn_join(threads: usize) -> Result<Outcome, String> {
    const N: usize = 1_000_000;
    let ran = slots(N);
    let rt = runtime(threads, false);
    let start = Instant::now();
    let sum = run_root(&rt, async move {
        let mut handles = Vec::with_capacity(N);
        for i in 0..N {
            handles.push(tokio::spawn(async move {
                bump(&ran[i]);
                i as i64
            }));
        }
        let mut total = 0;
        for h in handles {
            total += h.await.expect("task");
        }
        total
    })?;
    let ns = per(start, N);
    check_ran_once(ran)?;
    if sum != triangle(N as i64) {
        return Err(format!("wrong sum {sum}"));
    }
    measured(ns)
}

// ---- gather_fanout: one task gathers 10k tasks with a JoinSet; 10 rounds -------------------

fn gather_fanout(threads: usize) -> Result<Outcome, String> {
    const N: usize = 10_000;
    const ROUNDS: usize = 10;
    let ran = slots(N * ROUNDS);
    let rt = runtime(threads, false);
    let start = Instant::now();
    let result = run_root(&rt, async move {
        let mut total = 0;
        for round in 0..ROUNDS {
            let mine = &ran[round * N..(round + 1) * N];
            let mut set = JoinSet::new();
            for i in 0..N {
                set.spawn(async move {
                    bump(&mine[i]);
                    i as i64
                });
            }
            let mut joined = 0;
            while let Some(r) = set.join_next().await {
                total += r.expect("task");
                joined += 1;
            }
            if joined != N {
                return Err(format!("round {round}: {joined} of {N} tasks joined"));
            }
        }
        Ok(total)
    })?;
    let ns = per(start, N * ROUNDS);
    let sum = result?;
    check_ran_once(ran)?;
    if sum != ROUNDS as i64 * triangle(N as i64) {
        return Err(format!("wrong sum {sum}"));
    }
    measured(ns)
}

// ---- yield_switch: two tasks on a current-thread runtime take turns with yield_now --------

fn yield_switch(threads: usize) -> Result<Outcome, String> {
    const YIELDS: i64 = 1_000_000; // per task
    static TURNS: AtomicI64 = AtomicI64::new(0);
    static LAST: AtomicI64 = AtomicI64::new(-1);
    static REPEATS: AtomicI64 = AtomicI64::new(0);
    // Each player checks that the other took the previous turn (whoever started), and yields.
    async fn play(me: i64) {
        for _ in 0..YIELDS {
            if LAST.swap(me, Relaxed) == me {
                REPEATS.fetch_add(1, Relaxed);
            }
            TURNS.fetch_add(1, Relaxed);
            tokio::task::yield_now().await;
        }
    }
    let rt = runtime(threads, false);
    let seconds = run_root(&rt, async {
        let start = Instant::now();
        let a = tokio::spawn(play(0));
        let b = tokio::spawn(play(1));
        a.await.expect("player");
        b.await.expect("player");
        start.elapsed().as_secs_f64()
    })?;
    let repeats = REPEATS.load(SeqCst);
    if TURNS.load(SeqCst) != 2 * YIELDS || repeats != 0 {
        return Err(format!(
            "the two tasks did not alternate ({repeats} of {} turns repeated)",
            2 * YIELDS
        ));
    }
    measured(seconds * 1e9 / (2 * YIELDS) as f64)
}

// ---- pingpong: a token goes back and forth over two mpsc channels of 1, 100k round trips ----

fn pingpong(threads: usize) -> Result<Outcome, String> {
    const ROUNDS: i32 = 100_000;
    let rt = runtime(threads, false);
    let (seconds, wrong) = run_root(&rt, async {
        let (ping_tx, mut ping_rx) = mpsc::channel::<i32>(1);
        let (pong_tx, mut pong_rx) = mpsc::channel::<i32>(1);
        let ponger = tokio::spawn(async move {
            for _ in 0..ROUNDS {
                let token = ping_rx.recv().await.expect("ping");
                pong_tx.send(token + 1).await.expect("pong");
            }
        });
        let mut wrong = 0;
        let start = Instant::now();
        for i in 0..ROUNDS {
            ping_tx.send(i).await.expect("ping");
            if pong_rx.recv().await != Some(i + 1) {
                wrong += 1;
            }
        }
        let seconds = start.elapsed().as_secs_f64();
        ponger.await.expect("ponger");
        (seconds, wrong)
    })?;
    if wrong != 0 {
        return Err(format!("{wrong} tokens came back wrong"));
    }
    measured(seconds * 1e9 / ROUNDS as f64)
}

// ---- foreign_submit: a std::thread outside the runtime submits 1M tasks (Handle::spawn) ----

fn foreign_submit(threads: usize) -> Result<Outcome, String> {
    const N: usize = 1_000_000;
    let handle = background_runtime(threads, false);
    // Every worker runs something first, as the C++ suites warm their pools.
    let warm = Latch::new(64);
    for _ in 0..64 {
        handle.spawn(async move { warm.count_down() });
    }
    warm.wait();
    let ran = slots(N);
    let vals = values(N);
    let done = Latch::new(N);
    let submitter = std::thread::Builder::new()
        .name("submitter".into())
        .spawn(move || {
            let start = Instant::now();
            for i in 0..N {
                // The JoinHandle is dropped at once: the task runs detached; the latch says
                // when all ran.
                handle.spawn(async move {
                    bump(&ran[i]);
                    vals[i].store(i as i64, Relaxed);
                    done.count_down();
                });
            }
            done.wait();
            per(start, N)
        })
        .expect("thread");
    let ns = submitter
        .join()
        .map_err(|_| "the submitting thread panicked".to_string())?;
    check_ran_once(ran)?;
    let sum: i64 = vals.iter().map(|v| v.load(SeqCst)).sum();
    if sum != triangle(N as i64) {
        return Err(format!("wrong sum {sum}"));
    }
    measured(ns)
}

// ---- suspended_memory: 1M tasks wait on one closed-later semaphore; RSS grown per task ------

fn resident_bytes() -> i64 {
    let text = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: i64 = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as i64
}

fn trim_heap() {
    // SAFETY: malloc_trim has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Ok if the kernel reports at least `bytes` available (MemAvailable), else why not.
fn check_available_memory(bytes: i64) -> Result<(), String> {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        if fields.next() == Some("MemAvailable:") {
            let kib: i64 = fields.next().and_then(|s| s.parse().ok()).unwrap_or(-1);
            if kib >= 0 && kib * 1024 < bytes {
                return Err(format!(
                    "needs about {:.1} GiB of free memory, the kernel has {:.1} GiB available",
                    bytes as f64 / 1073741824.0,
                    kib as f64 / 1048576.0
                ));
            }
        }
    }
    Ok(())
}

fn suspended_memory(threads: usize) -> Result<Outcome, String> {
    const N: i64 = 1_000_000;
    // A few hundred bytes a task; refuse rather than push the machine into the OOM killer.
    check_available_memory(N * 2 * 1024)?;
    let handle = background_runtime(threads, false);
    // The gate: tasks wait to acquire a permit of a semaphore that has none; closing it wakes
    // every waiter at once (with an error), as Go closes a channel and weft sets an Event.
    let gate: &'static Semaphore = Box::leak(Box::new(Semaphore::new(0)));
    static SUSPENDED: AtomicI64 = AtomicI64::new(0);
    static WOKE: AtomicI64 = AtomicI64::new(0);
    trim_heap();
    let before = resident_bytes();
    let spawner = handle.spawn(async move {
        let mut tasks = Vec::with_capacity(N as usize);
        for _ in 0..N {
            tasks.push(tokio::spawn(async move {
                SUSPENDED.fetch_add(1, SeqCst);
                let closed = gate.acquire().await.is_err();
                if closed {
                    WOKE.fetch_add(1, SeqCst);
                }
            }));
        }
        for t in tasks {
            t.await.expect("task");
        }
    });
    while SUSPENDED.load(SeqCst) < N {
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(Duration::from_millis(50)); // the last task is suspending: let it
    let during = resident_bytes();
    gate.close();
    handle
        .block_on(spawner)
        .map_err(|e| format!("the spawning task failed: {e}"))?;
    // Polled for up to 2 s, as the C++ suites do, until under half of the growth.
    let mut after = 0;
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(100));
        trim_heap();
        after = resident_bytes();
        if (after - before) * 2 <= during - before {
            break;
        }
    }
    let woke = WOKE.load(SeqCst);
    if woke != N {
        return Err(format!("{woke} of {N} tasks woke"));
    }
    let per_task = (during - before) as f64 / N as f64;
    let retained = (after - before) as f64 / N as f64;
    if retained > per_task / 2.0 {
        return Err(format!(
            "RSS not given back: {retained:.0} bytes per task still resident after all ended \
             ({per_task:.0} while suspended)"
        ));
    }
    Ok(Outcome {
        value: per_task,
        extra: vec![("retained_bytes_per_task", retained)],
    })
}

// ---- sleep_timers: 100k tasks each sleep 10 ms; first spawn to last join ----------------

fn sleep_timers(threads: usize) -> Result<Outcome, String> {
    const N: usize = 100_000;
    let rt = runtime(threads, true);
    let (seconds, woke) = run_root(&rt, async {
        let mut tasks = Vec::with_capacity(N);
        let start = Instant::now();
        for _ in 0..N {
            tasks.push(tokio::spawn(async {
                tokio::time::sleep(Duration::from_millis(10)).await;
                1i64
            }));
        }
        let mut woke = 0;
        for t in tasks {
            woke += t.await.expect("sleeper");
        }
        (start.elapsed().as_secs_f64(), woke)
    })?;
    if woke != N as i64 {
        return Err(format!("{woke} of {N} sleepers woke"));
    }
    measured(seconds * 1e3)
}

// ---- idle_cpu: CPU ms per second a started runtime with nothing to do burns, over 1 s -------

fn cpu_seconds() -> f64 {
    // SAFETY: getrusage writes the struct it is given; zeroed is a valid rusage.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

fn idle_cpu(threads: usize) -> Result<Outcome, String> {
    let handle = background_runtime(threads, true);
    // Run something on every worker first, so all have started and gone idle.
    let warm = Latch::new(64 * threads);
    for _ in 0..64 * threads {
        handle.spawn(async move { warm.count_down() });
    }
    warm.wait();
    std::thread::sleep(Duration::from_millis(100));
    let cpu = cpu_seconds();
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(1));
    measured((cpu_seconds() - cpu) * 1e3 / start.elapsed().as_secs_f64())
}

// ---- echo_single / echo / echo_many ----------------------------------------------------------

/// Echoes what comes (up to 4 KiB a read) until end-of-file.
async fn serve_echo(mut socket: TcpStream) {
    let mut buffer = vec![0u8; 4096];
    loop {
        let n = match socket.read(&mut buffer).await {
            Ok(0) | Err(_) => return, // end-of-file or an error
            Ok(n) => n,
        };
        if socket.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}

/// A minimal HTTP/1.1 keep-alive server, as the C++ ones: every request head (through its blank
/// line) gets the same 200 answer with Content-Length, until end-of-file. (hyper is not in
/// Debian 12's packaged crates this build uses.)
async fn serve_http(mut socket: TcpStream) {
    const RESPONSE: &[u8] =
        b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, World!";
    let mut inbox: Vec<u8> = Vec::with_capacity(4096);
    let mut buffer = vec![0u8; 4096];
    loop {
        let n = match socket.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        inbox.extend_from_slice(&buffer[..n]);
        while let Some(end) = inbox.windows(4).position(|w| w == b"\r\n\r\n") {
            inbox.drain(..end + 4);
            if socket.write_all(RESPONSE).await.is_err() {
                return;
            }
        }
    }
}

/// An echo (or HTTP) server on TcpListener / TcpStream, a task per connection, driven by the C++ load
/// generator (benchmarks/net/netload.cpp, $CMP_NETLOAD) that drives every runtime's server. The
/// figure is this process's CPU time per round trip (the server's: the client is another
/// process), as the C++ suite's and Go's.
fn serve(workload: &str, threads: usize) -> Result<Outcome, String> {
    let http = workload.starts_with("http");
    let load = std::env::var("CMP_NETLOAD").map_err(|_| {
        "CMP_NETLOAD is not set (tools/bench sets it to build/release/benchmarks/bench_netload)"
            .to_string()
    })?;
    let mut builder = if threads == 1 {
        Builder::new_current_thread()
    } else {
        let mut b = Builder::new_multi_thread();
        b.worker_threads(threads);
        b
    };
    let rt = builder.enable_io().build().map_err(|e| e.to_string())?;
    // TcpListener::bind listens with a backlog of 1024: echo_many's 1,000 connections fit.
    let listener = rt
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .map_err(|e| format!("bind: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let args = [
        "--port".to_string(),
        port.to_string(),
        "--workload".to_string(),
        workload.to_string(),
    ];
    let before = cpu_seconds();
    let output = rt.block_on(async move {
        let server = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let _ = socket.set_nodelay(true);
                if http {
                    tokio::spawn(serve_http(socket));
                } else {
                    tokio::spawn(serve_echo(socket));
                }
            }
        });
        // The client waits on a blocking-pool thread: on one worker the runtime is driven by
        // this block_on, which must not block.
        let client =
            tokio::task::spawn_blocking(move || Command::new(load).args(args).output()).await;
        server.abort();
        client
    });
    let cpu = cpu_seconds() - before;
    let output = output
        .map_err(|e| format!("the client task failed: {e}"))?
        .map_err(|e| format!("cannot run bench_netload: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let fields: Vec<&str> = text.split_whitespace().collect();
    let number = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let round_trips = number(1);
    if !output.status.success() || fields.first() != Some(&"ok") || round_trips <= 0.0 {
        return Err(format!("bench_netload ({}): {text}", output.status));
    }
    // Never dropped: the child process ends without shutting the runtime down.
    std::mem::forget(rt);
    let mut extra = vec![
        ("wall_ns_per_round_trip", number(2) * 1e9 / round_trips),
        ("p50_latency_ns", number(3)),
        ("p99_latency_ns", number(4)),
    ];
    // The mode's own figures, "key=value" after the five fields (idle_conns, echo_syscalls).
    for field in fields.iter().skip(5) {
        if let Some((key, value)) = field.split_once('=') {
            if let Ok(v) = value.parse::<f64>() {
                let key: &'static str = Box::leak(key.to_string().into_boxed_str());
                extra.push((key, v));
            }
        }
    }
    Ok(Outcome {
        value: cpu * 1e9 / round_trips,
        extra,
    })
}

fn echo_single(threads: usize) -> Result<Outcome, String> {
    serve("echo_single", threads)
}

fn echo(threads: usize) -> Result<Outcome, String> {
    serve("echo", threads)
}

fn echo_many(threads: usize) -> Result<Outcome, String> {
    serve("echo_many", threads)
}

fn http(threads: usize) -> Result<Outcome, String> {
    serve("http", threads)
}

fn stream(threads: usize) -> Result<Outcome, String> {
    serve("stream", threads)
}

/// 10,000 connections: the soft descriptor limit is raised to the hard one first.
fn idle_conns(threads: usize) -> Result<Outcome, String> {
    // SAFETY: getrlimit / setrlimit on a local struct.
    unsafe {
        let mut files = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut files) == 0 && files.rlim_cur < files.rlim_max
        {
            files.rlim_cur = files.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &files);
        }
    }
    serve("idle_conns", threads)
}

fn echo_syscalls(threads: usize) -> Result<Outcome, String> {
    serve("echo_syscalls", threads)
}

fn http_wrk(threads: usize) -> Result<Outcome, String> {
    serve("http_wrk", threads)
}

fn http_wrk_pipelined(threads: usize) -> Result<Outcome, String> {
    serve("http_wrk_pipelined", threads)
}

// ---- driver -----------------------------------------------------------------------------------

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_number(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else {
        "0".into()
    }
}

fn result_line(w: &Workload, threads: usize, result: &Result<Outcome, String>) -> String {
    let mut line = format!(
        "{{\"bench\":{},\"runtime\":\"tokio\",\"threads\":{threads},",
        json_string(w.name)
    );
    match result {
        Ok(o) => {
            line += &format!(
                "\"value\":{},\"unit\":{},\"ok\":true",
                json_number(o.value),
                json_string(w.unit)
            );
            if !o.extra.is_empty() {
                let fields: Vec<String> = o
                    .extra
                    .iter()
                    .map(|(k, v)| format!("{}:{}", json_string(k), json_number(*v)))
                    .collect();
                line += &format!(",\"extra\":{{{}}}", fields.join(","));
            }
        }
        Err(e) => {
            line += &format!(
                "\"value\":0,\"unit\":{},\"ok\":false,\"error\":{}",
                json_string(w.unit),
                json_string(e)
            );
        }
    }
    line + "}"
}

fn parse_workers(list: &str) -> Result<Vec<usize>, String> {
    let mut counts = Vec::new();
    for item in list.split(',') {
        match item.trim().parse::<usize>() {
            Ok(n) if (1..=4096).contains(&n) => {
                if !counts.contains(&n) {
                    counts.push(n);
                }
            }
            _ => return Err(format!("-workers {list:?}: {item:?} is not a worker count")),
        }
    }
    Ok(counts)
}

fn usage(why: &str) -> ! {
    eprintln!("tokiobench: {why}");
    eprintln!(
        "usage: tokiobench -list [-workers 1,2,...] | -bench NAME -threads N -reps N [-child]"
    );
    std::process::exit(2);
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut list, mut child) = (false, false);
    let (mut bench, mut threads, mut reps) = (String::new(), 1usize, 1usize);
    let mut workers = DEFAULT_WORKERS.to_vec();
    if let Ok(env) = std::env::var("CMP_WORKERS") {
        if !env.is_empty() {
            workers = parse_workers(&env).unwrap_or_else(|e| usage(&e));
        }
    }
    while let Some(arg) = args.next() {
        let flag = arg.trim_start_matches('-');
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{arg} needs a value")))
        };
        match flag {
            "list" => list = true,
            "child" => child = true,
            "bench" => bench = value(),
            "threads" => {
                threads = value()
                    .parse()
                    .unwrap_or_else(|_| usage("-threads: not a number"))
            }
            "reps" => {
                reps = value()
                    .parse()
                    .unwrap_or_else(|_| usage("-reps: not a number"))
            }
            "workers" => workers = parse_workers(&value()).unwrap_or_else(|e| usage(&e)),
            _ => usage(&format!("unknown argument {arg:?}")),
        }
    }

    if list {
        for w in WORKLOADS {
            let counts = match w.fixed_threads {
                Some(n) => vec![n],
                None => workers.clone(),
            };
            for t in counts {
                println!("{}/tokio/threads:{t}", w.name);
            }
        }
        return;
    }
    let w = WORKLOADS
        .iter()
        .find(|w| w.name == bench)
        .unwrap_or_else(|| usage(&format!("unknown workload {bench:?} (see -list)")));
    if threads == 0 {
        usage("-threads must be at least 1");
    }
    let mut out = std::io::stdout();
    if child {
        let result = (w.run)(threads);
        let _ = writeln!(out, "{}", result_line(w, threads, &result));
        let _ = out.flush();
        // The runtime's threads may still be running: end without shutting them down.
        std::process::exit(if result.is_ok() { 0 } else { 1 });
    }
    let exe = std::env::current_exe().unwrap_or_else(|e| usage(&format!("current_exe: {e}")));
    let mut failed = false;
    for _ in 0..reps {
        let output = Command::new(&exe)
            .args(["-child", "-bench", w.name, "-threads", &threads.to_string()])
            .stderr(Stdio::inherit())
            .output();
        let line = match &output {
            Ok(o) => String::from_utf8_lossy(&o.stdout)
                .lines()
                .rev()
                .find(|l| l.starts_with('{'))
                .map(str::to_string),
            Err(_) => None,
        };
        let line = match line {
            Some(l) if l.contains("\"ok\":true") => l,
            Some(l) if l.contains("\"ok\":false") => {
                failed = true;
                l
            }
            _ => {
                failed = true;
                let status = match &output {
                    Ok(o) => format!("{}", o.status),
                    Err(e) => e.to_string(),
                };
                let why = format!("the child process ended without a result ({status})");
                result_line(w, threads, &Err(why))
            }
        };
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
    if failed {
        std::process::exit(1);
    }
}
