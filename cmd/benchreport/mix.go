package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand"

	"github.com/okxtape/okxtape/replay"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/schema/channels"
	"github.com/okxtape/okxtape/store"
	"github.com/okxtape/okxtape/store/parquet"
)

// The realistic 5-channel mix every store, replay and size figure is measured on: 8 instruments, each
// second 20 tickers, 60 trades, 20 incremental books messages (a 400-level snapshot first, then 1-8 level
// deltas), 20 books5 and 100 bbo-tbt snapshots, the quote the book manager derives from each book message,
// and the raw frame of every pushed message (rendered by replay.AppendPush), all written by parquet.Sink.
var mixInsts = []string{"BTC-USDT", "ETH-USDT", "SOL-USDT", "XRP-USDT", "DOGE-USDT", "ADA-USDT", "TRX-USDT", "LINK-USDT"}

// mixCounts are the rows written per dataset.
type mixCounts map[string]int

// mixState is one instrument's random walk and book.
type mixState struct {
	px, vol  float64
	tick     float64
	bookSeq  int64
	tradeID  int64
	bids     []schema.Level
	asks     []schema.Level
	snapshot bool
}

// writeMix writes secs seconds of the mix under dir and returns the rows per dataset.
func writeMix(dir string, secs int) (mixCounts, error) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	sink := parquet.NewSink(dir, parquet.Options{Logger: quiet})
	ctx := context.Background()
	if err := sink.Open(ctx); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewSource(7))
	st := make([]*mixState, len(mixInsts))
	base := []float64{60000, 3000, 150, 0.6, 0.15, 0.45, 0.12, 14}
	for i := range st {
		st[i] = &mixState{px: base[i], tick: math.Max(base[i]*1e-5, 1e-4), bookSeq: 1000, tradeID: 1}
	}
	w := &mixWriter{sink: sink, ctx: ctx, counts: mixCounts{}, batches: map[*schema.Table][]schema.Stored{}}
	t0 := int64(1764547200000) // 2025-12-01
	// 220 pushes per instrument per second, spread over the second in 10 ms slots.
	for ms := int64(0); ms < int64(secs)*1000; ms += 10 {
		for k, s := range st {
			ts := t0 + ms + int64(k)
			s.px *= 1 + (rng.Float64()-0.5)*2e-5
			slot := ms % 1000 / 10 // 0..99
			if err := w.push(mixInst(k), ts, bboOf(s, ts, rng)); err != nil {
				return nil, err
			}
			if slot%5 == 0 {
				for _, ev := range []schema.Stored{tickerOf(s, ts, rng), bookOf(s, ts, rng, "books"), bookOf(s, ts, rng, snapshotBook(5))} {
					if err := w.push(mixInst(k), ts, ev); err != nil {
						return nil, err
					}
				}
			}
			if slot%5 >= 2 { // 60 trades/s
				if err := w.push(mixInst(k), ts, tradeOf(s, ts, rng)); err != nil {
					return nil, err
				}
			}
		}
	}
	if err := w.flush(); err != nil {
		return nil, err
	}
	return w.counts, sink.Close(ctx)
}

func mixInst(k int) string { return mixInsts[k] }

// mixWriter numbers events in arrival order and batches them per table into the sink.
type mixWriter struct {
	sink    *parquet.Sink
	ctx     context.Context
	seq     uint64
	counts  mixCounts
	batches map[*schema.Table][]schema.Stored
	frame   []byte
}

// push stores ev (and its raw frame first, and the quote derived from a book message after it).
func (w *mixWriter) push(inst string, ts int64, ev schema.Stored) error {
	h := ev.Hdr()
	h.InstID, h.Ts = inst, ts
	var ok bool
	w.frame, ok = replay.AppendPush(w.frame[:0], ev)
	recv := ts*1e6 + 350_000 + int64(w.seq%7)*1_000
	if ok {
		w.seq++
		raw := &schema.Raw{Header: schema.Header{Seq: w.seq, RecvNs: recv, Channel: h.Channel, InstID: inst, Ts: recv / 1e6},
			Endpoint: schema.EndpointPublic, Frame: string(w.frame)}
		if err := w.add(raw); err != nil {
			return err
		}
	}
	w.seq++
	h.Seq, h.RecvNs = w.seq, recv
	if err := w.add(ev); err != nil {
		return err
	}
	if b, isBook := ev.(*schema.Book); isBook && len(b.Bids) > 0 && len(b.Asks) > 0 {
		w.seq++
		q := &schema.Quote{Header: schema.Header{Seq: w.seq, RecvNs: recv, Channel: h.Channel, InstID: inst, Ts: ts},
			SeqID: b.SeqID, BidPx: b.Bids[0].Px, BidSz: b.Bids[0].Sz, AskPx: b.Asks[0].Px, AskSz: b.Asks[0].Sz}
		return w.add(q)
	}
	return nil
}

