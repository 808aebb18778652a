package book

import (
	"bytes"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/okxtape/okxtape/ingest/decode"
	"github.com/okxtape/okxtape/internal/testenv"
	"github.com/okxtape/okxtape/schema"
)

// TestCaptureWithDecoder runs the capture through the real decoder, whose *schema.Book and BookRaw are
// reused for every frame: the wiring the client uses.
func TestCaptureWithDecoder(t *testing.T) {
	frames := captureBookFrames(t)
	h := newHarness(t, nil)
	d := decode.NewDecoder()
	var env decode.Envelope
	books := 0
	for i, fr := range frames {
		if err := d.Envelope(fr, &env); err != nil || env.Kind != decode.FramePush {
			t.Fatalf("frame %d: %v (kind %v)", i, err, env.Kind)
		}
		if _, err := d.Push(&env, fr, int64(i), func(ev schema.Event) {
			if b, ok := ev.(*schema.Book); ok {
				books++
				h.m.Apply(b, d.BookRaw())
			}
		}); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	st := h.m.Stats()
	if books != 290 || st.ChecksumsVerified != 290 || st.Gaps != 0 || st.Applied != 290 {
		t.Fatalf("books %d, stats %+v", books, st)
	}
}

const restFixture = "../../../shared/fixtures/okx/http_get_order_book.json"

// TestRESTFixtureSnapshot joins a REST snapshot parsed by decode.ParseRESTBooks; without a seqId (the
// fixture has none, like docs before 2026) it cannot be joined and is retried later.
func TestRESTFixtureSnapshot(t *testing.T) {
	body, err := os.ReadFile(restFixture)
	if err != nil {
		testenv.Fixtures.Missing(t, err)
	}
	h := newHarness(t, nil)
	h.snap(10, 1000)
	h.upd(12, 13, 1300)
	h.upd(13, 14, 1400)
	h.out.take()
	noSeq, noSeqRaw, err := decode.ParseRESTBooks(body)
	if err != nil {
		t.Fatal(err)
	}
	h.rs.queue(noSeq, noSeqRaw)
	h.clk.runNext()
	wantKinds(t, h.out.take())
	if d := h.clk.pending(); !slices.Equal(d, []time.Duration{3 * time.Second}) || h.m.Stats().SnapshotFailures != 1 {
		t.Fatalf("pending %v, stats %+v", d, h.m.Stats())
	}
	withSeq := bytes.Replace(body, []byte(`"ts": "1704067200000"`), []byte(`"ts": "1704067200000", "seqId": 13`), 1)
	snap, raw, err := decode.ParseRESTBooks(withSeq)
	if err != nil || snap.SeqID != 13 {
		t.Fatalf("%v, seqId %d", err, snap.SeqID)
	}
	h.rs.queue(snap, raw)
	h.clk.runNext()
	evs := h.out.take()
	wantKinds(t, evs, "G:resync", "B:13", "Q", "B:14", "Q")
	if q := evs[2].(*schema.Quote); q.BidPx != 41006.7 || q.AskPx != 41006.8 || q.InstID != "BTC-USDT" {
		t.Fatalf("quote %+v", q)
	}
	h.m.View("books", "BTC-USDT", func(b *Book, live bool) {
		px, sz := b.Raw(b.Asks()[0])
		if !live || string(px) != "41006.8" || string(sz) != "0.60038921" {
			t.Fatalf("live %v, best ask %s/%s", live, px, sz)
		}
	})
}
