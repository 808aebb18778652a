package book

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/okxtape/okxtape/schema"
)

// FuzzManager feeds the Manager arbitrary message sequences (snapshots, updates, heartbeats, resets,
// repeats, levels deleted and crossed) from two interleaved "connections" and checks what must always hold:
// no panic; the local book sorted, without empty levels, within MaxLevels; no crossed book emitted; and a
// chained book's emitted seqIds never go back except by a sequence reset (seqId < prevSeqId): an update
// never, a snapshot only after a reset or a stream that stayed below the last row emitted (more than
// maxQuickRetries snapshots, or maxRepeats messages, since that row; a snapshot without seqId cannot tell).
func FuzzManager(f *testing.F) {
	f.Add([]byte{0, 10, 0, 0, 1, 11, 10, 1, 1, 12, 11, 2, 0, 11, 0, 3, 1, 13, 12, 0})
	f.Add([]byte{0, 5, 0, 0, 1, 6, 5, 9, 1, 3, 6, 1, 1, 4, 3, 2, 0, 2, 0, 0, 1, 5, 4, 1})
	f.Add([]byte("0\x050010000\x0300")) // found by the fuzzer: a snapshot below the last row taken after an incident
	f.Fuzz(func(t *testing.T, data []byte) {
		var emitted []*schema.Book
		m := NewManager(Options{MaxLevels: 8, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			AfterFunc: func(time.Duration, func()) func() bool { return func() bool { return true } },
			Emit: func(ev schema.Event) {
				switch e := ev.(type) {
				case *schema.Book:
					emitted = append(emitted, e.Clone())
				case *schema.Quote:
					if e.BidPx >= e.AskPx {
						t.Fatalf("crossed quote emitted: %+v", *e)
					}
				}
			}})
		defer m.Close()
		var snaps, resets, msgs int // since the last book emitted
		for ts := int64(1); len(data) >= 4; ts++ {
			op, seq, prev, lv := data[0], int64(data[1]), int64(data[2]), data[3]
			data = data[4:]
			action := schema.ActionUpdate
			if op%4 == 0 {
				action, prev = schema.ActionSnapshot, -1
			}
			b := &schema.Book{Header: schema.Header{Channel: "books", InstID: "X", Ts: ts}, Action: action,
				SeqID: seq, PrevSeqID: prev}
			for i := 0; i < int(lv%4); i++ {
				px := float64(100 + int(lv>>2) + i)
				sz := float64((int(op) + i) % 3) // 0 deletes in an update
				if i%2 == 0 {
					b.Bids = append(b.Bids, schema.Level{Px: px - 10, Sz: sz})
				} else {
					b.Asks = append(b.Asks, schema.Level{Px: px, Sz: sz})
				}
			}
			n := len(emitted)
			m.Apply(b, nil)
			msgs++
			if action == schema.ActionSnapshot {
				snaps++
			} else if seq < prev {
				resets++
			}
			for i := max(n, 1); i < len(emitted); i++ {
				a, e := emitted[i-1], emitted[i]
				if e.Action == schema.ActionSnapshot && e.SeqID > 0 && e.SeqID < a.SeqID && resets == 0 &&
					snaps <= maxQuickRetries && msgs < maxRepeats {
					t.Fatalf("snapshot went back: %d then %d after %d messages, %d snapshots, no reset", a.SeqID,
						e.SeqID, msgs, snaps)
				}
			}
			if len(emitted) > n {
				snaps, resets, msgs = 0, 0, 0
			}
			m.View("books", "X", func(bk *Book, live bool) {
				if bk != nil {
					checkSorted(t, bk, 8)
				}
			})
		}
		for i := 1; i < len(emitted); i++ {
			a, b := emitted[i-1], emitted[i]
			if b.SeqID < a.SeqID && !(b.SeqID < b.PrevSeqID) && b.Action != schema.ActionSnapshot {
				t.Fatalf("book went back: %d then %d (prev %d)", a.SeqID, b.SeqID, b.PrevSeqID)
			}
		}
	})
}

func checkSorted(t *testing.T, b *Book, max int) {
	t.Helper()
	if len(b.Bids()) > max || len(b.Asks()) > max {
		t.Fatalf("more than %d levels", max)
	}
	for i, l := range b.Bids() {
		if l.Sz <= 0 || (i > 0 && l.Px >= b.Bids()[i-1].Px) {
			t.Fatalf("bids not sorted or empty level: %+v", b.Bids())
		}
	}
	for i, l := range b.Asks() {
		if l.Sz <= 0 || (i > 0 && l.Px <= b.Asks()[i-1].Px) {
			t.Fatalf("asks not sorted or empty level: %+v", b.Asks())
		}
	}
}
