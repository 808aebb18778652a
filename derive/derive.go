// Package derive computes derived datasets (book snapshots at fixed intervals, trade bars) as engine
// handlers, identically live and in replay.
package derive

import (
	"cmp"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/okxtape/okxtape/engine"
	"github.com/okxtape/okxtape/schema"
)

// Options configure a Deriver.
type Options struct {
	Config
	// Out receives every derived row (a *schema.BookSnapshot or *schema.TradeBar) with a fresh Seq. The row
	// is reused after the call: Out copies what it keeps (store.Recorder.Handle encodes it at once). Out runs
	// inside engine handlers, so it must not call Engine.Emit. Required.
	Out func(schema.Stored)
	// SeqStart is the last sequence number already used; rows get SeqStart+1, +2, ... Zero seeds from the
	// wall clock in ns (like the live engine), so rows of later runs sort after earlier ones and never
	// collide with them in a store that dedups by seq.
	SeqStart uint64
}

// Stats count what a Deriver did.
type Stats struct {
	Books         uint64            `json:"book_events"`
	Trades        uint64            `json:"trade_events"`
	Gaps          uint64            `json:"gap_events"`
	Rows          map[string]uint64 `json:"rows"`           // per dataset
	InGapRows     uint64            `json:"in_gap_rows"`    // snapshot rows flagged in_gap
	ChainBreaks   uint64            `json:"chain_breaks"`   // stored updates that did not link (missing rows, or a range starting mid-chain)
	LateTrades    uint64            `json:"late_trades"`    // trades older than their instrument's open bar, left out of bars
	InvalidTrades uint64            `json:"invalid_trades"` // NaN/Inf price or size, left out of bars
	// SkippedBoundaries counts snapshot boundaries more than a day before the message that completed them
	// (a book silent that long, or a bogus timestamp): not written, so one event cannot write millions of rows.
	SkippedBoundaries uint64 `json:"skipped_boundaries"`
}

// Deriver turns book, trade and gap events into book_snapshots and trade_bars rows.
//
// Rows are written when they are complete, which is decided by the data alone, never by a wall-clock timer:
// the snapshot of a book at boundary B when that book's first event after B arrives (or at Flush); a bar
// when its instrument's first trade of a later bar arrives (or at Flush). Hence a live run and a replay of
// what it recorded write the same rows (up to the local columns seq and recv_ns), and a quiet book's rows
// are written late rather than wrong.
//
// Concurrency: the handlers run on the engine's dispatch lock; Flush and Stats may be called from another
// goroutine (an internal mutex orders them).
type Deriver struct {
	o   Options
	mu  sync.Mutex
	seq uint64
	now int64 // latest event time seen on the snapshot clock, ns
	st  Stats

	books map[key]*bookState
	bars  map[key][]*barState
	snap  schema.BookSnapshot // the reused output rows
	bar   schema.TradeBar
	local bool
}

type key struct{ channel, instID string }

// New checks o and returns a Deriver; attach it to an engine with Attach.
func New(o Options) (*Deriver, error) {
	if o.Out == nil {
		return nil, errors.New("derive: Options.Out is required")
	}
	if o.Empty() {
		return nil, errors.New("derive: nothing to derive")
	}
	clock, err := ParseClock(o.Clock)
	if err != nil {
		return nil, err
	}
	o.Clock = clock
	d := &Deriver{o: o, seq: o.SeqStart, books: map[key]*bookState{}, bars: map[key][]*barState{},
		local: clock == schema.ClockLocal}
	if d.seq == 0 {
		d.seq = uint64(time.Now().UnixNano())
	}
	d.st.Rows = map[string]uint64{}
	return d, nil
}

// Attach registers the handlers on e (books and gaps only when snapshots are asked for, trades only when
// bars are).
func (d *Deriver) Attach(e *engine.Engine) {
	if len(d.o.Snapshots) > 0 {
		engine.On(e, "derive", d.onBook)
		engine.On(e, "derive", d.onGap)
	}
	if len(d.o.Bars) > 0 {
		engine.On(e, "derive", d.onTrade)
	}
}

// Summary returns the stats (the strategies.Strategy shape, for exit summaries).
func (d *Deriver) Summary() any { return d.Stats() }

// Stats returns a copy of the counters.
func (d *Deriver) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.st
	s.Rows = map[string]uint64{}
	for k, v := range d.st.Rows {
		s.Rows[k] = v
	}
	return s
}

// Flush writes every row that the events seen so far complete: snapshots at every boundary up to the latest
// event time seen (books that were inside a gap, or whose disconnect was never resolved, are flagged), and
// every open bar. Call it once after the last event (end of a replay, shutdown of a recording).
func (d *Deriver) Flush() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, k := range sortedKeys(d.books) { // a fixed order: the same rows get the same relative seqs
		st := d.books[k]
		d.emitSnapshots(st, d.now, true, st.suspect)
	}
	for _, k := range sortedKeys(d.bars) {
		for _, b := range d.bars[k] {
			d.emitBar(k.channel, k.instID, b)
		}
	}
}

func sortedKeys[V any](m map[key]V) []key {
	ks := make([]key, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.instID, b.instID), cmp.Compare(a.channel, b.channel))
	})
	return ks
}

// out stamps and hands over one row.
func (d *Deriver) out(e schema.Stored, table string) {
	d.seq++
	e.Hdr().Seq = d.seq
	d.st.Rows[table]++
	d.o.Out(e)
}
