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

// stale reports (and counts) a snapshot that would take a live book back in seqId: a standalone message
// (books5, bbo-tbt) with a seqId and ts no newer than the last one, or a snapshot of a chained book whose
// seqId is not above the last applied one. Typically the new connection of a handover sends a snapshot
// older than what the old connection already delivered; its next updates are then dropped as repeats
// until the streams meet, so the book never goes back.
func (m *Manager) stale(st *bookState, b *schema.Book) bool {
	if st.phase != phaseLive || b.SeqID <= 0 {
		return false
	}
	switch {
	case st.standalone:
		if b.SeqID > st.last || b.Ts > st.lastTs {
			return false
		}
	case b.Action == schema.ActionSnapshot || b.PrevSeqID == -1:
		if b.SeqID > st.last {
			return false
		}
	default:
		return false
	}
	m.c.staleSnapshots.Add(1)
	m.repeated(st, b)
	return true
}

// repeated notes one more stale or repeated message; past maxRepeats in a row it opens an incident.
func (m *Manager) repeated(st *bookState, b *schema.Book) {
	st.repeats++
	if st.repeats < maxRepeats || st.standalone {
		return
	}
	st.repeats = 0
	m.c.sequenceGaps.Add(1)
	m.incident(st, b, schema.GapSequence, fmt.Sprintf("%d stale or repeated messages in a row; last seqId %d, got %d",
		maxRepeats, st.last, b.SeqID))
}
