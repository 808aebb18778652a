package derive

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/okxtape/okxtape/engine"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
	"github.com/okxtape/okxtape/store/parquet"
)

// BenchmarkSnapshotRowBytes measures what a book_snapshots row costs on disk: an hour of two instruments'
// books (400 levels a side on a 0.1 tick grid, 10 updates/s each, every update setting 3 random sizes per
// side among the 10 best prices) derived into one configuration and written by the Parquet sink. It reports Parquet bytes per row and the spool/codec encoding's bytes per row.
func BenchmarkSnapshotRowBytes(b *testing.B) {
	for _, sp := range []SnapshotSpec{{5, time.Second}, {25, 100 * time.Millisecond}} {
		b.Run(sp.String(), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				rows, pq, enc := snapshotBytes(b, sp)
				b.ReportMetric(float64(pq)/float64(rows), "parquet-B/row")
				b.ReportMetric(float64(enc)/float64(rows), "codec-B/row")
				b.ReportMetric(float64(rows), "rows")
			}
		})
	}
}

func snapshotBytes(b *testing.B, sp SnapshotSpec) (rows, pqBytes, encBytes int64) {
	dir := b.TempDir()
	ctx := context.Background()
	sink := parquet.NewSink(dir, parquet.Options{})
	if err := sink.Open(ctx); err != nil {
		b.Fatal(err)
	}
	var batch []schema.Stored
	flush := func() {
		if err := sink.Write(ctx, store.Batch{Table: schema.BookSnapshotTable, Events: batch}); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	d, _ := New(Options{Config: Config{Snapshots: []SnapshotSpec{sp}}, SeqStart: 1, Out: func(e schema.Stored) {
		rows++
		encBytes += int64(len(schema.AppendRow(nil, e)))
		batch = append(batch, schema.Clone(e))
		if len(batch) == 4096 {
			flush()
		}
	}})
	e := engine.New(engine.Options{Mode: engine.Replay})
	d.Attach(e)
	r := rand.New(rand.NewPCG(5, 6))
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	for k, inst := range []string{"BTC-USDT", "ETH-USDT"} {
		mid := []float64{90000, 3000}[k]
		var seqID int64 = 1
		var bids, asks []schema.Level
		for i := 0; i < 400; i++ {
			bids = append(bids, schema.Level{Px: mid - 0.1*float64(i+1), Sz: float64(r.IntN(500)) / 100})
			asks = append(asks, schema.Level{Px: mid + 0.1*float64(i+1), Sz: float64(r.IntN(500)) / 100})
		}
		events := []*schema.Book{{Header: schema.Header{Channel: "books", InstID: inst, Ts: t0}, Action: schema.ActionSnapshot,
			SeqID: seqID, PrevSeqID: -1, Bids: bids, Asks: asks}}
		for ts := t0 + 100; ts < t0+3600_000; ts += 100 {
			u := &schema.Book{Header: schema.Header{Channel: "books", InstID: inst, Ts: ts}, Action: schema.ActionUpdate,
				SeqID: seqID + 1, PrevSeqID: seqID}
			seqID++
			for j := 0; j < 3; j++ {
				off := 0.1 * float64(r.IntN(10)+1)
				u.Bids = append(u.Bids, schema.Level{Px: mid - off, Sz: float64(r.IntN(500)) / 100})
				u.Asks = append(u.Asks, schema.Level{Px: mid + off, Sz: float64(r.IntN(500)) / 100})
			}
			events = append(events, u)
		}
		for _, ev := range events { // one instrument after the other: the Deriver keeps books apart anyway
			ev.Seq = uint64(ev.Ts)<<1 | uint64(k)
			e.Emit(ev)
		}
	}
	d.Flush()
	flush()
	if err := sink.Close(ctx); err != nil {
		b.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "book_snapshots", "*", "*.parquet"))
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			b.Fatal(err)
		}
		pqBytes += st.Size()
	}
	return rows, pqBytes, encBytes
}
