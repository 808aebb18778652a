package clickhouse

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/okxtape/okxtape/internal/testenv"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
	"github.com/okxtape/okxtape/store/parquet"
)

// docQuery is one fenced sql block of docs/sql.md tagged "-- test: ENGINE NAME".
type docQuery struct {
	engine, name, sql string
	line              int
}

var docTagRe = regexp.MustCompile(`^--\s*test:\s*(\w+)\s+(\w+)\s*$`)

// parseSQLDoc returns the tagged sql blocks of a markdown file in order.
func parseSQLDoc(text string) ([]docQuery, error) {
	var out []docQuery
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```sql" {
			continue
		}
		start := i + 1
		var body []string
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			body = append(body, lines[i])
		}
		if i == len(lines) {
			return nil, fmt.Errorf("line %d: unterminated sql block", start)
		}
		if len(body) == 0 {
			return nil, fmt.Errorf("line %d: empty sql block", start)
		}
		m := docTagRe.FindStringSubmatch(strings.TrimSpace(body[0]))
		if m == nil {
			return nil, fmt.Errorf("line %d: sql block does not start with '-- test: ENGINE NAME'", start)
		}
		out = append(out, docQuery{engine: m[1], name: m[2], sql: strings.Join(body[1:], "\n"), line: start})
	}
	return out, nil
}

// The known dataset, day 2024-01-02 (t0 = 00:00:00 UTC).
const docT0 = int64(1704153600000)

func docDataset() map[*schema.Table][]schema.Stored {
	seq := uint64(1_000)
	h := func(channel, inst string, ts int64) schema.Header {
		seq++
		return schema.Header{Seq: seq, RecvNs: (docT0 + ts + 3) * 1e6, Channel: channel, InstID: inst, Ts: docT0 + ts}
	}
	trade := func(inst string, ts int64, px, sz float64) schema.Stored {
		return &schema.Trade{Header: h("trades", inst, ts), TradeID: int64(seq), Px: px, Sz: sz, Side: schema.SideBuy, Count: 1}
	}
	lv := func(pxsz ...float64) []schema.Level {
		var l []schema.Level
		for i := 0; i+1 < len(pxsz); i += 2 {
			l = append(l, schema.Level{Px: pxsz[i], Sz: pxsz[i+1], Orders: 1})
		}
		return l
	}
	book := func(ts int64, action string, bids, asks []schema.Level) schema.Stored {
		return &schema.Book{Header: h("books", "BTC-USDT", ts), Action: action, SeqID: int64(seq), Bids: bids, Asks: asks}
	}
	quote := func(ts int64, bid, ask float64) schema.Stored {
		return &schema.Quote{Header: h("books", "BTC-USDT", ts), BidPx: bid, BidSz: 1, AskPx: ask, AskSz: 1}
	}
	ticker := func(ts int64, bid, ask float64) schema.Stored {
		return &schema.Ticker{Header: h("tickers", "BTC-USDT", ts), InstType: "SPOT", BidPx: bid, AskPx: ask, Last: bid}
	}
	sess := func(id string, start, end int64) schema.Stored {
		hd := h("", "", start)
		return &schema.Session{Header: hd, SessionID: id, StartMs: docT0 + start, EndMs: end, Host: "h", Version: "v1"}
	}
	gap := func(reason, conn, channel, inst string, from, to int64) schema.Stored {
		return &schema.Gap{Header: h(channel, inst, from), FromMs: docT0 + from, ToMs: docT0 + to, Reason: reason, Conn: conn}
	}
	return map[*schema.Table][]schema.Stored{
		schema.TradeTable: {
			trade("BTC-USDT", 1_000, 100, 1), trade("ETH-USDT", 5_000, 10, 10), trade("BTC-USDT", 20_000, 102, 2),
			trade("BTC-USDT", 40_000, 99, 1), trade("BTC-USDT", 61_000, 101, 3), trade("BTC-USDT", 90_000, 103, 1),
			trade("BTC-USDT", 125_000, 104, 2), trade("ETH-USDT", 130_000, 12, 5),
		},
		schema.TickerTable: {ticker(1_000, 99.9, 100.1), ticker(61_000, 100.9, 101.2), ticker(62_000, math.NaN(), 101.3)},
		schema.QuoteTable: {quote(1_000, 99.9, 100.1), quote(2_000, math.NaN(), 100.2), quote(3_000, 100, 100.5),
			quote(70_000, 101, 101.2)},
		schema.BookTable: {
			book(100, schema.ActionSnapshot, lv(50, 1), lv(150, 1)), // replaced by the next snapshot
			book(500, schema.ActionSnapshot, lv(100, 1, 99, 2, 98, 3), lv(101, 1, 102, 2)),
			book(3_000, schema.ActionUpdate, lv(99, 0, 99.5, 4), lv(101, 0.5)),
			book(10_000, schema.ActionUpdate, lv(100, 0), nil), // after T
		},
		schema.GapTable: {
			gap(schema.GapDisconnect, "public#0", "", "", 200_000, 230_000),
			gap(schema.GapSequence, "public#0", "books", "BTC-USDT", 300_000, 301_000),
		},
		schema.SessionTable: {sess("s1", -60_000, 0), sess("s1", -60_000, docT0+400_000), sess("s2", 460_000, 0)},
		schema.RawTable: {&schema.Raw{Header: h("trades", "BTC-USDT", 1_000), Endpoint: schema.EndpointPublic,
			Frame: `{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[]}`}},
	}
}

// docChecks holds the expected results of the ClickHouse queries on the known dataset (values printed with %v).
var docChecks = map[string][][]string{
	"ohlcv_1m": {
		{"BTC-USDT", "2024-01-02 00:00:00 +0000 UTC", "100", "102", "99", "99", "4", "3"},
		{"BTC-USDT", "2024-01-02 00:01:00 +0000 UTC", "101", "103", "101", "103", "4", "2"},
		{"BTC-USDT", "2024-01-02 00:02:00 +0000 UTC", "104", "104", "104", "104", "2", "1"},
	},
	"vwap":            {{"BTC-USDT", "101.7", "10", "6"}, {"ETH-USDT", "10.666666666666666", "15", "2"}},
	"quote_spread_1m": {{"BTC-USDT", "2024-01-02 00:00:00 +0000 UTC", "2", "0.35", "0.5", "100.25"}, {"BTC-USDT", "2024-01-02 00:01:00 +0000 UTC", "1", "0.2", "0.2", "101.1"}},
	"depth_at_t": {
		{"bid", "100", "1"}, {"bid", "99.5", "4"}, {"bid", "98", "3"}, {"ask", "101", "0.5"}, {"ask", "102", "2"},
	},
	"gaps_per_day":  {{"2024-01-02 00:00:00 +0000 UTC", "disconnect", "1", "30"}, {"2024-01-02 00:00:00 +0000 UTC", "sequence", "1", "1"}},
	"not_recording": {{"2024-01-02 00:06:40 +0000 UTC", "2024-01-02 00:07:40 +0000 UTC", "60"}},
	"raw_frames":    {{"public", "trades", "1", "58"}},
}

// docRowMatches compares the leading columns of a result row, numbers with a relative tolerance of 1e-9.
func docRowMatches(got, want []string) bool {
	if len(got) < len(want) {
		return false
	}
	for i, w := range want {
		if got[i] == w {
			continue
		}
		g, err1 := strconv.ParseFloat(got[i], 64)
		x, err2 := strconv.ParseFloat(w, 64)
		if err1 != nil || err2 != nil || math.Abs(g-x) > 1e-9*math.Max(1, math.Abs(x)) {
			return false
		}
	}
	return true
}

// docCounts holds the expected row counts of the other queries.
var docCounts = map[string]int{"ticker_spread": 2, "rows_per_hour": 3, "gaps_list": 2, "sessions": 2, "top_of_last_row": 1}

func TestClickHouseSQLDoc(t *testing.T) {
	text, err := os.ReadFile("../../docs/sql.md")
	if err != nil {
		t.Fatal(err)
	}
	queries, err := parseSQLDoc(string(text))
	if err != nil {
		t.Fatalf("docs/sql.md: %v", err)
	}
	dsn, admin := testenv.ClickHouseDB(t)
	s := chOpenTestSink(t, dsn, Options{})
	ctx := context.Background()
	for tab, events := range docDataset() {
		for i := 0; i < 2; i++ { // inserted twice: every query must see each event once (FINAL)
			if err := s.Write(ctx, store.Batch{Table: tab, Events: events}); err != nil {
				t.Fatal(err)
			}
		}
	}
	seen := map[string]bool{}
	for _, q := range queries {
		if q.engine != "clickhouse" {
			continue
		}
		if seen[q.name] {
			t.Errorf("docs/sql.md:%d: duplicate test name %s", q.line, q.name)
		}
		seen[q.name] = true
		t.Run(q.name, func(t *testing.T) {
			sql := strings.ReplaceAll(q.sql, "okxtape.", quoteIdent(s.Database())+".")
			rows, err := admin.Query(ctx, sql)
			if err != nil {
				t.Fatalf("docs/sql.md:%d: %v\n%s", q.line, err, sql)
			}
			defer rows.Close()
			var got [][]string
			types := rows.ColumnTypes()
			for rows.Next() {
				dest := make([]any, len(types))
				for i, ct := range types {
					dest[i] = reflect.New(ct.ScanType()).Interface()
				}
				if err := rows.Scan(dest...); err != nil {
					t.Fatalf("docs/sql.md:%d: scan: %v", q.line, err)
				}
				row := make([]string, len(dest))
				for i, d := range dest {
					row[i] = fmt.Sprint(reflect.ValueOf(d).Elem().Interface())
				}
				got = append(got, row)
			}
			if err := rows.Err(); err != nil {
				t.Fatalf("docs/sql.md:%d: %v", q.line, err)
			}
			if len(got) == 0 {
				t.Fatalf("docs/sql.md:%d: no rows", q.line)
			}
			if want, ok := docChecks[q.name]; ok {
				for i := range want {
					if i >= len(got) || !docRowMatches(got[i], want[i]) {
						t.Fatalf("docs/sql.md:%d: got\n%v\nwant (leading columns)\n%v", q.line, got, want)
					}
				}
				if len(got) != len(want) {
					t.Fatalf("docs/sql.md:%d: %d rows, want %d: %v", q.line, len(got), len(want), got)
				}
			} else if n, ok := docCounts[q.name]; ok {
				if len(got) != n {
					t.Fatalf("docs/sql.md:%d: %d rows, want %d: %v", q.line, len(got), n, got)
				}
			} else {
				t.Errorf("docs/sql.md:%d: no expectation for %s; add one to docChecks or docCounts", q.line, q.name)
			}
			t.Logf("%s: %v", q.name, got)
		})
	}
	for name := range docChecks {
		if !seen[name] {
			t.Errorf("docs/sql.md lacks the clickhouse query %s", name)
		}
	}
	for name := range docCounts {
		if !seen[name] {
			t.Errorf("docs/sql.md lacks the clickhouse query %s", name)
		}
	}
}

// duckExpect is what a DuckDB example returns on the known dataset: its row count and, optionally, the values
// of some columns of the first row.
type duckExpect struct {
	rows  int
	first map[string]float64
}

var duckChecks = map[string]duckExpect{
	"ohlcv_1m":        {3, map[string]float64{"open": 100, "high": 102, "low": 99, "close": 99, "volume": 4, "trades": 3}},
	"vwap":            {2, map[string]float64{"vwap": 101.7, "volume": 10}},
	"ticker_spread":   {2, map[string]float64{"bid_px": 99.9, "mid": 100}},
	"quote_spread_1m": {2, map[string]float64{"quotes": 2, "avg_spread": 0.35, "last_mid": 100.25}},
	"rows_per_hour":   {2, map[string]float64{"rows": 4}},
	"gaps_list":       {2, map[string]float64{"millis": 30000}},
	"not_recording":   {1, nil},
	"depth_at_t":      {5, map[string]float64{"px": 100, "size": 1}},
}

// TestSQLDocDuckDB runs the DuckDB examples of docs/sql.md over Parquet files that the Parquet sink writes from
// the same known dataset (DuckDB from scripts/duckdb-install.sh; skipped without it unless
// OKXTAPE_REQUIRE_DUCKDB=1).
func TestSQLDocDuckDB(t *testing.T) {
	script := testenv.DuckDBScript(t)
	text, err := os.ReadFile("../../docs/sql.md")
	if err != nil {
		t.Fatal(err)
	}
	queries, err := parseSQLDoc(string(text))
	if err != nil {
		t.Fatalf("docs/sql.md: %v", err)
	}
	dir := t.TempDir()
	ctx := context.Background()
	pq := parquet.NewSink(filepath.Join(dir, "data"), parquet.Options{})
	if err := pq.Open(ctx); err != nil {
		t.Fatal(err)
	}
	for tab, events := range docDataset() {
		if err := pq.Write(ctx, store.Batch{Table: tab, Events: events}); err != nil {
			t.Fatal(err)
		}
	}
	if err := pq.Close(ctx); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, q := range queries {
		if q.engine != "duckdb" {
			continue
		}
		seen[q.name] = true
		t.Run(q.name, func(t *testing.T) {
			cmd := exec.Command("node", script, "SET TimeZone = 'UTC';\n"+q.sql)
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("docs/sql.md:%d: duckdb: %v\n%s", q.line, err, out)
			}
			var rows []map[string]any
			if err := json.Unmarshal(out, &rows); err != nil {
				t.Fatalf("docs/sql.md:%d: duckdb output: %v\n%s", q.line, err, out)
			}
			want, ok := duckChecks[q.name]
			if !ok {
				t.Fatalf("docs/sql.md:%d: no expectation for %s; add one to duckChecks", q.line, q.name)
			}
			if len(rows) != want.rows {
				t.Fatalf("docs/sql.md:%d: %d rows, want %d: %s", q.line, len(rows), want.rows, out)
			}
			for col, x := range want.first {
				v, err := strconv.ParseFloat(fmt.Sprint(rows[0][col]), 64)
				if err != nil || math.Abs(v-x) > 1e-9*math.Max(1, math.Abs(x)) {
					t.Fatalf("docs/sql.md:%d: %s = %v, want %v: %s", q.line, col, rows[0][col], x, out)
				}
			}
			t.Logf("%s: %s", q.name, out)
		})
	}
	for name := range duckChecks {
		if !seen[name] {
			t.Errorf("docs/sql.md lacks the duckdb query %s", name)
		}
	}
}
