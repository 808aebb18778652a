package main

import (
	"encoding/json"
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
	one, err := runBench("./store/parquet/", "RecorderTickersToParquet", n, "GOMAXPROCS=1")
	if err != nil {
		return err
	}
	eps := one["BenchmarkRecorderTickersToParquet"].Extra["events/s"]
	f["record_parquet_events_per_s"] = round(eps, 0)
	f["record_parquet_pipeline_bytes_per_ticker"] = round(one["BenchmarkRecorderTickersToParquet"].Extra["B/row"], 1)
	st, err := runBench("./store/parquet/", "ParquetTickerSize", "1x")
	if err != nil {
		return err
	}
	bpr := st["BenchmarkParquetTickerSize"].Extra["B/row"]
	f["parquet_bytes_per_ticker_1m_random_walk"] = round(bpr, 1)
	f["parquet_write_rows_per_s"] = round(st["BenchmarkParquetTickerSize"].Extra["rows/s"], 0)
	if h, err := runBench("./store/", "RecorderHandle", bt); err == nil {
		f["recorder_handle_ns"] = round(h["BenchmarkRecorderHandle"].NsPerOp, 0)
		f["recorder_handle_allocs"] = h["BenchmarkRecorderHandle"].AllocsPerOp
	}
	target("record_parquet_events_per_s", eps >= 200000, ">= 200k/s")

	// ClickHouse, when a server is reachable (the benchmark skips otherwise).
	if ch, err := runBench("./store/clickhouse/", "ClickHouseInsert", bt); err == nil {
		for name, r := range ch {
			if strings.Contains(name, "tickers/insert") {
				f["record_clickhouse_events_per_s"] = round(r.Extra["rows/s"], 0)
			}
		}
	}
	if _, ok := f["record_clickhouse_events_per_s"]; !ok {
		f["record_clickhouse_events_per_s"] = "no server reachable"
	}

	bin, err := buildBinaries()
	if err != nil {
		return err
	}
	defer os.RemoveAll(bin)
	// Replay and store size, all on the same 5-channel mix (mixsuite.go).
	if err := mixFigures(f, quick, bin); err != nil {
		return err
	}
	// Processes: recorder RSS after a sustained run, recorder CPU per frame vs --no-store.
	if err := processFigures(f, quick, bin); err != nil {
		return err
	}
	if err := liveFigures(f, quick, bin); err != nil {
		return err
	}
	num := func(k string) float64 { v, _ := f[k].(float64); return v }
	target("replay_events_per_s", num("replay_events_per_s") >= 5e6, ">= 5M/s on one core")
	target("replay_vs_arrow_read", num("replay_vs_arrow_read") >= 0.7, ">= 0.7")
	target("replay_rss_mb_1x", num("replay_rss_mb_1x") <= 150, "<= 150 MB")
	target("replay_rss_mb_4x", num("replay_rss_mb_4x") <= 150 && num("replay_rss_4x_over_1x") <= 1.25, "<= 150 MB and <= 1.25 x 1x")
	target("replay_selective_ratio", num("replay_selective_ratio") <= 0.2, "<= 0.2")
	target("live_p99_ratio", num("live_p99_ratio") <= 1.3, "<= 1.3")
	target("live_p999_ratio", num("live_p999_ratio") <= 2, "<= 2")
	target("recorder_rss_mb", num("recorder_rss_mb") <= 150, "<= 150 MB")
	target("recorder_cpu_vs_nostore", num("recorder_cpu_vs_nostore") <= 1.3, "<= 1.3")
	for k, goal := range map[string]float64{"parquet_bytes_per_ticker": 16, "parquet_bytes_per_trade": 7,
		"parquet_bytes_per_book_row": 36, "raw_bytes_per_frame": 30} {
		target(k, num(k) <= goal, fmt.Sprintf("<= %g B", goal))
	}
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
	// Recorder on and off interleaved, three runs each; each figure is the median of its three runs.
	var ons, offs []map[string]float64
	for range 3 {
		on, err := liveLatency(20000, dur, true, sim)
		if err != nil {
			return err
		}
		off, err := liveLatency(20000, dur, false, sim)
		if err != nil {
			return err
		}
		ons, offs = append(ons, on), append(offs, off)
	}
	on, off := medianRun(ons), medianRun(offs)
	inproc, err := liveLatency(20000, dur, true, "")
	if err != nil {
		return err
	}
	f["live_latency_p50_us"], f["live_latency_p99_us"], f["live_latency_p999_us"] = on["p50"], on["p99"], on["p999"]
	f["live_frames_per_s"] = on["frames_per_s"]
	f["live_latency_recorder_off_p50_us"], f["live_latency_recorder_off_p99_us"] = off["p50"], off["p99"]
	f["live_latency_sim_in_process_p50_us"], f["live_latency_sim_in_process_p99_us"] = inproc["p50"], inproc["p99"]
	f["live_p99_us_recorder_on"], f["live_p99_us_recorder_off"] = on["p99"], off["p99"]
	f["live_p999_us_recorder_on"], f["live_p999_us_recorder_off"] = on["p999"], off["p999"]
	f["live_p99_ratio"] = round(on["p99"]/off["p99"], 3)
	f["live_p999_ratio"] = round(on["p999"]/off["p999"], 3)
	f["live_runs"] = "recorder on/off interleaved, 3 runs each of " + dur.String() + "; medians"
	return nil
}

