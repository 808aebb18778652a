package replay

import (
	"context"
	"os"
	"runtime/debug"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/okxtape/okxtape/store/parquet"

	"github.com/okxtape/okxtape/engine"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

const benchTickers = 1 << 20

var (
	benchOnce sync.Once
	benchDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// benchStore returns the store named by OKXTAPE_BENCH_STORE (cmd/benchreport's 5-channel mix), else writes
// 1M tickers over 4 instruments once per test binary run.
func benchStore(b *testing.B) string {
	if dir := os.Getenv("OKXTAPE_BENCH_STORE"); dir != "" {
		return dir
	}
	benchOnce.Do(func() {
		dir, err := os.MkdirTemp("", "okxtape-replay-bench-")
		if err != nil {
			b.Fatal(err)
		}
		benchDir = dir
		insts := []string{"BTC-USDT", "ETH-USDT", "SOL-USDT", "XRP-USDT"}
		evs := make([]schema.Stored, 0, benchTickers)
		for i := 0; i < benchTickers; i++ {
			evs = append(evs, ticker(uint64(1000+i), day0+int64(i/4), insts[i%4], 100+float64(i%1000)/10))
		}
		writeStore(b, dir, parquet.Options{}, evs)
	})
	return benchDir
}

// replayGC applies the replay binary's GC settings (cmd/replay: GOGC 400 under a 80 MiB soft limit) for
// the duration of a benchmark, so the figures are those of the product; restore undoes it.
func replayGC() (restore func()) {
	gc, lim := debug.SetGCPercent(400), debug.SetMemoryLimit(80<<20)
	return func() { debug.SetGCPercent(gc); debug.SetMemoryLimit(lim) }
}

// BenchmarkReplay is Parquet → merge → engine → a no-op strategy, one op = every event of the store (1M
// stored tickers, or the OKXTAPE_BENCH_STORE mix), with the replay binary's GC settings.
func BenchmarkReplay(b *testing.B) {
	defer replayGC()()
	dir := benchStore(b)
	src := NewParquetSource(dir)
	// Peak heap in use, sampled every 2 ms (includes garbage not yet collected).
	peak, stop := samplePeakHeap(2 * time.Millisecond)
	defer stop()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	var events uint64
	for i := 0; i < b.N; i++ {
		s, err := Open(context.Background(), src, store.Query{}, ReplayTables())
		if err != nil {
			b.Fatal(err)
		}
		e := NewEngine(s, store.Query{}, engine.Options{})
		var sum float64
		engine.On(e, "noop", func(t *schema.Ticker) { sum += t.Last })
		st, err := Run(context.Background(), e, s, RunOptions{})
		s.Close()
		if err != nil || st.Events == 0 || os.Getenv("OKXTAPE_BENCH_STORE") == "" && st.Events != benchTickers {
			b.Fatalf("events %d err %v", st.Events, err)
		}
		events += st.Events
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(events)/(processCPU()-cpu0).Seconds(), "events/cpu-s")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
}

// BenchmarkReplaySelective is BenchmarkReplay with the selections of replay_selective_ratio (one
// instrument of the mix, one channel), each a sub-benchmark, so their cost can be profiled in-process.
func BenchmarkReplaySelective(b *testing.B) {
	defer replayGC()()
	dir := benchStore(b)
	for _, c := range []struct {
		name string
		q    store.Query
	}{{"all", store.Query{}}, {"inst", store.Query{Insts: []string{"BTC-USDT"}}}, {"channel", store.Query{Channels: []string{"tickers"}}}} {
		b.Run(c.name, func(b *testing.B) {
			src := NewParquetSource(dir)
			var events uint64
			for i := 0; i < b.N; i++ {
				s, err := Open(context.Background(), src, c.q, ReplayTables())
				if err != nil {
					b.Fatal(err)
				}
				st, err := Run(context.Background(), NewEngine(s, c.q, engine.Options{}), s, RunOptions{})
				s.Close()
				if err != nil || st.Events == 0 {
					b.Fatalf("events %d err %v", st.Events, err)
				}
				events += st.Events
			}
			b.ReportMetric(float64(events)/float64(b.N), "events/op")
		})
	}
}

// BenchmarkReadParquetBaseline is the same files through parquet.ReadFile alone (no copy, merge or engine):
// the ceiling for BenchmarkReplay, measured in the same run.
func BenchmarkReadParquetBaseline(b *testing.B) {
	dir := benchStore(b)
	parts, err := parquet.ListParts(dir, "tickers", zeroTime, zeroTime)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		for _, p := range parts {
			if err := parquet.ReadFile(p.Path, func(schema.Stored) error { n++; return nil }); err != nil {
				b.Fatal(err)
			}
		}
		if n != benchTickers {
			b.Fatalf("read %d", n)
		}
	}
	b.ReportMetric(float64(benchTickers)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// TestMergeIsAllocationFree checks that, once parts are loaded, taking events off the merged stream
// allocates nothing.
func TestMergeIsAllocationFree(t *testing.T) {
	insts := []string{"BTC-USDT", "ETH-USDT", "SOL-USDT", "XRP-USDT"}
	const n = 1 << 14
	var tickers, trades []schema.Stored
	for i := 0; i < n; i++ {
		tickers = append(tickers, ticker(uint64(2*i+1), day0+int64(i/4), insts[i%4], 1))
		trades = append(trades, trade(uint64(2*i+2), day0+int64(i/4), insts[(i+1)%4], int64(i), 1))
	}
	src := memSource{schema.KindTicker: {tickers}, schema.KindTrade: {trades}}
	s, err := Open(context.Background(), src, store.Query{}, ReplayTables())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.Peek(); !ok {
		t.Fatal("empty stream")
	}
	s.Next()
	if a := testing.AllocsPerRun(10000, func() { s.Next() }); a != 0 {
		t.Fatalf("%v allocations per event", a)
	}
}

// BenchmarkArrowReadBaseline reads every column of the files replay reads (every ReplayTables dataset of
// the bench store) with arrow-go's pqarrow alone, one record batch after another, touching no value: the
// columnar read limit replay is compared with (replay_vs_arrow_read), measured in the same run.
func BenchmarkArrowReadBaseline(b *testing.B) {
	defer replayGC()()
	dir := benchStore(b)
	var paths []string
	for _, t := range ReplayTables() {
		parts, err := parquet.ListParts(dir, t.Name, zeroTime, zeroTime)
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range parts {
			paths = append(paths, p.Path)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	var rows int64
	for i := 0; i < b.N; i++ {
		for _, p := range paths {
			n, err := parquet.ArrowReadAll(p)
			if err != nil {
				b.Fatal(err)
			}
			rows += n
		}
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(rows)/(processCPU()-cpu0).Seconds(), "rows/cpu-s")
}

// processCPU returns the CPU time (user + system) the process has used: on a shared machine, rates per CPU
// second vary less between runs than rates per wall second.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
