package book

import (
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/okxtape/okxtape/schema"
)

var (
	bid1 = []lv{{"100", "1"}}
	ask1 = []lv{{"101", "1"}}
)

func (h *harness) apply(channel, action string, prev, seq, ts int64, bids, asks []lv) {
	b, raw := msg(channel, action, prev, seq, ts, bids, asks)
	h.m.Apply(b, raw)
}

func (h *harness) snap(seq, ts int64) { h.apply("books", "snapshot", -1, seq, ts, bid1, ask1) }
func (h *harness) upd(prev, seq, ts int64) {
	h.apply("books", "update", prev, seq, ts, []lv{{"99", "2"}}, nil)
}

func wantKinds(t *testing.T, evs []schema.Event, want ...string) {
	t.Helper()
	if got := kinds(evs); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}

func wantGap(t *testing.T, g *schema.Gap, reason string, from, to int64) {
	t.Helper()
	if g.Reason != reason || g.FromMs != from || g.ToMs != to || g.Ts != from || g.Channel != "books" ||
		g.InstID != "BTC-USDT" || g.Conn != "public#0" || g.Detail == "" {
		t.Fatalf("gap %+v, want %s %d..%d", *g, reason, from, to)
	}
}

// TestDocExampleChain is OKX's documented sequence: snapshot, update, heartbeat, reset, normal.
func TestDocExampleChain(t *testing.T) {
	h := newHarness(t, nil)
	h.snap(10, 1000)
	h.upd(10, 15, 1100)
	h.apply("books", "update", 15, 15, 1200, nil, nil) // no change for 60 s
	h.upd(15, 3, 1300)                                 // reset after maintenance
	h.upd(3, 5, 1400)
	wantKinds(t, h.out.take(), "B:10", "Q", "B:15", "Q", "B:15", "Q", "B:3", "Q", "B:5", "Q")
	st := h.m.Stats()
	if st.Heartbeats != 1 || st.Applied != 5 || st.Gaps != 0 || st.Books != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestChainRules(t *testing.T) {
	for _, c := range []struct {
		name      string
		prev, seq int64
		want      string // apply, drop, gap
	}{
		{"normal", 15, 20, "apply"},
		{"heartbeat", 15, 15, "apply"},
		{"reset", 15, 3, "apply"},
		{"duplicate of last", 10, 15, "drop"},
		{"stale", 5, 10, "drop"},
		{"hole", 16, 20, "gap"},
		{"overlap", 14, 16, "gap"},
		{"backwards prev ahead", 20, 15, "gap"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.snap(10, 1000)
			h.upd(10, 15, 1100)
			h.out.take()
			if c.prev == c.seq {
				h.apply("books", "update", c.prev, c.seq, 1200, nil, nil)
			} else {
				h.upd(c.prev, c.seq, 1200)
			}
			evs := h.out.take()
			switch c.want {
			case "apply":
				wantKinds(t, evs, "B:"+itoa(c.seq), "Q")
			case "drop":
				wantKinds(t, evs)
				if h.m.Stats().Duplicates != 1 {
					t.Fatal("duplicate not counted")
				}
			case "gap":
				wantKinds(t, evs, "G:sequence")
				wantGap(t, evs[0].(*schema.Gap), schema.GapSequence, 1100, 1200)
				if h.rs.resubCount() != 1 || h.m.Stats().SequenceGaps != 1 {
					t.Fatalf("resubscribes %d, stats %+v", h.rs.resubCount(), h.m.Stats())
				}
			}
		})
	}
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

// TestGapResyncViaWebSocket: one incident, many bad messages while recovering, one detection + one resync gap.
func TestGapResyncViaWebSocket(t *testing.T) {
	h := newHarness(t, nil)
	h.snap(10, 1000)
	h.upd(10, 11, 1100)
	h.out.take()
	h.upd(12, 13, 1300) // hole
	evs := h.out.take()
	wantKinds(t, evs, "G:sequence")
	wantGap(t, evs[0].(*schema.Gap), schema.GapSequence, 1100, 1300)
	if d := h.clk.pending(); !slices.Equal(d, []time.Duration{3 * time.Second}) {
		t.Fatalf("pending timers %v", d)
	}
	h.upd(13, 14, 1400)
	h.upd(20, 21, 1500) // another hole while recovering: no new incident
	h.apply("books", "update", 21, 22, 1600, []lv{{"200", "1"}}, nil)
	wantKinds(t, h.out.take())
	if h.rs.resubCount() != 1 {
		t.Fatalf("%d resubscribes, want 1 (no storm)", h.rs.resubCount())
	}
	h.snap(30, 2000)
	evs = h.out.take()
	wantKinds(t, evs, "G:resync", "B:30", "Q")
	wantGap(t, evs[0].(*schema.Gap), schema.GapResync, 1100, 2000)
	if d := h.clk.pending(); len(d) != 0 {
		t.Fatalf("REST timer not cancelled: %v", d)
	}
	h.upd(30, 31, 2100)
	wantKinds(t, h.out.take(), "B:31", "Q")
	st := h.m.Stats()
	if st.Gaps != 2 || st.Resyncs != 1 || st.SequenceGaps != 1 || st.Resubscribes != 1 || st.Buffered != 4 ||
		st.Dropped != 4 {
		t.Fatalf("stats %+v", st)
	}
}

// TestGapResyncViaREST: no WebSocket snapshot in time, so a REST snapshot is joined to buffered updates.
func TestGapResyncViaREST(t *testing.T) {
	for _, c := range []struct {
		name     string
		snapSeq  int64
		stream   [][2]int64 // buffered (prev, seq) after the hole 12->13
		emitted  []string
		fromSnap string
	}{
		{"exact link", 14, [][2]int64{{13, 14}, {14, 15}}, []string{"B:15", "Q"}, "B:14"},
		{"snapshot between prev and seq", 14, [][2]int64{{13, 15}, {15, 16}}, []string{"B:15", "Q", "B:16", "Q"}, "B:14"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.snap(10, 1000)
			h.upd(10, 11, 1100)
			h.upd(12, 13, 1300)
			h.out.take()
			for i, u := range c.stream {
				h.upd(u[0], u[1], 1400+int64(i)*100)
			}
			rb, rraw := msg("", "", 0, c.snapSeq, 1450, []lv{{"99", "2"}, {"98", "5"}}, []lv{{"101", "1"}})
			h.rs.queue(rb, rraw)
			if !h.clk.runNext() {
				t.Fatal("no REST timer")
			}
			evs := h.out.take()
			want := append([]string{"G:resync", c.fromSnap, "Q"}, c.emitted...)
			wantKinds(t, evs, want...)
			wantGap(t, evs[0].(*schema.Gap), schema.GapResync, 1100, 1450)
			if s := evs[1].(*schema.Book); s != rb || s.Channel != "books" || s.InstID != "BTC-USDT" ||
				s.Action != schema.ActionSnapshot || s.PrevSeqID != -1 || s.RecvNs == 0 {
				t.Fatalf("REST snapshot emitted as %+v", s)
			}
			if q := evs[2].(*schema.Quote); q.BidPx != 99 || q.AskPx != 101 || q.SeqID != c.snapSeq {
				t.Fatalf("snapshot quote %+v", q)
			}
			last := c.stream[len(c.stream)-1][1]
			h.upd(last, last+1, 3000)
			wantKinds(t, h.out.take(), "B:"+itoa(last+1), "Q")
			if st := h.m.Stats(); st.Gaps != 2 || st.Resyncs != 1 || st.SnapshotFetches != 1 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestRESTSnapshotTooOld(t *testing.T) {
	h := newHarness(t, nil)
	h.snap(10, 1000)
	h.upd(12, 13, 1300) // hole; buffered, first prevSeqId 12
	h.upd(13, 14, 1400)
	h.out.take()
	old, oraw := msg("", "", 0, 11, 1150, bid1, ask1)
	h.rs.queue(old, oraw)
	h.clk.runNext()
	wantKinds(t, h.out.take())
	if d := h.clk.pending(); !slices.Equal(d, []time.Duration{0}) {
		t.Fatalf("refetch not immediate: %v", d)
	}
	// The next snapshot is newer than the buffer's start but the stream then runs ahead of it.
	mid, mraw := msg("", "", 0, 13, 1350, bid1, ask1)
	h.rs.queue(mid, mraw)
	h.clk.runNext()
	wantKinds(t, h.out.take(), "G:resync", "B:13", "Q", "B:14", "Q")
	if st := h.m.Stats(); st.SnapshotFailures != 1 || st.SnapshotFetches != 2 || st.Gaps != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestJoiningStreamAheadRefetches(t *testing.T) {
	h := newHarness(t, nil)
	h.snap(10, 1000)
	h.upd(12, 13, 1300)
	h.out.take()
	s, sraw := msg("", "", 0, 13, 1350, bid1, ask1) // 12->13 dropped (seq <= 13); now joining
	h.rs.queue(s, sraw)
	h.clk.runNext()
	wantKinds(t, h.out.take())
	h.upd(15, 16, 1600) // prevSeqId 15 > 13: the snapshot missed 14..15
	if d := h.clk.pending(); !slices.Equal(d, []time.Duration{0}) {
		t.Fatalf("pending %v", d)
	}
	s2, s2raw := msg("", "", 0, 15, 1550, bid1, ask1)
	h.rs.queue(s2, s2raw)
	h.clk.runNext()
	wantKinds(t, h.out.take(), "G:resync", "B:15", "Q", "B:16", "Q")
}

func TestRESTErrorsBackOff(t *testing.T) {
	h := newHarness(t, nil)
	h.snap(10, 1000)
	h.upd(12, 13, 1300)
	h.clk.runNext() // nothing queued: error
	noSeq, nraw := msg("", "", 0, 0, 1400, bid1, ask1)
	if d := h.clk.pending(); !slices.Equal(d, []time.Duration{3 * time.Second}) {
		t.Fatalf("pending %v", d)
	}
	h.rs.queue(noSeq, nraw)
	h.clk.runNext() // no seqId: unusable
	if d := h.clk.pending(); !slices.Equal(d, []time.Duration{6 * time.Second}) {
		t.Fatalf("pending %v, want doubled delay", d)
	}
	if st := h.m.Stats(); st.SnapshotFailures != 2 || st.Gaps != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestChecksumMismatch(t *testing.T) {
	h := newHarness(t, nil)
	var shadow Book
	s, raw := msg("books", "snapshot", -1, 10, 1000, []lv{{"100.5", "2"}, {"100.4", "1.50"}, {"100", "7"}},
		[]lv{{"100.6", "3"}, {"100.8", "0.25"}})
	shadow.ApplySnapshot(s.Bids, s.Asks, raw)
	s.Checksum = int64(Checksum(&shadow))
	h.m.Apply(s, raw)
	u, uraw := msg("books", "update", 10, 11, 1100, []lv{{"100.4", "0"}, {"100.45", "4"}}, []lv{{"100.7", "1"}})
	crc := int32(-135067040)
	u.Checksum = int64(uint32(crc)) // unsigned spelling of the same CRC is accepted
	h.m.Apply(u, uraw)
	wantKinds(t, h.out.take(), "B:10", "Q", "B:11", "Q")
	bad, braw := msg("books", "update", 11, 12, 1200, []lv{{"100.45", "5"}}, nil)
	bad.Checksum = 12345
	h.m.Apply(bad, braw)
	evs := h.out.take()
	wantKinds(t, evs, "G:checksum")
	wantGap(t, evs[0].(*schema.Gap), schema.GapChecksum, 1100, 1200)
	// A bad snapshot during recovery is a failed attempt, not a new incident.
	b2, b2raw := msg("books", "snapshot", -1, 20, 1900, bid1, ask1)
	b2.Checksum = 1
	h.m.Apply(b2, b2raw)
	wantKinds(t, h.out.take())
	h.snap(21, 2000)
	evs = h.out.take()
	wantKinds(t, evs, "G:resync", "B:21", "Q")
	wantGap(t, evs[0].(*schema.Gap), schema.GapResync, 1100, 2000)
	st := h.m.Stats()
	if st.ChecksumFailures != 2 || st.ChecksumsVerified != 2 || st.Gaps != 2 || h.rs.resubCount() != 1 {
		t.Fatalf("stats %+v, resubscribes %d", st, h.rs.resubCount())
	}
}

func TestCrossed(t *testing.T) {
	h := newHarness(t, nil)
	h.snap(10, 1000)
	h.apply("books", "update", 10, 11, 1100, []lv{{"101", "1"}}, nil)
	evs := h.out.take()
	wantKinds(t, evs, "B:10", "Q", "G:crossed")
	wantGap(t, evs[2].(*schema.Gap), schema.GapCrossed, 1000, 1100)
	h.snap(20, 2000)
	wantKinds(t, h.out.take(), "G:resync", "B:20", "Q")

	h = newHarness(t, func(o *Options) { o.AllowCrossed = true })
	h.snap(10, 1000)
	h.apply("books", "update", 10, 11, 1100, []lv{{"101", "1"}}, nil)
	wantKinds(t, h.out.take(), "B:10", "Q", "B:11", "Q")
	if st := h.m.Stats(); st.Crossed != 1 || st.Gaps != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestResubscribeBudget(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.RequestsPerHour = 4 }) // burst 2 = one resubscribe
	gap := func(inst string, ts int64) {
		for _, m := range []struct{ prev, seq int64 }{{-1, 10}, {12, 13}} {
			b, raw := msg("books", "update", m.prev, m.seq, ts, bid1, ask1)
			b.InstID = inst
			h.m.Apply(b, raw)
		}
	}
	gap("A", 1000)
	gap("B", 1000)
	if h.rs.resubCount() != 1 || h.m.Stats().ResubscribesRefused != 1 {
		t.Fatalf("resubscribes %d, stats %+v", h.rs.resubCount(), h.m.Stats())
	}
	if d := h.clk.pending(); !slices.Equal(d, []time.Duration{3 * time.Second, 0}) {
		t.Fatalf("refused book should go to REST at once: %v", d)
	}
	h.clk.Advance(31 * time.Minute) // 2 requests refilled
	gap("C", 2000)
	gap("D", 2000)
	if h.rs.resubCount() != 2 || h.m.Stats().ResubscribesRefused != 2 {
		t.Fatalf("after refill: resubscribes %d, stats %+v", h.rs.resubCount(), h.m.Stats())
	}

	h = newHarness(t, func(o *Options) { o.RequestsPerHour = -1 })
	gap("A", 1000)
	if h.rs.resubCount() != 0 || h.m.Stats().ResubscribesRefused != 1 {
		t.Fatal("negative budget must never resubscribe")
	}
}

func TestResubscribeErrorFallsBackToREST(t *testing.T) {
	h := newHarness(t, nil)
	h.rs.resubErr = errors.New("budget")
	h.snap(10, 1000)
	h.upd(12, 13, 1300)
	if d := h.clk.pending(); !slices.Equal(d, []time.Duration{0}) {
		t.Fatalf("pending %v", d)
	}
	if h.m.Stats().ResubscribeErrors != 1 {
		t.Fatal("error not counted")
	}
}

func TestStandaloneChannels(t *testing.T) {
	for _, ch := range []string{"books5", "bbo-tbt"} {
		t.Run(ch, func(t *testing.T) {
			h := newHarness(t, nil)
			h.apply(ch, "", 0, 50, 1000, bid1, ask1)
			h.apply(ch, "", 0, 40, 1100, []lv{{"99", "3"}}, nil) // seqId going back: no chain check
			evs := h.out.take()
			wantKinds(t, evs, "B:50", "Q", "B:40", "Q")
			if q := evs[3].(*schema.Quote); q.Channel != ch || q.BidPx != 99 || q.BidSz != 3 || !isNaN(q.AskPx) ||
				q.AskSz != 0 || q.SeqID != 40 || q.Ts != 1100 {
				t.Fatalf("quote %+v", q)
			}
			h.apply(ch, "", 0, 60, 1200, []lv{{"102", "1"}}, ask1) // crossed
			h.apply(ch, "", 0, 61, 1300, []lv{{"102", "1"}}, ask1) // still crossed: same incident
			h.apply(ch, "", 0, 62, 1400, bid1, ask1)
			wantKinds(t, h.out.take(), "G:crossed", "G:resync", "B:62", "Q")
			if h.rs.resubCount() != 0 || len(h.clk.pending()) != 0 {
				t.Fatal("standalone channels recover by their next snapshot, without resubscribing")
			}
		})
	}
}

func TestResetAndBootstrap(t *testing.T) {
	h := newHarness(t, nil)
	h.snap(10, 1000)
	h.Reset()
	h.upd(10, 11, 1100) // connection lost: no book until a snapshot
	wantKinds(t, h.out.take(), "B:10", "Q")
	if h.m.Stats().Gaps != 0 {
		t.Fatal("Reset must not ledger a gap")
	}
	h.snap(20, 2000)
	wantKinds(t, h.out.take(), "B:20", "Q")

	// A book whose first message is an update bootstraps from REST, without gaps.
	h = newHarness(t, nil)
	h.upd(5, 6, 600)
	s, sraw := msg("", "", 0, 5, 550, bid1, ask1)
	h.rs.queue(s, sraw)
	h.clk.runNext()
	wantKinds(t, h.out.take(), "B:5", "Q", "B:6", "Q")

	// Reset during an incident keeps it open: the resync gap still comes.
	h = newHarness(t, nil)
	h.snap(10, 1000)
	h.upd(12, 13, 1300)
	h.m.ResetAll()
	if len(h.clk.pending()) != 0 {
		t.Fatal("Reset must cancel recovery")
	}
	h.snap(20, 2000)
	wantKinds(t, h.out.take(), "B:10", "Q", "G:sequence", "G:resync", "B:20", "Q")
}

func (h *harness) Reset() { h.m.Reset("books", "BTC-USDT") }

func TestNoResyncer(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Resync = nil })
	h.snap(10, 1000)
	h.upd(12, 13, 1300)
	h.upd(13, 14, 1400)
	h.snap(20, 2000)
	wantKinds(t, h.out.take(), "B:10", "Q", "G:sequence", "G:resync", "B:20", "Q")
	if st := h.m.Stats(); st.Dropped != 2 || len(h.clk.pending()) != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestBufferBounded(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.MaxBuffered = 3 })
	h.snap(10, 1000)
	for i := int64(12); i < 20; i++ {
		h.upd(i, i+1, 1000+i)
	}
	h.m.View("books", "BTC-USDT", func(_ *Book, live bool) {
		if live {
			t.Fatal("book live during recovery")
		}
	})
	h.m.mu.Lock()
	n, first := len(h.m.books[bookKey{"books", "BTC-USDT"}].buf), h.m.books[bookKey{"books", "BTC-USDT"}].buf[0].b.SeqID
	h.m.mu.Unlock()
	if n != 3 || first != 18 || h.m.Stats().Dropped != 5 {
		t.Fatalf("buffer %d from %d, stats %+v", n, first, h.m.Stats())
	}
}

func TestClose(t *testing.T) {
	h := newHarness(t, nil)
	h.snap(10, 1000)
	h.upd(12, 13, 1300)
	h.m.Close()
	h.out.take()
	h.snap(20, 2000)
	h.clk.runNext()
	if evs := h.out.take(); len(evs) != 0 || h.rs.fetches != 0 {
		t.Fatalf("events after Close: %v", kinds(evs))
	}
}

// TestEmitMayCallBack: Emit runs without the state lock, so a handler may read Stats, View or Reset.
func TestEmitMayCallBack(t *testing.T) {
	var m *Manager
	calls := 0
	m = NewManager(Options{Emit: func(ev schema.Event) {
		calls++
		_ = m.Stats()
		m.View("books", "BTC-USDT", func(*Book, bool) {})
		if g, ok := ev.(*schema.Gap); ok && g.Reason == schema.GapSequence {
			m.Reset("books", "BTC-USDT")
		}
	}})
	defer m.Close()
	for _, u := range [][2]int64{{-1, 10}, {10, 11}, {12, 13}} {
		b, raw := msg("books", "update", u[0], u[1], 1, bid1, ask1)
		m.Apply(b, raw)
	}
	if calls != 5 {
		t.Fatalf("%d events", calls)
	}
}

// TestSequenceResetEdges: a sequence reset (seqId < prevSeqId) sent twice is a duplicate, not a gap; it
// links a REST snapshot taken just before it; and a REST snapshot taken after a buffered reset joins the
// updates that follow the reset instead of failing as too old forever.
func TestSequenceResetEdges(t *testing.T) {
	t.Run("repeated reset", func(t *testing.T) {
		h := newHarness(t, nil)
		h.snap(10, 1000)
		h.upd(10, 15, 1100)
		h.upd(15, 3, 1200)
		h.upd(15, 3, 1200) // the same frame again
		h.upd(3, 4, 1300)
		wantKinds(t, h.out.take(), "B:10", "Q", "B:15", "Q", "B:3", "Q", "B:4", "Q")
		if st := h.m.Stats(); st.Duplicates != 1 || st.Gaps != 0 || st.SequenceGaps != 0 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("reset links a snapshot", func(t *testing.T) {
		h := newHarness(t, nil)
		h.snap(10, 1000)
		h.upd(12, 13, 1300) // hole
		h.upd(13, 14, 1400)
		h.upd(14, 3, 1500) // reset
		h.upd(3, 4, 1600)
		h.out.take()
		s, sraw := msg("", "", 0, 14, 1450, bid1, ask1)
		h.rs.queue(s, sraw)
		h.clk.runNext()
		wantKinds(t, h.out.take(), "G:resync", "B:14", "Q", "B:3", "Q", "B:4", "Q")
	})
	t.Run("snapshot after a buffered reset", func(t *testing.T) {
		h := newHarness(t, nil)
		h.snap(10, 1000)
		h.upd(12, 13, 1300) // hole
		h.upd(13, 14, 1400)
		h.upd(14, 3, 1500) // reset: the buffer now spans two seqId spaces
		h.upd(3, 4, 1600)
		h.upd(4, 5, 1700)
		h.out.take()
		s, sraw := msg("", "", 0, 4, 1650, bid1, ask1)
		h.rs.queue(s, sraw)
		h.clk.runNext()
		wantKinds(t, h.out.take(), "G:resync", "B:4", "Q", "B:5", "Q")
		if st := h.m.Stats(); st.SnapshotFailures != 0 || st.SnapshotFetches != 1 || st.Gaps != 2 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("snapshot before a buffered reset", func(t *testing.T) {
		h := newHarness(t, nil)
		h.snap(10, 1000)
		h.upd(12, 13, 1300) // hole
		h.upd(13, 14, 1400)
		h.upd(14, 3, 1500)
		h.out.take()
		s, sraw := msg("", "", 0, 13, 1350, bid1, ask1) // older than the reset (ts): joins before it
		h.rs.queue(s, sraw)
		h.clk.runNext()
		wantKinds(t, h.out.take(), "G:resync", "B:13", "Q", "B:14", "Q", "B:3", "Q")
	})
}

// TestWSOnlyBookNeverUsesREST: books-rpi (organic + RPI) is not the book REST serves, so a gap is recovered
// by resubscribing only: no REST fetch, no buffering for a join, a new resubscribe (backing off) each time
// the snapshot does not come, and the next WebSocket snapshot closes the incident.
func TestWSOnlyBookNeverUsesREST(t *testing.T) {
	h := newHarness(t, nil)
	h.apply("books-rpi", "snapshot", -1, 10, 1000, bid1, ask1)
	h.apply("books-rpi", "update", 10, 11, 1100, nil, nil)
	h.out.take()
	h.apply("books-rpi", "update", 12, 13, 1300, nil, nil) // hole
	wantKinds(t, h.out.take(), "G:sequence")
	h.apply("books-rpi", "update", 13, 14, 1400, nil, nil)
	for i := 0; i < 3; i++ {
		if !h.clk.runNext() {
			t.Fatal("no retry timer")
		}
	}
	if h.rs.resubCount() != 4 || h.rs.fetches != 0 {
		t.Fatalf("%d resubscribes, %d REST fetches; want 4 and 0", h.rs.resubCount(), h.rs.fetches)
	}
	if d := h.clk.pending(); len(d) != 1 || d[0] <= 3*time.Second {
		t.Fatalf("retry not backing off: %v", d)
	}
	h.apply("books-rpi", "snapshot", -1, 30, 2000, bid1, ask1)
	evs := h.out.take()
	wantKinds(t, evs, "G:resync", "B:30", "Q")
	if st := h.m.Stats(); st.Buffered != 0 || st.SnapshotFetches != 0 || st.Resyncs != 1 {
		t.Fatalf("stats %+v", st)
	}
	if d := h.clk.pending(); len(d) != 0 {
		t.Fatalf("retry timer not cancelled: %v", d)
	}
}