func (w *mixWriter) add(ev schema.Stored) error {
	t := schema.TableOf(ev.Kind())
	w.counts[t.Name]++
	b := append(w.batches[t], ev)
	if len(b) < 4096 {
		w.batches[t] = b
		return nil
	}
	w.batches[t] = nil
	return w.sink.Write(w.ctx, store.Batch{Table: t, Events: b})
}

func (w *mixWriter) flush() error {
	for t, b := range w.batches {
		if len(b) > 0 {
			if err := w.sink.Write(w.ctx, store.Batch{Table: t, Events: b}); err != nil {
				return err
			}
		}
	}
	return nil
}

func roundTo(v, tick float64) float64 { return math.Round(v/tick) * tick }

func sizeOf(rng *rand.Rand) float64 { return math.Round(rng.ExpFloat64()*2000) / 1000 }

func tickerOf(s *mixState, ts int64, rng *rand.Rand) *schema.Ticker {
	p := roundTo(s.px, s.tick)
	sz := sizeOf(rng)
	s.vol += sz
	return &schema.Ticker{Header: schema.Header{Channel: "tickers"}, InstType: "SPOT", Last: p, LastSz: sz,
		BidPx: p - s.tick, BidSz: sizeOf(rng), AskPx: p + s.tick, AskSz: sizeOf(rng), Open24h: roundTo(s.px*0.99, s.tick),
		High24h: roundTo(s.px*1.02, s.tick), Low24h: roundTo(s.px*0.97, s.tick), Vol24h: math.Round(s.vol*1e3) / 1e3,
		VolCcy24h: math.Round(s.vol*p*100) / 100, SodUtc0: roundTo(s.px*0.995, s.tick), SodUtc8: roundTo(s.px*1.005, s.tick)}
}

func tradeOf(s *mixState, ts int64, rng *rand.Rand) *schema.Trade {
	s.tradeID += 1 + int64(rng.Intn(3))
	side := schema.SideBuy
	if rng.Intn(2) == 0 {
		side = schema.SideSell
	}
	return &schema.Trade{Header: schema.Header{Channel: "trades"}, TradeID: s.tradeID, Px: roundTo(s.px, s.tick),
		Sz: sizeOf(rng), Side: side, Count: 1 + int64(rng.Intn(3)/2)}
}

func levels(s *mixState, rng *rand.Rand, n int, bid bool) []schema.Level {
	out := make([]schema.Level, n)
	for i := range out {
		d := float64(i+1) * s.tick
		if bid {
			d = -d
		}
		out[i] = schema.Level{Px: roundTo(s.px+d, s.tick), Sz: sizeOf(rng), Orders: 1 + int64(rng.Intn(12))}
	}
	return out
}

func bboOf(s *mixState, ts int64, rng *rand.Rand) *schema.Book {
	s.bookSeq++
	return &schema.Book{Header: schema.Header{Channel: snapshotBook(1)}, Action: schema.ActionSnapshot, SeqID: s.bookSeq,
		Bids: levels(s, rng, 1, true), Asks: levels(s, rng, 1, false)}
}

// bookOf is a books5 snapshot, or a books message: the 400-level snapshot first, then small updates.
func bookOf(s *mixState, ts int64, rng *rand.Rand, channel string) *schema.Book {
	prev := s.bookSeq
	s.bookSeq++
	if channel == snapshotBook(5) {
		return &schema.Book{Header: schema.Header{Channel: channel}, Action: schema.ActionSnapshot, SeqID: s.bookSeq,
			Bids: levels(s, rng, 5, true), Asks: levels(s, rng, 5, false)}
	}
	if !s.snapshot {
		s.snapshot = true
		return &schema.Book{Header: schema.Header{Channel: channel}, Action: schema.ActionSnapshot, SeqID: s.bookSeq,
			PrevSeqID: -1, Bids: levels(s, rng, 400, true), Asks: levels(s, rng, 400, false)}
	}
	pick := func(bid bool) []schema.Level {
		lv := levels(s, rng, 1+rng.Intn(4), bid)
		if rng.Intn(4) == 0 {
			lv[0].Sz, lv[0].Orders = 0, 0
		}
		return lv
	}
	return &schema.Book{Header: schema.Header{Channel: channel}, Action: schema.ActionUpdate, SeqID: s.bookSeq,
		PrevSeqID: prev, Bids: pick(true), Asks: pick(false)}
}

// snapshotBook names the registry's snapshot-only depth channel with this many levels a side (books5: 5,
// bbo-tbt: 1), so the mix follows the registry rather than a copy of its names.
func snapshotBook(levels int) string {
	for _, e := range channels.All() {
		if e.Book != nil && !e.Book.Incremental && e.Book.MaxLevels == levels {
			return e.Name
		}
	}
	panic(fmt.Sprintf("benchreport: no snapshot depth channel with %d levels in the registry", levels))
}
