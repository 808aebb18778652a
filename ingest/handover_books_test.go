package ingest

import (
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/okxtape/okxtape/ingest/decode"
	"github.com/okxtape/okxtape/schema"
)

// bookFrame is an OKX books push of BTC-USDT without a checksum; the bid size follows seq so every update
// changes the book.
func bookFrame(action string, prev, seq, ts int64) []byte {
	return fmt.Appendf(nil, `{"arg":{"channel":"books","instId":"BTC-USDT"},"action":%q,"data":[{"asks":[["101","1","0","1"]],`+
		`"bids":[["100","%d","0","1"]],"ts":"%d","prevSeqId":%d,"seqId":%d}]}`, action, seq%7+1, ts, prev, seq)
}

// TestHandoverOldConnLostBooksNeverGoBack is the interleaving behind issue 13's last handover defect (a
// book row stored below the seqId already stored, about one e2e run in ten), replayed step by step on one
// slot with two connections whose frames are handed to their pipelines in a fixed order:
//  1. the old connection A delivers the book up to seqId 480;
//  2. the handover's connection B has subscribed while the feed was at 477: its snapshot (477) is on its way
//     but B's reader has not handled it yet;
//  3. A dies (the simulator's grace ran out) before the handover is reported, so the lost-connection path
//     takes B as the reconnect;
//  4. B's reader handles its snapshot 477, its updates 478..480 and then 481.
//
// Step 3 used to reset the slot's books, so B's snapshot 477 was taken as the rebuild and stored after 480,
// followed by 478..480 again. The books must now go on at 481: nothing emitted twice or below 480, and
// the snapshot and the three updates A had delivered counted as dropped.
func TestHandoverOldConnLostBooksNeverGoBack(t *testing.T) {
	r := newRec()
	cfg := testConfig("127.0.0.1:1", []decode.Arg{sub("books", "BTC-USDT")})
	cfg.Emit, cfg.Logger = r.emit, slog.New(slog.NewTextHandler(io.Discard, nil))
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := c.slots[0]
	t.Cleanup(s.books.Close)
	args, _ := s.subscriptions()
	a, b := c.newConn(s, nil), c.newConn(s, nil) // no sockets: the test is their reader
	s.up(a, args, false, 0)

	a.handle(bookFrame("snapshot", -1, 470, 1000), 1)
	for seq := int64(471); seq <= 480; seq++ {
		a.handle(bookFrame("update", seq-1, seq, 1000+seq-470), 1)
	}
	w := s.beginHandover(a)
	ho := make(chan handoverResult, 1)
	ho <- handoverResult{cn: b, args: args} // B is subscribed; its frames wait in its socket
	a.setReason("server closed the connection: 1006 unexpected EOF")
	close(a.done) // A's reader has ended
	if next, _ := s.lost(a, ho, w); next != b {
		t.Fatalf("the handover's connection did not become the reconnect: %v", next)
	}
	b.handle(bookFrame("snapshot", -1, 477, 1007), 2)
	for seq := int64(478); seq <= 481; seq++ {
		b.handle(bookFrame("update", seq-1, seq, 1000+seq-470), 2)
	}

	r.mu.Lock()
	back, books := r.bookBack, r.books["books"]
	last := r.bookLast["books|BTC-USDT"]
	r.mu.Unlock()
	if back != 0 || books != 12 || last != 481 {
		t.Fatalf("books emitted: %d (want 470..481: 12), %d went back in seqId, last %d", books, back, last)
	}
	st := c.Stats().Books
	if st.StaleSnapshots != 1 || st.Duplicates != 3 || st.Gaps != 0 {
		t.Fatalf("book stats %+v: want 1 stale snapshot, 3 duplicates, no gap", st)
	}
	if g := r.gapsWith(schema.GapDisconnect); len(g) != 1 {
		t.Fatalf("disconnect gap rows %d, want 1 (A's outage is ledgered)", len(g))
	}
}