// medianRun returns, per figure, the median over the runs.
func medianRun(runs []map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k := range runs[0] {
		var v []float64
		for _, r := range runs {
			v = append(v, r[k])
		}
		out[k] = median(v)
	}
	return out
}

// median returns the middle value of v (the upper one of an even count).
func median(v []float64) float64 { return sortedCopy(v)[len(v)/2] }

// roundAll rounds every value of v.
func roundAll(v []float64, digits int) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = round(x, digits)
	}
	return out
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

// processFigures measures the record binary as a separate process: RSS over a sustained run, then CPU per
// frame with the Parquet sink vs --no-store.
func processFigures(f map[string]any, quick bool, bin string) error {
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
	return recorderCPU(f, bin, time.Duration(secs/2)*time.Second)
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// rssMB reads a process's resident set size.
func rssMB(pid int) float64 { return round(procKB(pid, "VmRSS:")/1024, 1) }

// procKB reads one kB field (VmRSS:, VmHWM:) of /proc/PID/status; 0 when unavailable.
func procKB(pid int, field string) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, field) {
			var kb float64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, field)), "%f", &kb)
			return kb
		}
	}
	return 0
}

// recorderRSS runs okxsim at 20k frames/s and the record binary (default flags, Parquet) against it for d,
// sampling record's RSS.
func recorderRSS(bin string, d time.Duration) (map[string]any, error) {
	out, err := os.MkdirTemp("", "okxtape-bench-rec")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(out)
	run, err := recordRun(bin, d, out)
	if err != nil {
		return nil, err
	}
	samples := run.samples
	third := len(samples) / 3
	early, late := maxOf(samples[third:2*third]), maxOf(samples[2*third:])
	return map[string]any{
		"recorder_rss_mb":             late,
		"recorder_rss_growth_pct":     round((late-early)/early*100, 1),
		"recorder_rss_samples_mb":     samples,
		"recorder_peak_rss_mb":        run.peakMB,
		"recorder_rss_run_s":          d.Seconds(),
		"recorder_rss_frames_per_s":   round(float64(run.frames)/d.Seconds(), 0),
		"recorder_rss_growth_between": "max RSS of the middle third vs the last third of the run",
		"recorder_cpu_s_per_mframe":   round(run.cpuS/float64(run.frames)*1e6, 2),
	}, nil
}

// recording is what one record run measured.
type recording struct {
	samples []float64 // RSS once a second, MB
	peakMB  float64
	cpuS    float64 // user + system CPU seconds of the record process
	frames  uint64  // push frames received
}

// recordRun runs okxsim at about 20k frames/s (10 instruments x tickers, trades, books5, bbo-tbt at 500/s)
// and the record binary against it for d, with the Parquet sink writing under out, or --no-store when out is "".
func recordRun(bin string, d time.Duration, out string) (*recording, error) {
	port := freePort()
	sim := exec.Command(filepath.Join(bin, "okxsim"), "--listen", port, "--instruments", "20", "--rate", "500", "--max-conn-per-sec", "-1")
	if err := sim.Start(); err != nil {
		return nil, err
	}
	defer func() { sim.Process.Signal(syscall.SIGINT); sim.Wait() }()
	if err := waitHTTP("http://" + port + "/stats"); err != nil {
		return nil, err
	}
	insts := []string{}
	for _, b := range []string{"BTC", "ETH", "SOL", "XRP", "DOGE", "ADA", "TRX", "LINK", "DOT", "LTC"} {
		insts = append(insts, b+"-USDT")
	}
	args := []string{"--ws-url", "ws://" + port, "--rest-url", "http://" + port,
		"--channels", "tickers,trades,books5,bbo-tbt", "--inst", strings.Join(insts, ","),
		"--duration", d.String(), "--log-level", "warn"}
	if out == "" {
		args = append(args, "--no-store")
	} else {
		args = append(args, "--out", out)
	}
	rec := exec.Command(filepath.Join(bin, "record"), args...)
	var stdout strings.Builder
	rec.Stdout = &stdout
	if err := rec.Start(); err != nil {
		return nil, err
	}
	r := &recording{}
	start := time.Now()
	for time.Since(start) < d-time.Second {
		time.Sleep(time.Second)
		r.samples = append(r.samples, rssMB(rec.Process.Pid))
		r.peakMB = max(r.peakMB, round(procKB(rec.Process.Pid, "VmHWM:")/1024, 1))
	}
	if err := rec.Wait(); err != nil {
		log.Printf("record exited: %v", err)
	}
	if len(r.samples) < 4 {
		return nil, fmt.Errorf("too few RSS samples")
	}
	ru := rec.ProcessState.SysUsage().(*syscall.Rusage)
	r.cpuS = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	var sum struct {
		Ingest struct {
			Frames map[string]uint64 `json:"frames"`
		} `json:"ingest"`
	}
	if err := json.Unmarshal([]byte(lastLine([]byte(stdout.String()))), &sum); err != nil {
		return nil, fmt.Errorf("record summary: %v", err)
	}
	for _, n := range sum.Ingest.Frames {
		r.frames += n
	}
	if r.frames == 0 {
		return nil, fmt.Errorf("record received no frames")
	}
	return r, nil
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
