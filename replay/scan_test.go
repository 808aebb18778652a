package replay

import (
	"context"
	"testing"
	"time"

	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

// Scan visits each part's own rows once: context rows past OwnTo are left to the next part, rows outside the
// selection are dropped, connection-wide gaps match a channel list, and partDone follows every part.
func TestScanParts(t *testing.T) {
	rows := func(ts ...int64) []schema.Stored {
		var out []schema.Stored
		for i, x := range ts {
			inst := "BTC-USDT"
			if i%2 == 1 {
				inst = "ETH-USDT"
			}
			out = append(out, &schema.Ticker{Header: schema.Header{Seq: uint64(x), Channel: "tickers", InstID: inst, Ts: x}})
		}
		return out
	}
	part := func(minTs, maxTs, ownTo int64, evs []schema.Stored) Part {
		return Part{Name: "p", MinTs: minTs, MaxTs: maxTs, OwnTo: ownTo, Read: func(_ context.Context, fn func(schema.Stored) error) error {
			for _, e := range evs {
				if err := fn(e); err != nil {
					return err
				}
			}
			return nil
		}}
	}
	tp := TableParts{Table: schema.TableOf(schema.KindTicker), Parts: []Part{
		part(0, 99, 100, rows(10, 20, 30, 40, 100, 110)), // 100 and 110 are context rows of the next window
		part(100, 199, 0, rows(100, 110, 150, 160)),
		part(500, 600, 0, rows(500, 510)), // outside [0, 200)
	}}
	q := store.Query{From: time.UnixMilli(0), To: time.UnixMilli(200), Insts: []string{"BTC-USDT"}}
	var got []int64
	parts := 0
	err := tp.Scan(context.Background(), q, func(e schema.Stored) error { got = append(got, e.Hdr().Ts); return nil }, func() { parts++ })
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{10, 30, 100, 150}; len(got) != len(want) || got[0] != 10 || got[1] != 30 || got[2] != 100 || got[3] != 150 {
		t.Errorf("rows %v, want %v", got, want)
	}
	if parts != 2 {
		t.Errorf("partDone after %d parts, want 2 (the third does not overlap)", parts)
	}
	if lo, hi, ok := PartBounds([]TableParts{tp}, q, nil); !ok || lo != 0 || hi != 199 {
		t.Errorf("bounds %d %d %v", lo, hi, ok)
	}

	gaps := TableParts{Table: schema.GapTable, Parts: []Part{part(0, 99, 0, []schema.Stored{
		&schema.Gap{Header: schema.Header{Ts: 5}, Conn: "public#0"},
		&schema.Gap{Header: schema.Header{Ts: 6, Channel: "books", InstID: "BTC-USDT"}},
	})}}
	q.Channels = []string{"tickers"}
	n := 0
	if err := gaps.Scan(context.Background(), q, func(schema.Stored) error { n++; return nil }, nil); err != nil || n != 1 {
		t.Errorf("gaps selected for --channels tickers: %d (%v), want the connection-wide one", n, err)
	}
}
