package main

import (
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// runSuite fills figures with every named figure of the suite.
func runSuite(f map[string]any, quick bool) error {
	bt := "1s"
	if quick {
		bt = "200ms"
	}
	var missed []string
	target := func(name string, ok bool, want string) {
		if !ok {
			missed = append(missed, name+" (target "+want+")")
		}
	}

	// Decoding: ours vs encoding/json + strconv into the same event, same run.
	dec, err := runBench("./ingest/decode/", "^BenchmarkDecode", bt)
	if err != nil {
		return err
	}
	for _, c := range []struct{ name, bench string }{{"ticker", "Ticker"}, {"trade", "Trade"}, {"book400", "Book400"}} {
		ours, base := dec["BenchmarkDecode"+c.bench], dec["BenchmarkDecode"+c.bench+"Baseline"]
		if ours.NsPerOp == 0 || base.NsPerOp == 0 {
			return fmt.Errorf("decode benchmarks for %s missing", c.bench)
		}
		sp := round(base.NsPerOp/ours.NsPerOp, 2)
		f["decode_"+c.name+"_speedup"] = sp
		f["decode_"+c.name+"_ns"] = round(ours.NsPerOp, 0)
		f["decode_"+c.name+"_allocs"] = ours.AllocsPerOp
		f["decode_"+c.name+"_baseline_allocs"] = base.AllocsPerOp
		target("decode_"+c.name+"_speedup", sp >= 4, ">= 4x")
		target("decode_"+c.name+"_allocs", ours.AllocsPerOp == 0, "0")
	}

	// Dispatch: 3 typed handlers through the engine vs a bare []func loop.
	disp, err := runBench("./engine/", "Dispatch|BaselineFuncSlice", bt)
	if err != nil {
		return err
	}
	d := disp["BenchmarkDispatch"]
	f["dispatch_ns_per_handler"] = round(d.Extra["ns/handler"], 2)
	f["dispatch_allocs"] = d.AllocsPerOp
	f["dispatch_baseline_ns_per_handler"] = round(disp["BenchmarkBaselineFuncSlice"].NsPerOp/3, 2)
	target("dispatch_ns_per_handler", d.Extra["ns/handler"] <= 25, "<= 25 ns")

	// Order books.
	bk, err := runBench("./ingest/book/", ".", bt)
	if err != nil {
		return err
	}
	f["book_delta10_on_400_ns"] = round(bk["BenchmarkBookUpdate10"].NsPerOp, 0)
	f["book_delta10_allocs"] = bk["BenchmarkBookUpdate10"].AllocsPerOp
	f["book_checksum_400_ns"] = round(bk["BenchmarkChecksum400"].NsPerOp, 0)
	f["book_manager_apply_ns"] = round(bk["BenchmarkManagerApply"].NsPerOp, 0)
	f["book_snapshot400_baseline_ns"] = round(bk["BenchmarkBookSnapshot400"].NsPerOp, 0)

	// Derived datasets: derive's handlers per input event (books and trades, two snapshot configurations and two
	// bar sizes) and what a snapshot row costs in Parquet.
	dv, err := runBench("./derive/", "^BenchmarkDerive$", bt)
	if err != nil {
		return err
	}
	f["derive_events_per_s"] = round(dv["BenchmarkDerive"].Extra["events/s"], 0)
	f["derive_allocs"] = dv["BenchmarkDerive"].AllocsPerOp
	if sz, err := runBench("./derive/", "SnapshotRowBytes", "1x"); err == nil {
		f["book_snapshot_5at1s_parquet_bytes_per_row"] = round(sz["BenchmarkSnapshotRowBytes/5@1s"].Extra["parquet-B/row"], 1)
		f["book_snapshot_25at100ms_parquet_bytes_per_row"] = round(sz["BenchmarkSnapshotRowBytes/25@100ms"].Extra["parquet-B/row"], 1)
	}

	// Recording into Parquet (spool included) and file size.
	n := "1000000x"
	if quick {
		n = "300000x"
	}
	one, err := runBench("./store/", "RecorderTickersToParquet", n, "GOMAXPROCS=1")
	if err != nil {
		return err
	}
	eps := one["BenchmarkRecorderTickersToParquet"].Extra["events/s"]
	f["record_parquet_events_per_s"] = round(eps, 0)
	f["record_parquet_pipeline_bytes_per_ticker"] = round(one["BenchmarkRecorderTickersToParquet"].Extra["B/row"], 1)
	st, err := runBench("./store/", "ParquetTickerSize|RecorderHandle", "1x")
	if err != nil {
		return err
	}
	bpr := st["BenchmarkParquetTickerSize"].Extra["B/row"]
	f["parquet_bytes_per_ticker"] = round(bpr, 1)
	f["parquet_write_rows_per_s"] = round(st["BenchmarkParquetTickerSize"].Extra["rows/s"], 0)
	if h, err := runBench("./store/", "RecorderHandle", bt); err == nil {
		f["recorder_handle_ns"] = round(h["BenchmarkRecorderHandle"].NsPerOp, 0)
		f["recorder_handle_allocs"] = h["BenchmarkRecorderHandle"].AllocsPerOp
	}
	target("record_parquet_events_per_s", eps >= 200000, ">= 200k/s")
	target("parquet_bytes_per_ticker", bpr <= 16, "<= 16 B")

	// ClickHouse, when a server is reachable (the benchmark skips otherwise).
	if ch, err := runBench("./store/", "ClickHouseInsert", bt); err == nil {
		for name, r := range ch {
			if strings.Contains(name, "tickers/insert") {
				f["record_clickhouse_events_per_s"] = round(r.Extra["rows/s"], 0)
			}
		}
	}
	if _, ok := f["record_clickhouse_events_per_s"]; !ok {
		f["record_clickhouse_events_per_s"] = "no server reachable"
	}

	// Replay: Parquet → merge → engine → no-op strategy, 1M tickers, in-process (one core and default).
	rp, err := runBench("./replay/", "^BenchmarkReplay$", "1x")
	if err != nil {
		return err
	}
	rps := rp["BenchmarkReplay"].Extra["events/s"]
	f["replay_events_per_s"] = round(rps, 0)
	f["replay_peak_heap_mib"] = round(rp["BenchmarkReplay"].Extra["peak-heap-MiB"], 1)
	if rp1, err := runBench("./replay/", "^BenchmarkReplay$", "1x", "GOMAXPROCS=1"); err == nil {
		f["replay_events_per_s_one_core"] = round(rp1["BenchmarkReplay"].Extra["events/s"], 0)
	}
	target("replay_events_per_s", rps >= 5e6, ">= 5M/s")

	bin, err := buildBinaries()
	if err != nil {
		return err
	}
	defer os.RemoveAll(bin)
	// Processes: replay peak RSS on a stored 1M-ticker range, recorder RSS after a sustained run.
	if err := processFigures(f, quick, bin); err != nil {
		return err
	}

	if err := liveFigures(f, quick, bin); err != nil {
		return err
	}
	target("live_latency_p99_us", f["live_latency_p99_us"].(float64) <= 250, "<= 250 µs")
	f["targets_missed"] = missed
	return nil
}

// runLive measures only the live-latency figures (benchreport -live-only).
func runLive(f map[string]any, quick bool) error {
	bin, err := buildBinaries()
	if err != nil {
		return err
	}
	defer os.RemoveAll(bin)
	return liveFigures(f, quick, bin)
}

// liveFigures measures latency over loopback at 20k frames/s with the Parquet recorder on (and off, and
// with the simulator in-process, for reference).
func liveFigures(f map[string]any, quick bool, bin string) error {
	dur := 10 * time.Second
	if quick {
		dur = 4 * time.Second
	}
	// The headline runs the simulator as its own process (as the exchange is); the in-process variant shares
	// one Go runtime (scheduler, GC) between the fake exchange and the recorder.
	sim := filepath.Join(bin, "okxsim")
	on, err := liveLatency(20000, dur, true, sim)
	if err != nil {
		return err
	}
	off, err := liveLatency(20000, dur, false, sim)
	if err != nil {
		return err
	}
	inproc, err := liveLatency(20000, dur, true, "")
	if err != nil {
		return err
	}
	f["live_latency_p50_us"], f["live_latency_p99_us"], f["live_latency_p999_us"] = on["p50"], on["p99"], on["p999"]
	f["live_frames_per_s"] = on["frames_per_s"]
	f["live_latency_recorder_off_p50_us"], f["live_latency_recorder_off_p99_us"] = off["p50"], off["p99"]
	f["live_latency_sim_in_process_p50_us"], f["live_latency_sim_in_process_p99_us"] = inproc["p50"], inproc["p99"]
	return nil
}

// buildBinaries builds record, replay and okxsim into a temporary folder.
func buildBinaries() (string, error) {
	bin, err := os.MkdirTemp("", "okxtape-bench-bin")
	if err != nil {
		return "", err
	}
	if out, err := exec.Command("go", "build", "-o", bin+"/", "./cmd/record", "./cmd/replay", "./cmd/okxsim").CombinedOutput(); err != nil {
		os.RemoveAll(bin)
		return "", fmt.Errorf("build: %v\n%s", err, out)
	}
	return bin, nil
}

// processFigures measures the binaries as separate processes.
func processFigures(f map[string]any, quick bool, bin string) error {
	data, err := os.MkdirTemp("", "okxtape-bench-data")
	if err != nil {
		return err
	}
	defer os.RemoveAll(data)
	n := 1 << 20
	if err := writeTickers(data, n); err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(bin, "replay"), "run", "--data", data, "--speed", "max", "--log-level", "warn")
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("replay run: %v", err)
	}
	f["replay_peak_rss_mb"] = round(float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)/1024, 1)
	f["replay_process_summary"] = lastLine(out)

	secs := 40
	if quick {
		secs = 12
	}
	rss, err := recorderRSS(bin, time.Duration(secs)*time.Second)
	if err != nil {
		return err
	}
	for k, v := range rss {
		f[k] = v
	}
	return nil
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// rssMB reads a process's resident set size.
func rssMB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			var kb float64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, "VmRSS:")), "%f", &kb)
			return round(kb/1024, 1)
		}
	}
	return 0
}

