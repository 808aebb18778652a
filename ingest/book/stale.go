package book

import (
	"fmt"

	"github.com/okxtape/okxtape/schema"
)

// maxRepeats is how many stale or repeated messages in a row a live book accepts before it declares the
// stream broken (a sequence incident, resynced as usual). Two connections delivering the same book during
// a 64008 handover repeat a few messages; a stream that only ever repeats has lost its way (a sequence
// reset the book never saw, say) and must not freeze the book forever.
const maxRepeats = 200

// The floor: during a 64008 handover two connections deliver each book into one Manager, each at its own
// pace, so a message may be older than what the other connection already delivered. Every book remembers
// the seqId (and ts) of the last row it emitted, across incidents, and no later row goes below it: a
// snapshot under it is dropped and counted (StaleSnapshots), an update already emitted is a duplicate
// (Duplicates). Only a genuine sequence reset (an update with seqId < prevSeqId), Reset (a book no
// connection delivers any more: the exchange may reset its seqIds during an outage) and a stream that
// stays below the floor (an unseen reset: maxRepeats messages live, or more than maxQuickRetries snapshots
// while rebuilding) lower it.

// stale reports (and counts) a message that would take the emitted book back in seqId: a standalone
// message (books5, bbo-tbt) with a seqId and ts no newer than the last row, a snapshot of a live chained
// book whose seqId is not above it, or one of a book rebuilding after an incident whose seqId is below it
// (one at the floor rebuilds the book: consumers need its snapshot after the incident's gap row).
// Typically the new connection of a handover sends a snapshot older than what the old connection already
// delivered; its next updates are then dropped as repeats until the streams meet.
func (m *Manager) stale(st *bookState, b *schema.Book) bool {
	if !st.floor || b.SeqID <= 0 {
		return false
	}
	switch {
	case st.standalone:
		if b.SeqID > st.sent || b.Ts > st.sentTs {
			return false
		}
	case b.Action != schema.ActionSnapshot && b.PrevSeqID != -1:
		return false
	case st.phase == phaseLive:
		if b.SeqID > st.sent {
			return false
		}
	case !m.belowFloor(st, b):
		return false
	}
	m.c.staleSnapshots.Add(1)
	metricStaleSnapshots.Inc()
	if st.phase == phaseLive {
		m.repeated(st, b)
	}
	return true
}

// belowFloor reports whether snapshot b of a book that is not live lies below the floor. Past
// maxQuickRetries such snapshots in a row the exchange has reset its seqIds unseen: the floor is dropped
// (logged) and b is taken.
func (m *Manager) belowFloor(st *bookState, b *schema.Book) bool {
	if !st.floor || b.SeqID >= st.sent {
		return false
	}
	if st.under++; st.under <= maxQuickRetries {
		return true
	}
	m.note("floor", "book snapshots stay below the seqId already emitted; taking it as a sequence reset", st,
		fmt.Sprintf("seqId %d, last emitted %d", b.SeqID, st.sent))
	st.floor = false
	return false
}

// markSent records b as the last row emitted for st: the floor.
func (m *Manager) markSent(st *bookState, b *schema.Book) {
	st.sent, st.sentTs, st.floor, st.under = b.SeqID, b.Ts, true, 0
}

// duplicate counts n updates dropped because the book already has them.
func (m *Manager) duplicate(n uint64) {
	m.c.duplicates.Add(n)
	metricDuplicates.Add(float64(n))
}

// repeated notes one more stale or repeated message; past maxRepeats in a row it opens an incident and
// gives up the floor (the stream is in a seqId space the book never saw begin).
func (m *Manager) repeated(st *bookState, b *schema.Book) {
	st.repeats++
	if st.repeats < maxRepeats || st.standalone {
		return
	}
	st.repeats, st.floor = 0, false
	m.c.sequenceGaps.Add(1)
	m.incident(st, b, schema.GapSequence, fmt.Sprintf("%d stale or repeated messages in a row; last seqId %d, got %d",
		maxRepeats, st.last, b.SeqID))
}
