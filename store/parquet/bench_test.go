package parquet

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/okxtape/okxtape/internal/storetest"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

func dirBytes(tb testing.TB, dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

// BenchmarkRecorderTickersToParquet is the whole path: Handle → spool (fsync every 50 ms) → dispatcher →
// Parquet files, including Close (drain and final files). Run with -cpu 1 for the one-core figure.
func BenchmarkRecorderTickersToParquet(b *testing.B) {
	dataDir := b.TempDir()
	pq := NewSink(dataDir, Options{Logger: storetest.Quiet()})
	// The benchmark hands events over at about 500k/s, 25 times a busy live feed, so one disk stall of a few
	// hundred ms (this VM has them, e.g. while earlier benchmarks' files are written back) fills the default
	// 64 MiB of unsynced bytes and the recorder drops, as it must live; the figure here is CPU throughput.
	rec, err := store.NewRecorder(store.RecorderOptions{SpoolDir: b.TempDir(), Logger: storetest.Quiet(),
		MaxUnsynced: 1 << 30}, pq)
	if err != nil {
		b.Fatal(err)
	}
	if err := rec.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	g := storetest.NewTickerGen(1, 300)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec.Handle(g.Next())
	}
	if err := rec.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if st := rec.Stats(); st.Dropped != 0 || st.PerSink["parquet"].Rows["tickers"] != uint64(b.N) {
		b.Fatalf("stats %+v", st)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(dirBytes(b, dataDir))/float64(b.N), "B/row")
}

// BenchmarkParquetTickerSize writes 1M realistic tickers straight into the sink (one sorted file, zstd) and
// reports the file bytes per row.
func BenchmarkParquetTickerSize(b *testing.B) {
	const rows = 1_000_000
	g := storetest.NewTickerGen(1, 300)
	evs := make([]schema.Ticker, rows)
	for i := range evs {
		evs[i] = *g.Next()
	}
	b.ResetTimer()
	var size int64
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		pq := NewSink(dir, Options{MaxFileRows: rows, MaxFileBytes: 1 << 30, Logger: storetest.Quiet()})
		if err := pq.Open(context.Background()); err != nil {
			b.Fatal(err)
		}
		batch := make([]schema.Stored, 1000)
		for lo := 0; lo < rows; lo += len(batch) {
			for j := range batch {
				batch[j] = &evs[lo+j]
			}
			if err := pq.Write(context.Background(), store.Batch{Table: schema.TickerTable, Events: batch}); err != nil {
				b.Fatal(err)
			}
		}
		if err := pq.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
		size = dirBytes(b, dir)
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(size)/rows, "B/row")
}

// BenchmarkReadParquet reads 1M tickers (one file, sorted, zstd) into the reused event.
func BenchmarkReadParquet(b *testing.B) {
	const rows = 1_000_000
	dir := b.TempDir()
	pq := NewSink(dir, Options{MaxFileRows: rows, MaxFileBytes: 1 << 30, Logger: storetest.Quiet()})
	if err := pq.Open(context.Background()); err != nil {
		b.Fatal(err)
	}
	g := storetest.NewTickerGen(1, 300)
	batch := make([]schema.Stored, 1000)
	for lo := 0; lo < rows; lo += len(batch) {
		for j := range batch {
			batch[j] = schema.Clone(g.Next())
		}
		if err := pq.Write(context.Background(), store.Batch{Table: schema.TickerTable, Events: batch}); err != nil {
			b.Fatal(err)
		}
	}
	if err := pq.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Run("1M_tickers", func(b *testing.B) {
		b.ReportAllocs()
		var sum float64
		for i := 0; i < b.N; i++ {
			n := 0
			err := ReadDataset(dir, "tickers", time.Time{}, time.Time{}, func(e schema.Stored) error {
				n++
				sum += e.(*schema.Ticker).Last
				return nil
			})
			if err != nil || n != rows {
				b.Fatalf("%d rows, %v", n, err)
			}
		}
		b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "events/s")
	})
}
