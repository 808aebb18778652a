package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// mixFigures measures replay speed, replay memory, selective replay and store size on the 5-channel mix
// (mix.go): a store of secs seconds (1x) and one four times as long (4x), the baselines in the same run.
func mixFigures(f map[string]any, quick bool, bin string) error {
	secs := 200
	if quick {
		secs = 40
	}
	root, err := os.MkdirTemp("", "okxtape-bench-mix")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	one, four := filepath.Join(root, "1x"), filepath.Join(root, "4x")
	counts, err := writeMix(one, secs)
	if err != nil {
		return fmt.Errorf("writing the mix: %w", err)
	}
	if _, err := writeMix(four, 4*secs); err != nil {
		return fmt.Errorf("writing the 4x mix: %w", err)
	}
	f["mix"] = fmt.Sprintf("%d s of 8 instruments x (tickers 20/s, trades 60/s, books 20/s, books5 20/s, bbo-tbt 100/s) "+
		"+ derived quotes + raw frames; 4x: %d s", secs, 4*secs)
	if err := storeFigures(f, one, counts); err != nil {
		return err
	}

	// Replay in-process on one core vs pqarrow reading all columns of the same files: three runs, each
	// measuring both in one process one after the other; medians (the machine is shared and noisy). Each
	// benchmark replays (reads) the whole 1x store 10 times and reports the mean: the steady state of a long
	// replay. The first pass also sizes the reused buffers; with 3 passes that start-up was about 4 % of
	// replay's figure, which on a real day's replay it is not.
	var epsRuns, arrowRuns, ratioRuns, heapRuns []float64
	for range 3 {
		rp, err := runBench("./replay/", "^Benchmark(Replay|ArrowReadBaseline)$", "10x", "GOMAXPROCS=1", "OKXTAPE_BENCH_STORE="+one)
		if err != nil {
			return err
		}
		eps, arrow := rp["BenchmarkReplay"].Extra["events/s"], rp["BenchmarkArrowReadBaseline"].Extra["rows/s"]
		if eps == 0 || arrow == 0 {
			return fmt.Errorf("replay benchmarks missing: %v", rp)
		}
		epsRuns, arrowRuns = append(epsRuns, eps), append(arrowRuns, arrow)
		ratioRuns = append(ratioRuns, eps/arrow)
		heapRuns = append(heapRuns, rp["BenchmarkReplay"].Extra["peak-heap-MiB"])
	}
	f["replay_events_per_s"] = round(median(epsRuns), 0)
	f["replay_arrow_read_rows_per_s"] = round(median(arrowRuns), 0)
	f["replay_vs_arrow_read"] = round(median(ratioRuns), 3)
	f["replay_vs_arrow_read_runs"] = roundAll(ratioRuns, 3)
	f["replay_peak_heap_mib"] = round(slices.Max(heapRuns), 1)
	if rp2, err := runBench("./replay/", "^BenchmarkReplay$", "3x", "OKXTAPE_BENCH_STORE="+one); err == nil {
		f["replay_events_per_s_all_cores"] = round(rp2["BenchmarkReplay"].Extra["events/s"], 0)
	}

	// The replay binary: peak RSS on 1x and 4x, and selective replays vs the full one.
	full1, rss1, err := replayProcess(bin, one, 3)
	if err != nil {
		return err
	}
	_, rss4, err := replayProcess(bin, four, 3)
	if err != nil {
		return err
	}
	f["replay_rss_mb_1x"], f["replay_rss_mb_4x"] = rss1, rss4
	f["replay_rss_4x_over_1x"] = round(rss4/rss1, 3)
	// Selective replays as rounds of (full, --inst, --channels), one process each, interleaved so that the
	// machine's drift falls on both sides of each ratio; the figure is the median of the rounds' ratios. A
	// 15-20 ms process is noisy (the first of three runs was often the slowest), hence seven rounds.
	var instRuns, chRuns []float64
	for range selectiveRounds {
		full, _, err := replayProcess(bin, one, 1)
		if err != nil {
			return err
		}
		inst, _, err := replayProcess(bin, one, 1, "--inst", "BTC-USDT")
		if err != nil {
			return err
		}
		ch, _, err := replayProcess(bin, one, 1, "--channels", "tickers")
		if err != nil {
			return err
		}
		instRuns, chRuns = append(instRuns, inst/full), append(chRuns, ch/full)
	}
	inst, ch := median(instRuns), median(chRuns)
	f["replay_selective_inst_ratio"] = round(inst, 3)
	f["replay_selective_channels_ratio"] = round(ch, 3)
	f["replay_selective_ratio"] = round(max(inst, ch), 3)
	f["replay_selective_inst_ratio_runs"] = roundAll(instRuns, 3)
	f["replay_process_wall_s_1x"] = round(full1, 3)
	return nil
}

