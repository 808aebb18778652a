package replay

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/okxtape/okxtape/engine"
	"github.com/okxtape/okxtape/store/parquet"

	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

// writeStore writes events (in any order) through the real Parquet sink: per table, in seq order.
func writeStore(t testing.TB, dir string, o parquet.Options, events []schema.Stored) {
	t.Helper()
	ctx := context.Background()
	sink := parquet.NewSink(dir, o)
	if err := sink.Open(ctx); err != nil {
		t.Fatal(err)
	}
	byKind := map[schema.Kind][]schema.Stored{}
	for _, e := range events {
		byKind[e.Kind()] = append(byKind[e.Kind()], e)
	}
	for k, evs := range byKind {
		slices.SortFunc(evs, func(a, b schema.Stored) int { return cmp.Compare(a.Hdr().Seq, b.Hdr().Seq) })
		for lo := 0; lo < len(evs); lo += 5000 {
			b := store.Batch{Table: schema.TableOf(k), Events: evs[lo:min(lo+5000, len(evs))]}
			if err := sink.Write(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := sink.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// got is one replayed event, reduced to what ordering tests compare.
type got struct {
	Kind    schema.Kind
	Seq     uint64
	Ts      int64
	Channel string
	Inst    string
}

// openEngine opens the replay stream of the Parquet store under dir for q (closed when the test ends) and a
// replay engine over it.
func openEngine(t testing.TB, dir string, q store.Query) (*Stream, *engine.Engine) {
	t.Helper()
	s, err := Open(context.Background(), NewParquetSource(dir), q, ReplayTables())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, NewEngine(s, q, engine.Options{})
}

func collect(t testing.TB, src Source, q store.Query, tables []*schema.Table) []got {
	t.Helper()
	s, err := Open(context.Background(), src, q, tables)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out []got
	for ev := s.Next(); ev != nil; ev = s.Next() {
		h := ev.Hdr()
		out = append(out, got{ev.Kind(), h.Seq, h.Ts, h.Channel, h.InstID})
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// expectOrder is the reference implementation of the ordering rule: per stream (kind, channel, inst) the
// running maximum ts in seq order, then sort by (that, seq, kind).
func expectOrder(events []schema.Stored) []got {
	type keyed struct {
		g   got
		key int64
	}
	type sid struct {
		k     schema.Kind
		ch, i string
	}
	evs := slices.Clone(events)
	slices.SortFunc(evs, func(a, b schema.Stored) int { return cmp.Compare(a.Hdr().Seq, b.Hdr().Seq) })
	run := map[sid]int64{}
	var ks []keyed
	for _, e := range evs {
		h := e.Hdr()
		id := sid{e.Kind(), h.Channel, h.InstID}
		m, ok := run[id]
		if !ok || h.Ts > m {
			m = h.Ts
		}
		run[id] = m
		ks = append(ks, keyed{got{e.Kind(), h.Seq, h.Ts, h.Channel, h.InstID}, m})
	}
	slices.SortStableFunc(ks, func(a, b keyed) int {
		return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.g.Seq, b.g.Seq), cmp.Compare(a.g.Kind, b.g.Kind))
	})
	out := make([]got, len(ks))
	for i, k := range ks {
		out[i] = k.g
	}
	return out
}

const day0 = int64(1_780_000_000_000) // 2026-05-28T20:26:40Z

func ticker(seq uint64, ts int64, inst string, last float64) *schema.Ticker {
	return &schema.Ticker{Header: schema.Header{Seq: seq, RecvNs: ts * 1e6, Channel: "tickers", InstID: inst, Ts: ts},
		InstType: "SPOT", Last: last, LastSz: 1, BidPx: last - 0.5, BidSz: 2, AskPx: last + 0.5, AskSz: 3,
		Open24h: 100, High24h: 110, Low24h: 90, VolCcy24h: 1000, Vol24h: 10, SodUtc0: 100, SodUtc8: 101}
}

func trade(seq uint64, ts int64, inst string, id int64, px float64) *schema.Trade {
	return &schema.Trade{Header: schema.Header{Seq: seq, RecvNs: ts * 1e6, Channel: "trades", InstID: inst, Ts: ts},
		TradeID: id, Px: px, Sz: 0.25, Side: schema.SideBuy, Count: 1}
}

// randomEvents makes n tickers and trades over insts, with ts jittering back and forth around arrival order.
// Two tickers of an instrument never share a ts (OKX's ticker ts identifies the push: it is the event key).
func randomEvents(seed uint64, n int, insts []string) []schema.Stored {
	r := rand.New(rand.NewPCG(seed, 7))
	var out []schema.Stored
	tickerTs := map[string]bool{}
	for i := 0; i < n; i++ {
		seq := uint64(1000 + i)
		ts := day0 + int64(i)*3 + int64(r.IntN(40)) - 20
		inst := insts[r.IntN(len(insts))]
		for tickerTs[fmt.Sprint(inst, ts)] {
			ts++
		}
		if r.IntN(3) == 0 {
			out = append(out, trade(seq, ts, inst, int64(i), 100+float64(i%50)))
		} else {
			tickerTs[fmt.Sprint(inst, ts)] = true
			out = append(out, ticker(seq, ts, inst, 100+float64(i%70)))
		}
	}
	return out
}

var zeroTime time.Time

// memSource serves in-memory parts (for merge-only benchmarks; tests use real Parquet files).
type memSource map[schema.Kind][][]schema.Stored

func (m memSource) Close() error { return nil }
func (m memSource) Parts(_ context.Context, t *schema.Table, _ store.Query) ([]Part, error) {
	var out []Part
	for _, rows := range m[t.Kind] {
		lo, hi := int64(maxTs), int64(minTs)
		for _, r := range rows {
			lo, hi = min(lo, r.Hdr().Ts), max(hi, r.Hdr().Ts)
		}
		out = append(out, Part{Name: "mem", MinTs: lo, MaxTs: hi, Read: func(_ context.Context, fn func(schema.Stored) error) error {
			for _, r := range rows {
				if err := fn(r); err != nil {
					return err
				}
			}
			return nil
		}})
	}
	return out, nil
}

// samplePeakHeap samples runtime.MemStats.HeapInuse every interval after a GC, keeping the maximum in peak,
// until stop is called.
func samplePeakHeap(every time.Duration) (peak *atomic.Uint64, stop func()) {
	peak = new(atomic.Uint64)
	done := make(chan struct{})
	runtime.GC()
	go func() {
		var ms runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(every):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	}()
	return peak, func() { close(done) }
}
