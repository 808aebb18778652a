package book

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/okxtape/okxtape/ingest/decode"
	"github.com/okxtape/okxtape/internal/testenv"
	"github.com/okxtape/okxtape/schema"
)

// captureFile is a real OKX capture of 2022-05-13 (bmoscon/cryptofeed sample_data; see its README).
const captureFile = "../../../shared/fixtures/okx/OKX.ws.1.0"

// captureBookFrames returns the received "books" push frames of the capture, in order.
func captureBookFrames(t testing.TB) [][]byte {
	f, err := os.Open(captureFile)
	if err != nil {
		testenv.Fixtures.Missing(t, err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<22)
	first := true
	for sc.Scan() {
		line := sc.Bytes()
		if bytes.Contains(line, []byte(" <- ")) {
			continue
		}
		if first && bytes.Contains(line, []byte("<->")) {
			first = false
			continue
		}
		i := bytes.Index(line, []byte(": "))
		if i < 0 {
			t.Fatalf("line without timestamp: %.80q", line)
		}
		frame := line[i+2:]
		if bytes.Contains(frame, []byte(`"channel":"books"`)) && bytes.Contains(frame, []byte(`"data"`)) {
			out = append(out, bytes.Clone(frame))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCaptureChecksums replays the capture's 290 books frames (3 snapshots, 287 updates, 3 instruments,
// all with non-zero checksums and no seqIds) and expects every checksum to verify and no gap.
func TestCaptureChecksums(t *testing.T) {
	frames := captureBookFrames(t)
	if len(frames) != 290 {
		t.Fatalf("%d books frames, want 290", len(frames))
	}
	h := newHarness(t, nil)
	nonZero := 0
	for i, fr := range frames {
		b, raw, err := parseBookFrame(fr)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if b.Checksum != 0 {
			nonZero++
		}
		h.m.Apply(b, raw)
	}
	evs := h.out.take()
	st := h.m.Stats()
	if nonZero != 290 || st.ChecksumsVerified != 290 || st.ChecksumFailures != 0 || st.Gaps != 0 ||
		len(gapsOf(evs)) != 0 || st.Applied != 290 || st.Books != 3 || len(evs) != 580 {
		t.Fatalf("non-zero %d, events %d, stats %+v", nonZero, len(evs), st)
	}
	for i := 0; i < len(evs); i += 2 {
		b, q := evs[i].(*schema.Book), evs[i+1].(*schema.Quote)
		if q.SeqID != b.SeqID || q.InstID != b.InstID || q.Channel != "books" || !(q.BidPx < q.AskPx) {
			t.Fatalf("event %d: quote %+v for book %s", i, q, b.InstID)
		}
	}
}

// TestCaptureCorrupted flips one size in the middle of the capture: exactly one checksum incident and,
// after the next WebSocket snapshot, one resync gap for that instrument only.
func TestCaptureCorrupted(t *testing.T) {
	frames := captureBookFrames(t)
	h := newHarness(t, nil)
	var victim string
	for i, fr := range frames {
		b, raw, err := parseBookFrame(fr)
		if err != nil {
			t.Fatal(err)
		}
		if i == 100 && b.Action == schema.ActionUpdate {
			victim = b.InstID // change its best bid's size behind OKX's back
			h.m.View("books", victim, func(bk *Book, _ bool) {
				best, _ := bk.BestBid()
				px, _ := bk.Raw(best)
				b.Bids = append(b.Bids, schema.Level{Px: best.Px, Sz: 999})
				raw.Bids = append(raw.Bids, decode.RawLevel{Px: bytes.Clone(px), Sz: []byte("999")})
			})
		}
		h.m.Apply(b, raw)
	}
	gaps := gapsOf(h.out.take())
	if victim == "" || len(gaps) != 1 || gaps[0].Reason != schema.GapChecksum || gaps[0].InstID != victim {
		t.Fatalf("victim %q, gaps %+v", victim, gaps)
	}
	// The victim recovers from a fresh snapshot.
	s, raw := msg("books", "snapshot", -1, 0, gaps[0].ToMs+1, bid1, ask1)
	s.InstID = victim
	h.m.Apply(s, raw)
	if g := gapsOf(h.out.take()); len(g) != 1 || g[0].Reason != schema.GapResync || g[0].FromMs != gaps[0].FromMs {
		t.Fatalf("resync gaps %+v", g)
	}
}

// exchange is a reference book and seqId chain the concurrency test's REST snapshot reads from.
type exchange struct {
	mu   sync.Mutex
	book Book
	seq  int64
	ts   int64
}

func (x *exchange) Resubscribe(string, string) error { return nil }

func (x *exchange) Snapshot(ctx context.Context, _ string) (*schema.Book, *decode.BookRaw, error) {
	time.Sleep(time.Millisecond)
	x.mu.Lock()
	defer x.mu.Unlock()
	b := &schema.Book{Header: schema.Header{Ts: x.ts}, SeqID: x.seq, Bids: toLevels(x.book.Bids()),
		Asks: toLevels(x.book.Asks())}
	raw := rawOf(&x.book) // alias x.book: copy before unlocking
	for _, side := range [2][]decode.RawLevel{raw.Bids, raw.Asks} {
		for i := range side {
			side[i].Px, side[i].Sz = bytes.Clone(side[i].Px), bytes.Clone(side[i].Sz)
		}
	}
	return b, raw, ctx.Err()
}

// TestConcurrentRESTRecovery runs real timers: the read goroutine keeps applying updates (one is lost)
// while the REST recovery completes on a timer goroutine; the rebuilt book must match the exchange's.
func TestConcurrentRESTRecovery(t *testing.T) {
	x := &exchange{}
	out := &sink{}
	m := NewManager(Options{Emit: out.emit, Resync: x, SnapshotTimeout: time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer m.Close()
	r := rand.New(rand.NewPCG(3, 4))
	send := func(b *schema.Book, raw *decode.BookRaw, drop bool) {
		x.mu.Lock()
		if b.PrevSeqID == -1 {
			x.book.ApplySnapshot(b.Bids, b.Asks, raw)
		} else {
			x.book.ApplyUpdate(b.Bids, b.Asks, raw)
		}
		x.seq, x.ts = b.SeqID, b.Ts
		b.Checksum = int64(Checksum(&x.book))
		x.mu.Unlock()
		if !drop {
			m.Apply(b, raw)
		}
	}
	s, raw := msg("books", "snapshot", -1, 1, 1, genSide(r, 50, 1000, -1), genSide(r, 50, 1001, 1))
	send(s, raw, false)
	for seq := int64(2); seq < 5000; seq++ {
		u, raw := msg("books", "update", seq-1, seq, seq, genSide(r, 5, 1000, -1), genSide(r, 5, 1001, 1))
		send(u, raw, seq == 50)
		live := false
		m.View("books", "BTC-USDT", func(_ *Book, l bool) { live = l })
		if seq > 50 && live && m.Stats().Resyncs == 1 {
			break
		}
		time.Sleep(50 * time.Microsecond)
	}
	st := m.Stats()
	if st.Gaps != 2 || st.Resyncs != 1 || st.SequenceGaps != 1 || st.ChecksumFailures != 0 {
		t.Fatalf("stats %+v", st)
	}
	m.View("books", "BTC-USDT", func(b *Book, live bool) {
		x.mu.Lock()
		defer x.mu.Unlock()
		if !live || Checksum(b) != Checksum(&x.book) {
			t.Fatalf("rebuilt book differs (live %v)", live)
		}
	})
}
