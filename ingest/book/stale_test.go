package book

import (
	"testing"

	"github.com/okxtape/okxtape/schema"
)

// TestHandoverNeverGoesBack is issue 13's finding: the old connection delivered update 480, then the new
// connection's snapshot at 477 and its updates 478..480 arrived. The book must stay at 480 (the snapshot is
// stale, the updates are repeats), go on at 481 from whichever connection delivers it first, and count
// what it dropped.
func TestHandoverNeverGoesBack(t *testing.T) {
	h := newHarness(t, nil)
	h.snap(470, 1000)
	for s := int64(471); s <= 480; s++ {
		h.upd(s-1, s, 1000+s-470)
	}
	h.out.take()
	h.snap(477, 1007) // the new connection's snapshot, older than the book
	h.upd(477, 478, 1008)
	h.upd(478, 479, 1009)
	h.upd(479, 480, 1010)
	h.upd(480, 481, 1011) // the new connection reaches new data first
	h.upd(480, 481, 1011) // the old connection repeats it
	h.upd(481, 482, 1012)
	evs := h.out.take()
	wantKinds(t, evs, "B:481", "Q", "B:482", "Q")
	st := h.m.Stats()
	if st.StaleSnapshots != 1 || st.Duplicates != 4 || st.Gaps != 0 || st.SequenceGaps != 0 {
		t.Fatalf("stats %+v", st)
	}
	// A newer snapshot from the new connection (the old one was behind) is taken, and the old connection's
	// late updates are repeats.
	h.snap(490, 1020)
	h.upd(482, 483, 1013)
	wantKinds(t, h.out.take(), "B:490", "Q")
	if st := h.m.Stats(); st.Duplicates != 5 {
		t.Fatalf("stats %+v", st)
	}
}

// TestStaleForeverIsAnIncident: a stream that only repeats (a reset the book never saw) does not freeze the
// book: after maxRepeats stale messages it is a sequence incident, resynced like any other.
func TestStaleForeverIsAnIncident(t *testing.T) {
	h := newHarness(t, nil)
	h.snap(1000, 1000)
	h.out.take()
	h.snap(10, 2000) // after an unseen reset: looks stale
	for s := int64(11); s < 10+maxRepeats; s++ {
		h.upd(s-1, s, 2000+s)
	}
	evs := h.out.take()
	if g := gapsOf(evs); len(g) != 1 || g[0].Reason != schema.GapSequence {
		t.Fatalf("events %v", kinds(evs))
	}
	if h.rs.resubCount() != 1 {
		t.Fatalf("resubscribes %d", h.rs.resubCount())
	}
	h.snap(500, 3000) // the resubscribe's snapshot rebuilds the book
	wantKinds(t, h.out.take(), "G:resync", "B:500", "Q")
}

// TestStandaloneRepeatDropped: books5/bbo-tbt messages repeated by a second connection (same seqId and ts)
// are dropped; a lower seqId with a newer ts (a reset) is still taken.
func TestStandaloneRepeatDropped(t *testing.T) {
	h := newHarness(t, nil)
	h.apply("books5", "", 0, 50, 1000, bid1, ask1)
	h.apply("books5", "", 0, 50, 1000, bid1, ask1)
	h.apply("books5", "", 0, 49, 999, bid1, ask1)
	h.apply("books5", "", 0, 40, 1100, bid1, ask1)
	wantKinds(t, h.out.take(), "B:50", "Q", "B:40", "Q")
	if st := h.m.Stats(); st.StaleSnapshots != 2 {
		t.Fatalf("stats %+v", st)
	}
}
