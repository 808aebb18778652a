package derive

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/okxtape/okxtape/engine"
	ingestbook "github.com/okxtape/okxtape/ingest/book"
	"github.com/okxtape/okxtape/schema"
)

// randomSide returns levels around mid with repeats, deletions, and the odd non-finite value.
func randomSide(r *rand.Rand, n int, mid float64, desc bool) []schema.Level {
	var out []schema.Level
	for i := 0; i < n; i++ {
		off := float64(r.IntN(60)) * 0.5
		px := mid + off
		if desc {
			px = mid - off
		}
		sz := float64(r.IntN(4)) // 0 deletes
		switch r.IntN(40) {
		case 0:
			px = math.NaN()
		case 1:
			sz = math.Inf(1)
		}
		out = append(out, schema.Level{Px: px, Sz: sz})
	}
	return out
}

// TestBookMatchesIngestBook: the float-only book applies messages exactly like the live book of ingest/book
// (with its default depth limit), compared level by level after every message of random streams.
func TestBookMatchesIngestBook(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var mine book
	theirs := ingestbook.Book{MaxLevels: maxBookLevels}
	for i := 0; i < 20000; i++ {
		mid := 1000 + float64(r.IntN(20))
		bids, asks := randomSide(r, r.IntN(30), mid-1, true), randomSide(r, r.IntN(30), mid+1, false)
		if i%500 == 0 {
			mine.snapshot(bids, asks)
			theirs.ApplySnapshot(bids, asks, nil)
		} else {
			mine.update(bids, asks)
			theirs.ApplyUpdate(bids, asks, nil)
		}
		for side := 0; side < 2; side++ {
			a, b := mine.bids, theirs.Bids()
			if side == 1 {
				a, b = mine.asks, theirs.Asks()
			}
			if len(a) != len(b) {
				t.Fatalf("message %d side %d: %d levels, ingest/book has %d", i, side, len(a), len(b))
			}
			for j := range a {
				if a[j].px != b[j].Px || a[j].sz != b[j].Sz {
					t.Fatalf("message %d side %d level %d: %v, ingest/book %v", i, side, j, a[j], b[j])
				}
			}
		}
	}
}

func TestBookTrimsLikeIngest(t *testing.T) {
	var bids []schema.Level
	for i := 0; i < maxBookLevels+50; i++ {
		bids = append(bids, schema.Level{Px: float64(10000 - i), Sz: 1})
	}
	var b book
	b.snapshot(bids, nil)
	if len(b.bids) != maxBookLevels || b.bids[0].px != 10000 {
		t.Fatalf("%d levels, best %v", len(b.bids), b.bids[0])
	}
}

// BenchmarkDerive measures derive's own cost per input event (no store): two instruments, one book update
// (a few levels) and one trade per step, every 10 ms of exchange time, 5-level snapshots every 100 ms and 1 s
// and bars of 1 s and 1 m.
func BenchmarkDerive(b *testing.B) {
	c := Config{Snapshots: []SnapshotSpec{{5, 100 * time.Millisecond}, {5, time.Second}},
		Bars: []time.Duration{time.Second, time.Minute}}
	var rows int
	d, _ := New(Options{Config: c, Out: func(schema.Stored) { rows++ }})
	e := engine.New(engine.Options{Mode: engine.Replay})
	d.Attach(e)
	r := rand.New(rand.NewPCG(3, 4))
	insts := []string{"BTC-USDT", "ETH-USDT"}
	books := make([]*schema.Book, 2)
	for i, in := range insts {
		books[i] = &schema.Book{Header: schema.Header{Channel: "books", InstID: in, Ts: 1}, Action: schema.ActionSnapshot,
			PrevSeqID: -1, SeqID: 1, Bids: randomSide(r, 400, 999, true), Asks: randomSide(r, 400, 1001, false)}
		e.Emit(books[i])
	}
	tr := &schema.Trade{Header: schema.Header{Channel: "trades"}, Sz: 1, Side: schema.SideBuy, Count: 1}
	upd := &schema.Book{Header: schema.Header{Channel: "books"}, Action: schema.ActionUpdate}
	var pool [1024][2][]schema.Level
	for i := range pool {
		pool[i] = [2][]schema.Level{randomSide(r, 3, 999, true), randomSide(r, 3, 1001, false)}
	}
	b.ReportAllocs()
	b.ResetTimer()
	ts := int64(10)
	for i := 0; i < b.N; i += 2 {
		k := (i / 2) % 2
		ts += 5
		upd.InstID, upd.Ts, upd.Seq = insts[k], ts, uint64(i)
		upd.PrevSeqID, upd.SeqID = books[k].SeqID, books[k].SeqID+1
		books[k].SeqID++
		upd.Bids, upd.Asks = pool[i%len(pool)][0], pool[i%len(pool)][1]
		e.Emit(upd)
		tr.InstID, tr.Ts, tr.Seq, tr.Px = insts[k], ts, uint64(i+1), 1000+float64(i%7)
		e.Emit(tr)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(rows)/float64(b.N), "rows/event")
}
