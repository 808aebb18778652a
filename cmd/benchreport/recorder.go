package main

import (
	"fmt"
	"os"
	"time"
)

// recorderCPU measures record's CPU per frame with the Parquet sink and with --no-store, back to back, then
// the floor of that ratio: the writer work no recorder can skip, measured by BenchmarkRecorderFloor
// (store/parquet) on the store the Parquet run wrote (the same frames and rows), one core.
func recorderCPU(f map[string]any, bin string, d time.Duration) error {
	out, err := os.MkdirTemp("", "okxtape-bench-rec")
	if err != nil {
		return err
	}
	defer os.RemoveAll(out)
	on, err := recordRun(bin, d, out)
	if err != nil {
		return err
	}
	off, err := recordRun(bin, d, "")
	if err != nil {
		return err
	}
	per := func(r *recording) float64 { return r.cpuS / float64(r.frames) }
	f["recorder_cpu_us_per_frame"] = round(per(on)*1e6, 2)
	f["recorder_cpu_us_per_frame_nostore"] = round(per(off)*1e6, 2)
	f["recorder_cpu_vs_nostore"] = round(per(on)/per(off), 3)
	return recorderFloor(f, out, per(off)*1e6)
}

// rawFrameGoal is the raw_bytes_per_frame goal (B): the floor compresses raw frames at the cheapest level that
// meets it on the recorder's frames.
const rawFrameGoal = 30

// recorderFloor runs BenchmarkRecorderFloor three times on store (medians) and sets the floor figures:
// recorder_cpu_floor_vs_nostore = 1 + (raw frames' zstd + encoding every row) ÷ the --no-store CPU per frame.
func recorderFloor(f map[string]any, store string, nostoreUs float64) error {
	fig := map[string][]float64{}
	for range 3 {
		r, err := runBench("./store/parquet/", "^BenchmarkRecorderFloor$", "3x", "GOMAXPROCS=1", "OKXTAPE_BENCH_STORE="+store)
		if err != nil {
			return err
		}
		for name, res := range r {
			fig[name+" ns"] = append(fig[name+" ns"], res.Extra["ns/frame"])
			fig[name+" B"] = append(fig[name+" B"], res.Extra["B/frame"])
		}
	}
	get := func(sub, unit string) (float64, error) {
		v := fig["BenchmarkRecorderFloor/"+sub+" "+unit]
		if len(v) == 0 || unit == "ns" && median(v) == 0 {
			return 0, fmt.Errorf("recorder floor benchmark: no %s %s", sub, unit)
		}
		return median(v), nil
	}
	// The writer's level is 7; the floor takes 3 (klauspost's default encoder, the cheaper one) when the raw
	// dataset meets the goal with it on these frames.
	level := 7
	for _, l := range []int{3, 7} {
		b, err := get(fmt.Sprintf("raw_table_l%d", l), "B")
		if err != nil {
			return err
		}
		f[fmt.Sprintf("recorder_raw_bytes_per_frame_l%d", l)] = round(b, 2)
		if l == 3 && b <= rawFrameGoal {
			level = 3
		}
	}
	zs := map[int]float64{}
	for _, l := range []int{3, 7} {
		ns, err := get(fmt.Sprintf("raw_zstd_l%d", l), "ns")
		if err != nil {
			return err
		}
		zs[l] = ns / 1e3
		f[fmt.Sprintf("recorder_raw_zstd_l%d_us_per_frame", l)] = round(ns/1e3, 3)
	}
	enc, err := get("encode", "ns")
	if err != nil {
		return err
	}
	table, err := get(fmt.Sprintf("raw_table_l%d", level), "ns")
	if err != nil {
		return err
	}
	all, err := get("write_all", "ns")
	if err != nil {
		return err
	}
	f["recorder_write_all_us_per_frame"] = round(all/1e3, 3)
	f["recorder_floor_raw_level"] = level
	f["recorder_raw_zstd_us_per_frame"] = round(zs[level], 3)
	f["recorder_raw_table_us_per_frame"] = round(table/1e3, 3)
	f["recorder_encode_us_per_frame"] = round(enc/1e3, 3)
	f["recorder_floor_us_per_frame"] = round(zs[level]+enc/1e3, 3)
	f["recorder_cpu_floor_vs_nostore"] = round(1+(zs[level]+enc/1e3)/nostoreUs, 3)
	return nil
}