// storeFigures adds the mix's rows per dataset, its store size per row of each dataset and the information
// floor of the tickers' and trades' columns (floor.go) for the mix written under dir.
func storeFigures(f map[string]any, dir string, counts mixCounts) error {
	f["mix_rows"] = counts
	for key, ds := range map[string]string{"parquet_bytes_per_ticker": "tickers", "parquet_bytes_per_trade": "trades",
		"parquet_bytes_per_book_row": "books", "parquet_bytes_per_quote": "quotes", "raw_bytes_per_frame": "raw"} {
		size, err := dirSize(filepath.Join(dir, ds))
		if err != nil || counts[ds] == 0 {
			return fmt.Errorf("size of %s: %v (%d rows)", ds, err, counts[ds])
		}
		f[key] = round(float64(size)/float64(counts[ds]), 2)
	}
	return floorFigures(dir, f)
}

// writtenMixFigures writes secs seconds of the mix under dir (-write-mix) and adds its store figures.
func writtenMixFigures(f map[string]any, dir string, secs int) error {
	counts, err := writeMix(dir, secs)
	if err != nil {
		return fmt.Errorf("writing the mix: %w", err)
	}
	return storeFigures(f, dir, counts)
}

// selectiveRounds is how many (full, --inst, --channels) rounds the selective ratios take the median of.
const selectiveRounds = 7

// replayProcess runs `replay run --speed max` over dir runs times and returns the median wall time (from the
// summary) and the largest peak RSS in MB.
func replayProcess(bin, dir string, runs int, args ...string) (wall, rssMB float64, err error) {
	var walls []float64
	for range runs {
		cmd := exec.Command(filepath.Join(bin, "replay"), append([]string{"run", "--data", dir, "--speed", "max",
			"--log-level", "warn", "--no-progress"}, args...)...)
		cmd.Stderr = os.Stderr
		var stdout strings.Builder
		cmd.Stdout = &stdout
		peak, err := runPeakRSS(cmd)
		out := []byte(stdout.String())
		if err != nil {
			return 0, 0, fmt.Errorf("replay run %s: %v", strings.Join(args, " "), err)
		}
		var sum struct {
			Wall   float64 `json:"wall_s"`
			Events uint64  `json:"events"`
		}
		if err := json.Unmarshal([]byte(lastLine(out)), &sum); err != nil || sum.Events == 0 {
			return 0, 0, fmt.Errorf("replay run %s: summary %q: %v", strings.Join(args, " "), lastLine(out), err)
		}
		walls = append(walls, sum.Wall)
		rssMB = max(rssMB, peak)
		log.Printf("replay run %s: %d events, %.3f s, %.1f MB", strings.Join(args, " "), sum.Events, sum.Wall, rssMB)
	}
	return median(walls), rssMB, nil
}

func sortedCopy(v []float64) []float64 {
	out := append([]float64(nil), v...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".parquet") {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	return n, err
}

// runPeakRSS runs cmd and returns its peak RSS in MB, polling VmHWM in /proc every few ms. (The rusage
// Maxrss of a child counts the parent's RSS at the fork, which a large benchreport process would dominate.)
func runPeakRSS(cmd *exec.Cmd) (float64, error) {
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	done := make(chan struct{})
	peak := make(chan float64, 1)
	go func() {
		m := 0.0
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			m = max(m, procKB(cmd.Process.Pid, "VmHWM:")/1024)
			select {
			case <-done:
				peak <- round(m, 1)
				return
			case <-t.C:
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	return <-peak, err
}
