package replay

import (
	"slices"
	"testing"

	"github.com/okxtape/okxtape/schema"
)

// TestBookSlabKeepsSides reads book rows into a slab's slots the way the Parquet reader does (appending to
// the slot's sides), with sides from empty to longer than a slot's room in the arena, some slots not
// committed, and checks every committed row's sides afterwards: in-place bids, copied asks, long sides
// read elsewhere and arena replacements must all keep each row's own levels.
func TestBookSlabKeepsSides(t *testing.T) {
	sl := newSlab(schema.KindBook)
	side := func(n int, base float64) []schema.Level {
		out := make([]schema.Level, n)
		for k := range out {
			out[k] = schema.Level{Px: base + float64(k), Sz: float64(n), Orders: int64(k)}
		}
		return out
	}
	lens := []int{0, 1, 3, 400, slotRoom, slotRoom + 1, 1000, 5, 0, 2}
	var want []*schema.Book
	for i := range 300 {
		nb, na := lens[i%len(lens)], lens[(i/len(lens)+i)%len(lens)]
		b := sl.slot().(*schema.Book)
		b.SeqID = int64(i)
		b.Bids = append(b.Bids[:0], side(nb, float64(i)*1e4)...)
		b.Asks = append(b.Asks[:0], side(na, float64(i)*1e4+5e3)...)
		if i%7 == 3 {
			continue // not committed: the next slot reuses it
		}
		sl.commit()
		want = append(want, &schema.Book{SeqID: int64(i), Bids: side(nb, float64(i)*1e4), Asks: side(na, float64(i)*1e4+5e3)})
	}
	if sl.len() != len(want) {
		t.Fatalf("%d rows, want %d", sl.len(), len(want))
	}
	for i, w := range want {
		got := sl.at(i).(*schema.Book)
		if got.SeqID != w.SeqID || !slices.Equal(got.Bids, w.Bids) || !slices.Equal(got.Asks, w.Asks) {
			t.Fatalf("row %d (seq %d): %d bids %d asks, want %d %d", i, got.SeqID, len(got.Bids), len(got.Asks), len(w.Bids), len(w.Asks))
		}
		if cap(got.Bids) != len(got.Bids) || cap(got.Asks) != len(got.Asks) {
			t.Fatalf("row %d: sides not capped (%d/%d, %d/%d)", i, len(got.Bids), cap(got.Bids), len(got.Asks), cap(got.Asks))
		}
	}
}

// TestSlabRowsStayPut commits more rows than a slab was sized for, keeping the event of every committed
// row (as the loader's entries do), and checks each still holds its row after the slab grew: entries
// point at slab rows from the moment they are committed.
func TestSlabRowsStayPut(t *testing.T) {
	for _, k := range []schema.Kind{schema.KindTicker, schema.KindBook, schema.KindCandle} {
		sl := newSlab(k)
		sl.reset()
		sl.grow(2)
		var kept []schema.Stored
		for i := range 1000 {
			ev := sl.slot()
			ev.Hdr().Seq = uint64(i)
			if i%5 == 4 {
				continue // not committed
			}
			sl.commit()
			kept = append(kept, ev)
			if i%3 == 0 { // and some copied in
				c := schema.TableOf(k).New()
				c.Hdr().Seq = uint64(i) + 1e6
				kept = append(kept, sl.add(c))
			}
		}
		if sl.len() != len(kept) {
			t.Fatalf("kind %v: %d rows, want %d", k, sl.len(), len(kept))
		}
		for i, ev := range kept {
			if got, want := ev.Hdr().Seq, sl.at(i).Hdr().Seq; got != want {
				t.Fatalf("kind %v: kept row %d has seq %d, the slab's row %d", k, i, got, want)
			}
		}
	}
}
