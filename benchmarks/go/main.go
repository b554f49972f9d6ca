// gobench: the comparison run's workloads written with goroutines, Go being the reference M:N
// scheduler weft is compared with (docs/performance.md, "Comparison"). tools/bench builds and
// runs it; it needs nothing outside the standard library.
//
//	gobench -list [-workers 1,2,4]                  the workload names, one a line
//	gobench -bench skynet -threads 2 -reps 3        3 measurements, one JSON line each
//
// Each repetition runs in a fresh child process (this program re-executed with -child), as the
// C++ suites fork one per measurement, with GOMAXPROCS = threads. A line looks like
//
//	{"bench":"skynet","runtime":"go","threads":2,"value":540.2,"unit":"ms","ok":true}
//
// and a workload whose own check fails prints "ok":false with an "error" and makes the exit
// status 1.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type result struct {
	Bench   string             `json:"bench"`
	Runtime string             `json:"runtime"`
	Threads int                `json:"threads"`
	Value   float64            `json:"value"`
	Unit    string             `json:"unit"`
	OK      bool               `json:"ok"`
	Error   string             `json:"error,omitempty"`
	Extra   map[string]float64 `json:"extra,omitempty"`
}

// A workload returns its figure, or an error when its own check fails. threads: the worker
// counts it runs at; nil: those of -workers (or $CMP_WORKERS, else 1,2).
type workload struct {
	name    string
	unit    string
	threads []int
	run     func(threads int) (float64, map[string]float64, error)
}

var workloads = []workload{
	{"skynet", "ms", nil, skynet},
	{"spawn_join", "ns/task", nil, spawnJoin},
	{"gather_fanout", "ns/task", nil, gatherFanout},
	{"yield_switch", "ns/switch", []int{1}, yieldSwitch},
	{"pingpong", "ns/round trip", nil, pingpong},
	{"suspended_memory", "bytes/task", []int{2}, suspendedMemory},
	{"sleep_timers", "ms", nil, sleepTimers},
	{"idle_cpu", "cpu ms/s", nil, idleCPU},
	{"echo_single", "cpu ns/round trip", nil, echoServer("echo_single")},
	{"echo", "cpu ns/round trip", nil, echoServer("echo")},
	{"echo_many", "cpu ns/round trip", nil, echoServer("echo_many")},
	{"http", "cpu ns/request", nil, httpServer("http")},
	{"stream", "cpu ns/message", nil, echoServer("stream")},
	{"idle_conns", "cpu ns/connection", nil, echoServer("idle_conns")},
	{"echo_syscalls", "cpu ns/round trip", nil, echoServer("echo_syscalls")},
	{"http_wrk", "cpu ns/request", nil, httpServer("http_wrk")},
	{"http_wrk_pipelined", "cpu ns/request", nil, httpServer("http_wrk_pipelined")},
}

const defaultWorkers = "1,2"

// "1,2,4" -> [1 2 4], duplicates dropped, order kept.
func parseWorkers(list string) ([]int, error) {
	var counts []int
	for _, item := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(item))
		if err != nil || n < 1 || n > 4096 {
			return nil, fmt.Errorf("-workers %q: %q is not a worker count (1 to 4096)", list, item)
		}
		seen := false
		for _, c := range counts {
			seen = seen || c == n
		}
		if !seen {
			counts = append(counts, n)
		}
	}
	return counts, nil
}

// ---- skynet: a 10-ary goroutine tree of depth 6, 1M leaves; sums come back over channels.

const skynetLeaves = 1_000_000
const skynetSum = 499_999_500_000

func skynetNode(out chan<- int64, number, size int64) {
	if size == 1 {
		out <- number
		return
	}
	child := size / 10
	sums := make(chan int64, 10)
	for i := int64(0); i < 10; i++ {
		go skynetNode(sums, number+i*child, child)
	}
	var sum int64
	for i := 0; i < 10; i++ {
		sum += <-sums
	}
	out <- sum
}

func skynet(int) (float64, map[string]float64, error) {
	start := time.Now()
	out := make(chan int64, 1)
	go skynetNode(out, 0, skynetLeaves)
	sum := <-out
	ms := float64(time.Since(start).Nanoseconds()) / 1e6
	if sum != skynetSum {
		return 0, nil, fmt.Errorf("wrong sum %d", sum)
	}
	return ms, nil, nil
}

// ---- spawn_join / gather_fanout: spawn n goroutines, each records that it ran, then join all.

