package replay

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"reflect"
	"testing"
	"time"

	chstore "github.com/okxtape/okxtape/store/clickhouse"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

// clickHouseDB creates a database of its own on the test server and returns a DSN naming it; it is dropped
// when the test ends. Without a server the test is skipped, unless OKXTAPE_REQUIRE_CLICKHOUSE=1.
func clickHouseDB(t *testing.T) string {
	t.Helper()
	base := os.Getenv("OKXTAPE_TEST_CLICKHOUSE")
	if base == "" {
		base = "clickhouse://127.0.0.1:9000/default"
	}
	opts, err := clickhouse.ParseDSN(base)
	if err != nil {
		t.Fatal(err)
	}
	opts.Auth.Database = ""
	opts.DialTimeout = 2 * time.Second
	conn, err := clickhouse.Open(opts)
	if err == nil {
		err = conn.Ping(context.Background())
	}
	if err != nil {
		if os.Getenv("OKXTAPE_REQUIRE_CLICKHOUSE") == "1" {
			t.Fatalf("ClickHouse required but not reachable at %s: %v", base, err)
		}
		t.Skipf("no ClickHouse server at %s: %v", base, err)
	}
	db := fmt.Sprintf("okxtape_replay_test_%d", time.Now().UnixNano())
	if err := conn.Exec(context.Background(), "CREATE DATABASE "+db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db)
		conn.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + db
	return u.String()
}

func TestClickHouseSourceMatchesTheOrderingRule(t *testing.T) {
	dsn := clickHouseDB(t)
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
