package book

import (
	"fmt"
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

// TestIncidentKeepsFloor: an incident during a handover overlap leaves the book waiting for a snapshot,
// but not for any snapshot: the other connection's snapshot older than the last row emitted is dropped and
// counted (it used to rebuild the book, storing 477 after 480); one at that row's seqId or newer rebuilds
// it, after the resync gap.
func TestIncidentKeepsFloor(t *testing.T) {
	h := newHarness(t, nil)
	h.snap(470, 1000)
	for s := int64(471); s <= 480; s++ {
		h.upd(s-1, s, 1000+s-470)
	}
	h.upd(482, 483, 1013) // a hole: sequence incident, book invalid
	h.out.take()
	h.snap(477, 1007) // the lagging connection's snapshot
	h.upd(477, 478, 1008)
	if evs := h.out.take(); len(evs) != 0 {
		t.Fatalf("emitted below the floor: %v", kinds(evs))
	}
	h.snap(480, 1010) // at the floor: a rebuild, not a step back
	wantKinds(t, h.out.take(), "G:resync", "B:480", "Q")
	if st := h.m.Stats(); st.StaleSnapshots != 1 || st.SequenceGaps != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestRESTSnapshotBelowFloor: a REST snapshot older than the last row emitted is refetched (counted as a
// snapshot failure); one that stays below it past maxQuickRetries is a sequence reset the book never saw,
// and is taken.
func TestRESTSnapshotBelowFloor(t *testing.T) {
	h := newHarness(t, nil)
	badChecksum := func(prev, seq, ts int64) { // an incident that buffers nothing
		b, raw := msg("books", "update", prev, seq, ts, []lv{{"99", "3"}}, nil)
		b.Checksum = 12345
		h.m.Apply(b, raw)
	}
	h.snap(500, 1000)
	badChecksum(500, 501, 1010)
	h.out.take()
	h.rs.queue(msg("", "", 0, 499, 1005, bid1, ask1))
	h.rs.queue(msg("", "", 0, 510, 1020, bid1, ask1))
	h.clk.runNext() // the snapshot timeout: REST 499, too old, refetched at once
	h.clk.runNext()
	h.upd(510, 511, 1030)
	wantKinds(t, h.out.take(), "G:resync", "B:510", "Q", "B:511", "Q")
	if st := h.m.Stats(); st.SnapshotFailures != 1 || st.SnapshotFetches != 2 {
		t.Fatalf("stats %+v", st)
	}

	badChecksum(511, 512, 1040) // another incident; the exchange then resets its seqIds unseen
	h.out.take()
	for i := 0; i <= maxQuickRetries; i++ {
		h.rs.queue(msg("", "", 0, int64(40+i), int64(1050+i), bid1, ask1))
	}
	for i := 0; i < maxQuickRetries; i++ {
		h.clk.runNext()
		if evs := h.out.take(); len(evs) != 0 {
			t.Fatalf("REST snapshot %d below the floor taken: %v", 40+i, kinds(evs))
		}
	}
	h.clk.runNext()
	last := int64(40 + maxQuickRetries)
	h.upd(last, last+1, 1100) // links to it
	wantKinds(t, h.out.take(), "G:resync", fmt.Sprintf("B:%d", last), "Q", fmt.Sprintf("B:%d", last+1), "Q")
}

// TestHeartbeatCopyDropped: the other connection's copy of a heartbeat (same seqId and ts) is a duplicate;
// the next heartbeat (later ts) and a heartbeat right after a snapshot with an older ts are kept.
func TestHeartbeatCopyDropped(t *testing.T) {
	h := newHarness(t, nil)
	h.snap(10, 1000)
	h.apply("books", "update", 10, 10, 990, nil, nil) // older ts than the snapshot: still the stream's own
	h.upd(10, 11, 1100)
	h.apply("books", "update", 11, 11, 1200, nil, nil)
	h.apply("books", "update", 11, 11, 1200, nil, nil) // the copy
	h.apply("books", "update", 11, 11, 1300, nil, nil)
	wantKinds(t, h.out.take(), "B:10", "Q", "B:10", "Q", "B:11", "Q", "B:11", "Q", "B:11", "Q")
	if st := h.m.Stats(); st.Duplicates != 1 || st.Heartbeats != 3 {
		t.Fatalf("stats %+v", st)
	}
}