func spawnAndJoin(n int, ran []uint8, values []int64) int64 {
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func(i int) {
			ran[i]++
			values[i] = int64(i)
			wg.Done()
		}(i)
	}
	wg.Wait()
	var sum int64
	for _, v := range values {
		sum += v
	}
	return sum
}

func checkRanOnce(ran []uint8) error {
	for i, r := range ran {
		if r != 1 {
			return fmt.Errorf("task %d ran %d times", i, r)
		}
	}
	return nil
}

func triangle(n int64) int64 { return n * (n - 1) / 2 }

func spawnJoin(int) (float64, map[string]float64, error) {
	const n = 1_000_000
	ran := make([]uint8, n)
	values := make([]int64, n)
	start := time.Now()
	sum := spawnAndJoin(n, ran, values)
	ns := float64(time.Since(start).Nanoseconds()) / n
	if err := checkRanOnce(ran); err != nil {
		return 0, nil, err
	}
	if sum != triangle(n) {
		return 0, nil, fmt.Errorf("wrong sum %d", sum)
	}
	return ns, nil, nil
}

func gatherFanout(int) (float64, map[string]float64, error) {
	const n, rounds = 10_000, 10
	ran := make([]uint8, n*rounds)
	values := make([]int64, n)
	start := time.Now()
	var sum int64
	for r := 0; r < rounds; r++ {
		sum += spawnAndJoin(n, ran[r*n:(r+1)*n], values)
	}
	ns := float64(time.Since(start).Nanoseconds()) / (n * rounds)
	if err := checkRanOnce(ran); err != nil {
		return 0, nil, err
	}
	if sum != rounds*triangle(n) {
		return 0, nil, fmt.Errorf("wrong sum %d", sum)
	}
	return ns, nil, nil
}

// ---- yield_switch: two goroutines on one P take turns with runtime.Gosched, 1M times each.

func yieldSwitch(int) (float64, map[string]float64, error) {
	const yields = 1_000_000
	var turns, repeats, last int64 = 0, 0, -1
	var wg sync.WaitGroup
	// Each player checks that the other took the previous turn (whoever started), and yields.
	player := func(me int64) {
		for i := 0; i < yields; i++ {
			if atomic.SwapInt64(&last, me) == me {
				atomic.AddInt64(&repeats, 1)
			}
			atomic.AddInt64(&turns, 1)
			runtime.Gosched()
		}
		wg.Done()
	}
	wg.Add(2)
	start := time.Now()
	go player(0)
	go player(1)
	wg.Wait()
	ns := float64(time.Since(start).Nanoseconds()) / (2 * yields)
	// Gosched puts the goroutine on the global run queue, which the scheduler serves first on
	// every 61st tick: then the same goroutine runs twice in a row (about 3 % of the turns).
	// Allow up to 5 %.
	if atomic.LoadInt64(&turns) != 2*yields || repeats > 2*yields/20 {
		return 0, nil, fmt.Errorf("the two goroutines did not alternate (%d of %d turns repeated)", repeats, 2*yields)
	}
	return ns, map[string]float64{"repeated_turns": float64(repeats)}, nil
}

// ---- pingpong: a token goes back and forth over two unbuffered channels, 100k round trips.

func pingpong(int) (float64, map[string]float64, error) {
	const rounds = 100_000
	ping, pong := make(chan int), make(chan int)
	go func() {
		for i := 0; i < rounds; i++ {
			pong <- (<-ping) + 1
		}
	}()
	wrong := 0
	start := time.Now()
	for i := 0; i < rounds; i++ {
		ping <- i
		if <-pong != i+1 {
			wrong++
		}
	}
	ns := float64(time.Since(start).Nanoseconds()) / rounds
	if wrong != 0 {
		return 0, nil, fmt.Errorf("%d tokens came back wrong", wrong)
	}
	return ns, nil, nil
}

// ---- suspended_memory: 1M goroutines blocked on one channel; RSS grown per goroutine.

func residentBytes() int64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(data))
	if len(fields) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(fields[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

func releaseMemory() {
	runtime.GC()
	debug.FreeOSMemory()
}

// Empty if the kernel reports at least `bytes` available (MemAvailable), else why not.
func checkAvailableMemory(bytes int64) error {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return nil
	}
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) >= 2 && fields[0] == "MemAvailable:" {
			kib, _ := strconv.ParseInt(fields[1], 10, 64)
			if kib*1024 < bytes {
				return fmt.Errorf("needs about %.1f GiB of free memory, the kernel has %.1f GiB available",
					float64(bytes)/(1<<30), float64(kib)/(1<<20))
			}
		}
	}
	return nil
}

