package derive

import (
	"strings"

	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/schema/channels"
)

// bookState is the rebuilt book of one (depth channel, instrument) and its pending snapshot boundaries.
type bookState struct {
	key
	standalone bool // every message is a full snapshot without a seqId chain (books5, bbo-tbt)
	bk         book
	valid      bool
	afterSnap  bool  // the last message applied was a snapshot: the next update may join it loosely
	seqID      int64 // of the last message applied
	bookTs     int64
	recvNs     int64
	last       int64   // time of the last message on the snapshot clock, ns
	next       []int64 // per snapshot spec: the next boundary to write, Unix ms

	// A disconnect gap covered this book's silence: whether the book really went through the outage is
	// known at its next message (a fresh snapshot: yes; an update that links: no).
	suspect     bool
	suspectFrom int64 // start of the outage on the snapshot clock, ns
	suspectToMs int64 // its end, local receive time in ms (what disconnect gaps record)
}

// isStandalone reports depth channels whose every message is a full snapshot, by the channel registry (the
// book manager's rule, ingest/book.IsStandalone).
func isStandalone(channel string) bool {
	e := channels.Lookup(channel)
	return e != nil && e.Book != nil && !e.Book.Incremental
}

// clock returns an event's time on the snapshot clock, in ns.
func (d *Deriver) clock(h *schema.Header) int64 {
	if d.local {
		return h.RecvNs
	}
	return h.Ts * 1e6
}

func (d *Deriver) bookState(h *schema.Header, t int64) *bookState {
	k := key{h.Channel, h.InstID}
	if st := d.books[k]; st != nil {
		return st
	}
	k = key{strings.Clone(k.channel), strings.Clone(k.instID)} // kept beyond the event: own the strings
	st := &bookState{key: k, standalone: isStandalone(h.Channel), next: make([]int64, len(d.o.Snapshots))}
	for i, sp := range d.o.Snapshots {
		iv := sp.Interval.Milliseconds()
		st.next[i] = ceilDiv(t, iv*1e6) * iv // the first boundary at or after the book's first message
	}
	d.books[k] = st
	return st
}

// links reports whether an update continues the chain of the last message applied. Stored messages were
// validated live, so a break means rows are missing (or the range starts mid-chain).
func (st *bookState) links(b *schema.Book) bool {
	switch {
	case b.PrevSeqID == st.seqID, b.SeqID == 0 && b.PrevSeqID == 0:
		return true
	case st.afterSnap: // a REST snapshot is joined by the first update with prevSeqId <= its seqId < seqId
		return b.PrevSeqID <= st.seqID && st.seqID < b.SeqID
	}
	return false
}

func (d *Deriver) onBook(b *schema.Book) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.st.Books++
	t := d.clock(&b.Header)
	d.now = max(d.now, t)
	st := d.bookState(&b.Header, t)
	snapshot := st.standalone || b.Action == schema.ActionSnapshot || b.PrevSeqID == -1
	linked := !snapshot && st.valid && st.links(b)
	affected := false
	if st.suspect {
		// Incremental books: a book that went through the outage restarts with a snapshot. Standalone books
		// cannot tell from the message, but one received before the outage ended came over another connection.
		affected = !linked && (!st.standalone || b.RecvNs/1e6 >= st.suspectToMs)
	}
	d.emitSnapshots(st, t, false, affected)
	st.suspect = false
	switch {
	case snapshot:
		st.bk.snapshot(b.Bids, b.Asks)
		st.valid = true
	case linked:
		st.bk.update(b.Bids, b.Asks)
	default:
		if st.valid {
			d.st.ChainBreaks++
		}
		st.valid = false
		st.bk.reset()
	}
	st.afterSnap = snapshot
	st.seqID, st.bookTs, st.recvNs, st.last = b.SeqID, b.Ts, b.RecvNs, t
}

func (d *Deriver) onGap(g *schema.Gap) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.st.Gaps++
	switch g.Reason {
	case schema.GapSequence, schema.GapChecksum, schema.GapCrossed:
		st := d.books[key{g.Channel, g.InstID}]
		if st == nil || !st.valid {
			return
		}
		// The book was valid up to the detection (exchange clock: the gap's ts is the last good message's).
		d.emitSnapshots(st, d.clock(&g.Header), true, false)
		st.valid = false
		st.bk.reset()
	case schema.GapDisconnect:
		// Disconnect windows are local receive times (ms): the last frame before the drop, the reconnect.
		for k, st := range d.books {
			if (g.Channel != "" && g.Channel != k.channel) || (g.InstID != "" && g.InstID != k.instID) {
				continue
			}
			// A book that received messages after the outage began was on another connection (live, the gap
			// arrives after the reconnect; replay sorts it to where the outage began).
			if !st.valid || st.recvNs/1e6 > g.FromMs {
				continue
			}
			if !st.suspect {
				st.suspect, st.suspectFrom = true, g.FromMs*1e6
			}
			st.suspectToMs = max(st.suspectToMs, g.ToMs)
		}
	}
}

// maxCatchUpMs bounds how far back a book's pending boundaries are written at once: the boundaries more than a
// day before the event that completes them are counted (Stats.SkippedBoundaries), not written.
const maxCatchUpMs = 24 * 3600 * 1000

// emitSnapshots writes the rows of every boundary before t (through t when inclusive). Rows at or after the
// suspect window's start (the last frame before the outage) are flagged when affected.
func (d *Deriver) emitSnapshots(st *bookState, t int64, inclusive, affected bool) {
	for i, sp := range d.o.Snapshots {
		iv := sp.Interval.Milliseconds()
		b := st.next[i]
		if lim := t/1e6 - maxCatchUpMs; b < lim { // a book silent for over a day (or a bogus ts): skip ahead
			n := ceilDiv(lim-b, iv)
			b += n * iv
			d.st.SkippedBoundaries += uint64(n)
		}
		for ; b*1e6 < t || (inclusive && b*1e6 == t); b += iv {
			d.snapshotRow(st, sp, b, affected && b*1e6 > st.suspectFrom)
		}
		st.next[i] = b
	}
}

func (d *Deriver) snapshotRow(st *bookState, sp SnapshotSpec, boundary int64, outage bool) {
	r := &d.snap
	r.Header = schema.Header{RecvNs: st.recvNs, Channel: st.channel, InstID: st.instID, Ts: boundary}
	r.Clock, r.IntervalMs, r.Levels = d.o.Clock, sp.Interval.Milliseconds(), int64(sp.Levels)
	r.SeqID, r.BookTs = st.seqID, st.bookTs
	r.InGap = !st.valid || outage
	r.BidPx, r.BidSz, r.AskPx, r.AskSz = r.BidPx[:0], r.BidSz[:0], r.AskPx[:0], r.AskSz[:0]
	if r.InGap {
		d.st.InGapRows++
	} else {
		r.BidPx, r.BidSz = appendSide(r.BidPx, r.BidSz, st.bk.bids, sp.Levels)
		r.AskPx, r.AskSz = appendSide(r.AskPx, r.AskSz, st.bk.asks, sp.Levels)
	}
	d.out(r, schema.BookSnapshotTable.Name)
}

func appendSide(px, sz []float64, lv []level, n int) ([]float64, []float64) {
	for _, l := range lv[:min(n, len(lv))] {
		px, sz = append(px, l.px), append(sz, l.sz)
	}
	return px, sz
}

// ceilDiv is ceil(a/b) for a >= 0, b > 0.
func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }
