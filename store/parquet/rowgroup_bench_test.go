package parquet

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/okxtape/okxtape/internal/storetest"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

// BenchmarkWriteGroupRaw writes the same 8192 raw frames (about 300 B of JSON each) as row groups of
// different sizes: the per-row-group cost of arrow-go's column writers and zstd frames.
func BenchmarkWriteGroupRaw(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	tp, err := newTableProps(schema.RawTable, Options{RawFrameLevel: 7})
	if err != nil {
		b.Fatal(err)
	}
	buf := newRowBuf(schema.RawTable)
	px := 60000.0
	for i := range 8192 {
		px += float64(r.IntN(21)-10) / 10
		e := benchRawFrame(r, "BTC-USDT", i, px)
		if err := buf.add(e); err != nil {
			b.Fatal(err)
		}
	}
	for _, rows := range []int{8192, 2048, 1024} {
		b.Run(fmt.Sprint(rows), func(b *testing.B) {
			dir := b.TempDir()
			var sc writeScratch
			for i := 0; i < b.N; i++ {
				pw, err := openPart(tp, filepath.Join(dir, "x.parquet.tmp"))
				if err != nil {
					b.Fatal(err)
				}
				for lo := 0; lo < buf.rows; lo += rows {
					if err := pw.writeGroup(buf, lo, min(lo+rows, buf.rows), &sc); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := pw.finish(filepath.Join(dir, "x.parquet")); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*buf.rows), "ns/row")
			b.ReportMetric(float64(dirBytes(b, dir))/float64(buf.rows), "B/row")
		})
	}
}

// BenchmarkSinkRawBudget feeds the sink raw frames of 10 instruments whose channels' exchange times
// interleave (so an instrument's buffer is not in ts order) under a 4 MiB buffer budget: row groups are
// written early, from sorted copies, as in the recorder at 20k frames/s.
func BenchmarkSinkRawBudget(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	const n = 50_000
	evs := make([]schema.Stored, n)
	chans := []string{"books5", "bbo-tbt", "trades", "tickers"}
	for i := range evs {
		ts := storetest.Day0 + int64(i/10) - int64(r.IntN(3))
		inst := fmt.Sprintf("I%d-USDT", i%10)
		ch := chans[r.IntN(len(chans))]
		frame := fmt.Sprintf(`{"arg":{"channel":"%s","instId":"%s"},"data":[{"px":"%.1f","sz":"%.8f","ts":"%d"}]}`,
			ch, inst, 60000+float64(r.IntN(1000))/10, r.Float64(), ts)
		evs[i] = &schema.Raw{Header: schema.Header{Seq: uint64(i + 1), Ts: ts, RecvNs: ts*1e6 + int64(r.IntN(1e6)), Channel: ch, InstID: inst},
			Endpoint: "public", Frame: frame}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := NewSink(b.TempDir(), Options{MaxBufferedBytes: 4 << 20, Logger: storetest.Quiet()})
		if err := s.Open(context.Background()); err != nil {
			b.Fatal(err)
		}
		for lo := 0; lo < n; lo += 1000 {
			if err := s.Write(context.Background(), store.Batch{Table: schema.RawTable, Events: evs[lo : lo+1000]}); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
}