func suspendedMemory(int) (float64, map[string]float64, error) {
	const n = 1_000_000
	// About 2.7 KiB a goroutine; refuse rather than push the machine into the OOM killer.
	if err := checkAvailableMemory(n * 5 * 1024); err != nil {
		return 0, nil, err
	}
	releaseMemory()
	before := residentBytes()
	gate := make(chan struct{})
	var suspended, woke atomic.Int64
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			suspended.Add(1)
			<-gate
			woke.Add(1)
			wg.Done()
		}()
	}
	for suspended.Load() < n {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	during := residentBytes()
	close(gate)
	wg.Wait()
	// Polled for up to 2 s, as the C++ suites do, until under half of the growth.
	var after int64
	for i := 0; i < 20; i++ {
		time.Sleep(100 * time.Millisecond)
		releaseMemory()
		after = residentBytes()
		if (after-before)*2 <= during-before {
			break
		}
	}
	if woke.Load() != n {
		return 0, nil, fmt.Errorf("%d of %d goroutines woke", woke.Load(), n)
	}
	perTask := float64(during-before) / n
	retained := float64(after-before) / n
	if retained > perTask/2 {
		return 0, nil, fmt.Errorf("RSS not given back: %.0f bytes per goroutine still resident after all ended (%.0f while suspended)", retained, perTask)
	}
	return perTask, map[string]float64{"retained_bytes_per_task": retained}, nil
}

// ---- sleep_timers: 100k goroutines each sleep 10 ms; first spawn to last join.

func sleepTimers(int) (float64, map[string]float64, error) {
	const n = 100_000
	var woke atomic.Int64
	var wg sync.WaitGroup
	wg.Add(n)
	start := time.Now()
	for i := 0; i < n; i++ {
		go func() {
			time.Sleep(10 * time.Millisecond)
			woke.Add(1)
			wg.Done()
		}()
	}
	wg.Wait()
	ms := float64(time.Since(start).Nanoseconds()) / 1e6
	if woke.Load() != n {
		return 0, nil, fmt.Errorf("%d of %d sleepers woke", woke.Load(), n)
	}
	return ms, nil, nil
}

// ---- idle_cpu: CPU milliseconds per second the process burns over 1 s with nothing to do.

func cpuSeconds() float64 {
	var usage syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &usage)
	return float64(usage.Utime.Nano()+usage.Stime.Nano()) / 1e9
}

func idleCPU(threads int) (float64, map[string]float64, error) {
	// Run something on every P first, so all have started and gone idle.
	var wg sync.WaitGroup
	wg.Add(64 * threads)
	for i := 0; i < 64*threads; i++ {
		go wg.Done()
	}
	wg.Wait()
	time.Sleep(100 * time.Millisecond)
	cpu := cpuSeconds()
	start := time.Now()
	time.Sleep(time.Second)
	return (cpuSeconds() - cpu) * 1e3 / time.Since(start).Seconds(), nil, nil
}

// ---- echo_single / echo / echo_many: a net package echo server, a goroutine per connection,
// driven by the C++ load generator (benchmarks/net/netload.cpp, $CMP_NETLOAD) that drives every
// runtime's server. The figure is this process's CPU time per round trip (the server's: the
// client is another process), as the C++ suite's.

func echoConn(conn net.Conn) {
	defer conn.Close()
	buffer := make([]byte, 4096)
	for {
		n, err := conn.Read(buffer)
		if err != nil {
			return // io.EOF included
		}
		if _, err := conn.Write(buffer[:n]); err != nil {
			return
		}
	}
}

