//! hyperbench: the HTTP workloads of the comparison run on hyper 0.14 (HTTP/1.1 only) over a
//! Tokio runtime, beside tokiobench's hand-written server and Go's net/http. Same command line
//! and output as benchmarks/go and benchmarks/tokio:
//!
//!     hyperbench -list [-workers 1,2]                   the workload names, one a line
//!     hyperbench -bench http_wrk -threads 2 -reps 3     3 measurements, one JSON line each
//!
//! Each repetition runs in a fresh child process (-child). The server: TcpListener::accept, a
//! task per connection running `Http::serve_connection` with a service that answers every request
//! with "Hello, World!" (hyper adds Content-Length and Date), as a hyper user would write it. The
//! load generator is bench_netload ($CMP_NETLOAD), which checks every response; the figure is
//! this process's CPU time per request.

use std::convert::Infallible;
use std::process::Command;

use hyper::server::conn::Http;
use hyper::service::service_fn;
use hyper::{Body, Request, Response};
use tokio::net::TcpListener;
use tokio::runtime::Builder;

const WORKLOADS: &[&str] = &["http", "http_wrk", "http_wrk_pipelined"];
const UNIT: &str = "cpu ns/request";

async fn hello(_: Request<Body>) -> Result<Response<Body>, Infallible> {
    Ok(Response::builder()
        .header("Content-Type", "text/plain")
        .body(Body::from("Hello, World!"))
        .expect("a valid response"))
}

fn cpu_seconds() -> f64 {
    // SAFETY: getrusage fills a zeroed struct.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(usage.ru_utime) + t(usage.ru_stime)
}

/// (value, extras) of one measurement, or why it failed.
fn measure(workload: &str, threads: usize) -> Result<(f64, Vec<(String, f64)>), String> {
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
                tokio::spawn(async move {
                    let _ = Http::new()
                        .http1_only(true)
                        .serve_connection(socket, service_fn(hello))
                        .await;
                });
            }
        });
        // On one worker this block_on drives the runtime: the client waits on a blocking thread.
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
    let requests = number(1);
    if !output.status.success() || fields.first() != Some(&"ok") || requests <= 0.0 {
        return Err(format!("bench_netload ({}): {text}", output.status));
    }
    std::mem::forget(rt); // the child process ends without shutting the runtime down
    Ok((
        cpu * 1e9 / requests,
        vec![
            (
                "wall_ns_per_round_trip".to_string(),
                number(2) * 1e9 / requests,
            ),
            ("p50_latency_ns".to_string(), number(3)),
            ("p99_latency_ns".to_string(), number(4)),
        ],
    ))
}

fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out + "\""
}

fn result_line(
    bench: &str,
    threads: usize,
    result: &Result<(f64, Vec<(String, f64)>), String>,
) -> String {
    let head = format!(
        "{{\"bench\":{},\"runtime\":\"hyper\",\"threads\":{threads},\"unit\":{},",
        quoted(bench),
        quoted(UNIT)
    );
    match result {
        Ok((value, extra)) => {
            let fields: Vec<String> = extra
                .iter()
                .map(|(k, v)| format!("{}:{v}", quoted(k)))
                .collect();
            format!(
                "{head}\"value\":{value},\"ok\":true,\"extra\":{{{}}}}}",
                fields.join(",")
            )
        }
        Err(e) => format!("{head}\"value\":0,\"ok\":false,\"error\":{}}}", quoted(e)),
    }
}

fn usage(why: &str) -> ! {
    eprintln!("hyperbench: {why}");
    eprintln!(
        "usage: hyperbench -list [-workers 1,2,...] | -bench NAME -threads N -reps N [-child]"
    );
    std::process::exit(2);
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut list, mut child) = (false, false);
    let (mut bench, mut threads, mut reps) = (String::new(), 1usize, 1usize);
    let mut workers = std::env::var("CMP_WORKERS").unwrap_or_default();
    if workers.is_empty() {
        workers = "1,2".into();
    }
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{arg} needs a value")))
        };
        match arg.trim_start_matches('-') {
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
            "workers" => workers = value(),
            _ => usage(&format!("unknown argument {arg:?}")),
        }
    }
    if list {
        for w in WORKLOADS {
            for t in workers.split(',') {
                let t: usize = t
                    .trim()
                    .parse()
                    .unwrap_or_else(|_| usage("-workers: not a list of numbers"));
                println!("{w}/hyper/threads:{t}");
            }
        }
        return;
    }
    if !WORKLOADS.contains(&bench.as_str()) {
        usage(&format!("unknown workload {bench:?} (see -list)"));
    }
    if threads == 0 {
        usage("-threads must be at least 1");
    }
    if child {
        let result = measure(&bench, threads);
        println!("{}", result_line(&bench, threads, &result));
        std::process::exit(if result.is_ok() { 0 } else { 1 });
    }
    let me = std::env::current_exe().unwrap_or_else(|e| usage(&format!("current_exe: {e}")));
    let mut failed = false;
    for _ in 0..reps {
        let out = Command::new(&me)
            .args(["-child", "-bench", &bench, "-threads", &threads.to_string()])
            .output();
        let text = out
            .as_ref()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        if text.starts_with('{') && text.contains("\"ok\":true") {
            println!("{text}");
        } else {
            failed = true;
            if text.starts_with('{') {
                println!("{text}");
            } else {
                println!(
                    "{}",
                    result_line(
                        &bench,
                        threads,
                        &Err("the child process ended without a result".into())
                    )
                );
            }
        }
    }
    std::process::exit(if failed { 1 } else { 0 });
}