// recorderRSS runs okxsim at 20k frames/s and the record binary against it for d, sampling record's RSS.
func recorderRSS(bin string, d time.Duration) (map[string]any, error) {
	port := freePort()
	sim := exec.Command(filepath.Join(bin, "okxsim"), "--listen", port, "--instruments", "20", "--rate", "500", "--max-conn-per-sec", "-1")
	if err := sim.Start(); err != nil {
		return nil, err
	}
	defer func() { sim.Process.Signal(syscall.SIGINT); sim.Wait() }()
	time.Sleep(500 * time.Millisecond)
	out, _ := os.MkdirTemp("", "okxtape-bench-rec")
	defer os.RemoveAll(out)
	insts := []string{}
	for _, b := range []string{"BTC", "ETH", "SOL", "XRP", "DOGE", "ADA", "TRX", "LINK", "DOT", "LTC"} {
		insts = append(insts, b+"-USDT")
	}
	rec := exec.Command(filepath.Join(bin, "record"), "--ws-url", "ws://"+port, "--rest-url", "http://"+port,
		"--channels", "tickers,trades,books5,bbo-tbt", "--inst", strings.Join(insts, ","), "--out", out,
		"--duration", d.String(), "--log-level", "warn")
	rec.Stdout = nil
	if err := rec.Start(); err != nil {
		return nil, err
	}
	var samples []float64
	start := time.Now()
	for time.Since(start) < d-time.Second {
		time.Sleep(time.Second)
		samples = append(samples, rssMB(rec.Process.Pid))
	}
	if err := rec.Wait(); err != nil {
		log.Printf("record exited: %v", err)
	}
	if len(samples) < 4 {
		return nil, fmt.Errorf("too few RSS samples")
	}
	third := len(samples) / 3
	early, late := maxOf(samples[third:2*third]), maxOf(samples[2*third:])
	return map[string]any{
		"recorder_rss_mb":             late,
		"recorder_rss_growth_pct":     round((late-early)/early*100, 1),
		"recorder_rss_samples_mb":     samples,
		"recorder_peak_rss_mb":        round(float64(rec.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)/1024, 1),
		"recorder_rss_run_s":          d.Seconds(),
		"recorder_rss_frames_per_s":   "about 20000 (10 instruments x 4 channels x 500/s)",
		"recorder_rss_growth_between": "max RSS of the middle third vs the last third of the run",
	}, nil
}

func maxOf(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		if x > m {
			m = x
		}
	}
	return m
}

// runSoak records from the simulator for d and reports RSS over time (make soak; not part of CI).
func runSoak(d time.Duration, f map[string]any) error {
	bin, err := buildBinaries()
	if err != nil {
		return err
	}
	defer os.RemoveAll(bin)
	rss, err := recorderRSS(bin, d)
	if err != nil {
		return err
	}
	for k, v := range rss {
		f["soak_"+k] = v
	}
	return nil
}