// Runs the load generator against the server listening on ln; the figure is this process's CPU
// time per round trip (request).
func driveLoad(ln net.Listener, workload string) (float64, map[string]float64, error) {
	load := os.Getenv("CMP_NETLOAD")
	if load == "" {
		return 0, nil, fmt.Errorf("CMP_NETLOAD is not set (tools/bench sets it to build/release/benchmarks/bench_netload)")
	}
	port := ln.Addr().(*net.TCPAddr).Port
	before := cpuSeconds()
	out, err := exec.Command(filepath.Clean(load), "--port", strconv.Itoa(port), "--workload", workload).Output()
	cpu := cpuSeconds() - before
	var word string
	var roundTrips, seconds, p50, p99 float64
	fmt.Sscan(string(out), &word, &roundTrips, &seconds, &p50, &p99)
	if err != nil || word != "ok" || roundTrips <= 0 {
		return 0, nil, fmt.Errorf("bench_netload (%v): %s", err, strings.TrimSpace(string(out)))
	}
	extra := map[string]float64{
		"wall_ns_per_round_trip": seconds * 1e9 / roundTrips,
		"p50_latency_ns":         p50,
		"p99_latency_ns":         p99,
	}
	// The mode's own figures, "key=value" after the five fields (idle_conns, echo_syscalls).
	for _, field := range strings.Fields(string(out)) {
		if key, value, ok := strings.Cut(field, "="); ok {
			if v, err := strconv.ParseFloat(value, 64); err == nil {
				extra[key] = v
			}
		}
	}
	return cpu * 1e9 / roundTrips, extra, nil
}

func echoServer(workload string) func(int) (float64, map[string]float64, error) {
	return func(int) (float64, map[string]float64, error) {
		// net.Listen's backlog is the kernel's somaxconn (4096 on Debian 12): echo_many's 1,000
		// connections fit.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, nil, err
		}
		defer ln.Close()
		go func() {
			for {
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				go echoConn(conn) // TCP_NODELAY is Go's default
			}
		}()
		return driveLoad(ln, workload)
	}
}

// ---- http: net/http with a handler that answers every request with the same short body (the
// other runtimes run a minimal hand-written HTTP/1.1 server; Go's is the standard library's, as
// a Go server author would write it, and does more: it parses every header and adds Date).

var httpBody = []byte("Hello, World!")

func httpServer(workload string) func(int) (float64, map[string]float64, error) {
	return func(int) (float64, map[string]float64, error) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, nil, err
		}
		server := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("Content-Length", strconv.Itoa(len(httpBody)))
			w.Write(httpBody)
		})}
		go server.Serve(ln)
		defer server.Close()
		return driveLoad(ln, workload)
	}
}

// ---- driver

func find(name string) *workload {
	for i := range workloads {
		if workloads[i].name == name {
			return &workloads[i]
		}
	}
	return nil
}

func emit(r result) {
	line, _ := json.Marshal(r)
	fmt.Println(string(line))
}

func main() {
	list := flag.Bool("list", false, "print the workload names (bench/go/threads:N) and exit")
	workersDefault := os.Getenv("CMP_WORKERS")
	if workersDefault == "" {
		workersDefault = defaultWorkers
	}
	workers := flag.String("workers", workersDefault, "worker counts for -list, e.g. 1,2,4,8")
	bench := flag.String("bench", "", "the workload to run")
	threads := flag.Int("threads", 1, "GOMAXPROCS")
	reps := flag.Int("reps", 1, "repetitions, each in a fresh process")
	child := flag.Bool("child", false, "internal: run one repetition in this process")
	flag.Parse()

	if *list {
		counts, err := parseWorkers(*workers)
		if err != nil {
			fmt.Fprintf(os.Stderr, "gobench: %v\n", err)
			os.Exit(2)
		}
		for _, w := range workloads {
			threads := w.threads
			if threads == nil {
				threads = counts
			}
			for _, t := range threads {
				fmt.Printf("%s/go/threads:%d\n", w.name, t)
			}
		}
		return
	}
	w := find(*bench)
	if w == nil {
		fmt.Fprintf(os.Stderr, "gobench: unknown workload %q (see -list)\n", *bench)
		os.Exit(2)
	}
	if *child {
		runtime.GOMAXPROCS(*threads)
		value, extra, err := w.run(*threads)
		r := result{Bench: w.name, Runtime: "go", Threads: *threads, Value: value, Unit: w.unit,
			OK: err == nil, Extra: extra}
		if err != nil {
			r.Error = err.Error()
		}
		emit(r)
		if err != nil {
			os.Exit(1)
		}
		return
	}
	failed := false
	for i := 0; i < *reps; i++ {
		cmd := exec.Command(os.Args[0], "-child", "-bench", w.name, "-threads", strconv.Itoa(*threads))
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		text := strings.TrimSpace(string(out))
		var r result
		if jerr := json.Unmarshal([]byte(text), &r); jerr != nil {
			r = result{Bench: w.name, Runtime: "go", Threads: *threads, Unit: w.unit,
				Error: fmt.Sprintf("the child process ended without a result (%v)", err)}
		}
		if !r.OK {
			failed = true
		}
		emit(r)
	}
	if failed {
		os.Exit(1)
	}
}
