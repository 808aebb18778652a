package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"

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

// writeMix writes secs seconds of the mix under dir and returns the rows per dataset.
func writeMix(dir string, secs int) (mixCounts, error) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	sink := parquet.NewSink(dir, parquet.Options{Logger: quiet})
	ctx := context.Background()
	if err := sink.Open(ctx); err != nil {
		return nil, err
	}
	var err error
	rng := rand.New(rand.NewPCG(7, 0))
	st := make([]*mixState, len(mixInsts))
	for i := range st {
		if st[i], err = newMixState(mixInsts[i], mixVolUSD[i], rng); err != nil {
			return nil, err
		}
	}
	w := &mixWriter{sink: sink, ctx: ctx, counts: mixCounts{}, batches: map[*schema.Table][]schema.Stored{},
		lat: rand.New(rand.NewPCG(8, 0))}
	t0 := int64(1764547200000) // 2025-12-01
	// 220 pushes per instrument per second, spread over the second in 10 ms slots.
	for ms := int64(0); ms < int64(secs)*1000; ms += 10 {
		for k, s := range st {
			ts := t0 + ms + int64(k)
			s.walk(rng)
			slot := ms % 1000 / 10 // 0..99
			if slot%5 >= 2 {       // 60 trades/s
				if err := w.push(mixInst(k), ts, s.trade(rng)); err != nil {
					return nil, err
				}
			}
			if err := w.push(mixInst(k), ts, s.bbo()); err != nil {
				return nil, err
			}
			if slot%5 == 0 {
				for _, ev := range []schema.Stored{s.ticker(rng), s.books(rng), s.books5()} {
					if err := w.push(mixInst(k), ts, ev); err != nil {
						return nil, err
					}
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
	lat     *rand.Rand // network latency draws
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
	recv := w.recvNs(ts)
	if ok {
		w.next(recv)
		raw := &schema.Raw{Header: schema.Header{Seq: w.seq, RecvNs: recv, Channel: h.Channel, InstID: inst, Ts: recv / 1e6},
			Endpoint: schema.EndpointPublic, Frame: string(w.frame)}
		if err := w.add(raw); err != nil {
			return err
		}
	}
	w.next(recv)
	h.Seq, h.RecvNs = w.seq, recv
	if err := w.add(ev); err != nil {
		return err
	}
	if b, isBook := ev.(*schema.Book); isBook && len(b.Bids) > 0 && len(b.Asks) > 0 {
		w.next(recv)
		q := &schema.Quote{Header: schema.Header{Seq: w.seq, RecvNs: recv, Channel: h.Channel, InstID: inst, Ts: ts},
			SeqID: b.SeqID, BidPx: b.Bids[0].Px, BidSz: b.Bids[0].Sz, AskPx: b.Asks[0].Px, AskSz: b.Asks[0].Sz}
		return w.add(q)
	}
	return nil
}

// recvNs is when a push with exchange time ts (ms) arrives: about 2 ms of network latency plus a jitter
// with a tail (exponential, mean 0.5 ms), at the nanoseconds of a local clock.
func (w *mixWriter) recvNs(ts int64) int64 {
	return ts*1e6 + 2_000_000 + int64(w.lat.ExpFloat64()*500_000)
}

// next stamps the next arrival sequence number as the live engine does: the receive time in ns, or one
// more than the last when that is larger.
func (w *mixWriter) next(recv int64) { w.seq = max(w.seq+1, uint64(recv)) }

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
