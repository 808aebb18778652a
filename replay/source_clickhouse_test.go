package replay

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/okxtape/okxtape/internal/testenv"
	chstore "github.com/okxtape/okxtape/store/clickhouse"

	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

func TestClickHouseSourceMatchesTheOrderingRule(t *testing.T) {
	dsn, _ := testenv.ClickHouseDB(t)
	ctx := context.Background()
	evs := randomEvents(3, 3000, []string{"BTC-USDT", "ETH-USDT"})
	evs = append(evs, &schema.Gap{Header: schema.Header{Seq: 999, Ts: day0 + 1500}, FromMs: day0 + 1500,
		ToMs: day0 + 1600, Reason: schema.GapDisconnect, Conn: "public#0"})
	sink, err := chstore.NewSink(dsn, chstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Open(ctx); err != nil {
		t.Fatal(err)
	}
	byKind := map[schema.Kind][]schema.Stored{}
	for _, e := range evs {
		byKind[e.Kind()] = append(byKind[e.Kind()], e)
	}
	for k, list := range byKind {
		if err := sink.Write(ctx, store.Batch{Table: schema.TableOf(k), Events: list}); err != nil {
			t.Fatal(err)
		}
	}
	if err := sink.Close(ctx); err != nil {
		t.Fatal(err)
	}
	src := NewClickHouseSource(dsn)
	src.WindowRows = 100 // one-second windows (the minimum): ~9 per dataset, with ts inversions across their edges
	defer src.Close()
	if n := straddles(evs, 1000); n == 0 {
		t.Fatal("test data has no ts inversion across a window edge")
	} else {
		t.Logf("%d ts inversions straddle a window edge", n)
	}
	got := collect(t, src, store.Query{}, ReplayTables())
	if want := expectOrder(evs); !reflect.DeepEqual(got, want) {
		t.Fatalf("clickhouse replay: %d events, want %d (or order differs)", len(got), len(want))
	}
	// Selection: instrument + channel + range; the connection-wide gap is kept.
	q := store.Query{From: time.UnixMilli(day0 + 1000), To: time.UnixMilli(day0 + 5000), Insts: []string{"ETH-USDT"},
		Channels: []string{"tickers"}}
	var sel []schema.Stored
	for _, e := range evs {
		h := e.Hdr()
		if h.Ts >= day0+1000 && h.Ts < day0+5000 && (e.Kind() == schema.KindGap || h.InstID == "ETH-USDT" && h.Channel == "tickers") {
			sel = append(sel, e)
		}
	}
	if got := collect(t, src, q, ReplayTables()); !reflect.DeepEqual(got, expectOrder(sel)) {
		t.Fatalf("clickhouse selection: %d events, want %d", len(got), len(sel))
	}
}

// straddles counts rows whose ts is below their stream's running maximum in another window of width ms
// (windows aligned at each dataset's first ts).
func straddles(evs []schema.Stored, width int64) int {
	lo := map[schema.Kind]int64{}
	for _, e := range evs {
		if v, ok := lo[e.Kind()]; !ok || e.Hdr().Ts < v {
			lo[e.Kind()] = e.Hdr().Ts
		}
	}
	run := map[streamID]int64{}
	n := 0
	for _, e := range evs {
		h := e.Hdr()
		id := streamID{h.Channel, h.InstID}
		l := lo[e.Kind()]
		if m, ok := run[id]; ok && h.Ts < m && (h.Ts-l)/width != (m-l)/width {
			n++
		}
		run[id] = max(run[id], h.Ts)
	}
	return n
}
