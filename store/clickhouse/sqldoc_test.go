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
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

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
	bar := func(ts int64, o, hi, lo, c, vol, buy float64, n int64, vwap float64) schema.Stored {
		return &schema.TradeBar{Header: h("trades", "BTC-USDT", ts), IntervalMs: 1000, Open: o, High: hi, Low: lo,
			Close: c, Volume: vol, BuyVolume: buy, SellVolume: vol - buy, Trades: n, Vwap: vwap}
	}
	snapshot := func(ts int64, inGap bool, bidPx, bidSz, askPx, askSz []float64) schema.Stored {
		return &schema.BookSnapshot{Header: h("books", "BTC-USDT", ts), Clock: schema.ClockExchange, IntervalMs: 1000,
			Levels: 5, SeqID: int64(seq), BookTs: docT0 + ts - 100, InGap: inGap, BidPx: bidPx, BidSz: bidSz,
			AskPx: askPx, AskSz: askSz}
	}
	return map[*schema.Table][]schema.Stored{
		schema.TradeBarTable: {
			bar(0, 100, 102, 99, 101, 4, 3, 3, 100.5), bar(1_000, 101, 103, 101, 103, 2, 2, 2, 102),
			bar(2_000, 103, 103, 98, 98, 4, 0, 1, 100), bar(61_000, 97, 97, 97, 97, 1, 1, 1, 97),
		},
		schema.BookSnapshotTable: {
			snapshot(1_000, false, []float64{100, 99.5, 98}, []float64{1, 4, 3}, []float64{101, 102}, []float64{0.5, 2}),
			snapshot(2_000, true, nil, nil, nil, nil),
			snapshot(3_000, false, []float64{100.5, 100}, []float64{2, 1}, []float64{101}, []float64{1}),
		},
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
		// s3 ran beside s1 (a second recorder): the pause is from s1's stop to s2's start, not s3's.
		schema.SessionTable: {sess("s1", -60_000, 0), sess("s1", -60_000, docT0+400_000), sess("s2", 460_000, 0),
			sess("s3", 100_000, 0), sess("s3", 100_000, docT0+300_000)},
		schema.RawTable: {&schema.Raw{Header: h("trades", "BTC-USDT", 1_000), Endpoint: schema.EndpointPublic,
			Frame: `{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[]}`}},
	}
}

// docWant is the answer of every question of docs/sql.md on the known dataset, the same from every engine:
// full rows, each value normalised by docNorm (numbers to 10 significant digits, times to UTC with ms, booleans
// to 1/0, lists as [a b]).
var docWant = map[string][][]string{
	"ohlcv_1m": {
		{"BTC-USDT", "2024-01-02 00:00:00.000", "100", "102", "99", "99", "4", "3"},
		{"BTC-USDT", "2024-01-02 00:01:00.000", "101", "103", "101", "103", "4", "2"},
		{"BTC-USDT", "2024-01-02 00:02:00.000", "104", "104", "104", "104", "2", "1"},
	},
	"vwap": {{"BTC-USDT", "101.7", "10", "6"}, {"ETH-USDT", "10.66666667", "15", "2"}},
	"ticker_spread": {
		{"BTC-USDT", "2024-01-02 00:00:01.000", "0", "99.9", "100.1", "0.2", "100", "20"},
		{"BTC-USDT", "2024-01-02 00:01:01.000", "0", "100.9", "101.2", "0.3", "101.05", "29.68827313"},
	},
	"quote_spread_1m": {
		{"BTC-USDT", "2024-01-02 00:00:00.000", "2", "0.35", "0.5", "100.25"},
		{"BTC-USDT", "2024-01-02 00:01:00.000", "1", "0.2", "0.2", "101.1"},
	},
	"rows_per_hour": {
		{"books", "2024-01-02 00:00:00.000", "books", "4", "1"},
		{"tickers", "2024-01-02 00:00:00.000", "tickers", "3", "1"},
		{"trades", "2024-01-02 00:00:00.000", "trades", "8", "2"},
	},
	"gaps_list": {
		{"disconnect", "public#0", "", "", "2024-01-02 00:03:20.000", "2024-01-02 00:03:50.000", "30", ""},
		{"sequence", "public#0", "books", "BTC-USDT", "2024-01-02 00:05:00.000", "2024-01-02 00:05:01.000", "1", ""},
	},
	"gaps_per_day": {
		{"2024-01-02 00:00:00.000", "disconnect", "1", "30"},
		{"2024-01-02 00:00:00.000", "sequence", "1", "1"},
	},
	"sessions": {
		{"s1", "h", "v1", "2024-01-01 23:59:00.000", "2024-01-02 00:06:40.000", "0"},
		{"s3", "h", "v1", "2024-01-02 00:01:40.000", "2024-01-02 00:05:00.000", "0"},
		{"s2", "h", "v1", "2024-01-02 00:07:40.000", "crashed or running", "1"},
	},
	"not_recording": {{"2024-01-02 00:06:40.000", "2024-01-02 00:07:40.000", "60"}},
	"depth_at_t": {
		{"bid", "100", "1"}, {"bid", "99.5", "4"}, {"bid", "98", "3"}, {"ask", "101", "0.5"}, {"ask", "102", "2"},
	},
	"top_of_last_row": {{"2024-01-02 00:00:03.000", "update", "99", "101", "[99 99.5]", "[101]"}},
	"raw_frames":      {{"public", "trades", "1", "58"}},
	"snapshot_spread": {
		{"BTC-USDT", "2024-01-02 00:00:01.000", "100", "101", "1", "8", "2.5"},
		{"BTC-USDT", "2024-01-02 00:00:03.000", "100.5", "101", "0.5", "3", "1"},
	},
	"snapshot_gaps": {{"BTC-USDT", "books", "1", "3"}},
	"bars_1m_from_1s": {
		{"BTC-USDT", "2024-01-02 00:00:00.000", "100", "103", "98", "98", "10", "6", "100.6"},
		{"BTC-USDT", "2024-01-02 00:01:00.000", "97", "97", "97", "97", "1", "1", "97"},
	},
}

// docNorm turns a value of any engine's result into the form docWant uses.
func docNorm(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case string:
		for _, layout := range []string{"2006-01-02 15:04:05.999999999-07", "2006-01-02 15:04:05.999999999", "2006-01-02"} {
			if t, err := time.Parse(layout, x); err == nil {
				return docNorm(t)
			}
		}
		if f, err := strconv.ParseFloat(x, 64); err == nil {
			return docNorm(f)
		}
		return x
	case bool:
		if x {
			return "1"
		}
		return "0"
	case time.Time:
		return x.UTC().Format("2006-01-02 15:04:05.000")
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'g', 10, 64)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(rv.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(rv.Uint(), 10)
	case reflect.Float32:
		return docNorm(rv.Float())
	case reflect.Slice, reflect.Array:
		parts := make([]string, rv.Len())
		for i := range parts {
			parts[i] = docNorm(rv.Index(i).Interface())
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return fmt.Sprint(v)
}

// docQueries reads docs/sql.md and checks that every question has a ClickHouse and a DuckDB block and an answer.
func docQueries(t *testing.T) []docQuery {
	t.Helper()
	text, err := os.ReadFile("../../docs/sql.md")
	if err != nil {
		t.Fatal(err)
	}
	queries, err := parseSQLDoc(string(text))
	if err != nil {
		t.Fatalf("docs/sql.md: %v", err)
	}
	engines := map[string]map[string]bool{}
	for _, q := range queries {
		if q.engine != "clickhouse" && q.engine != "duckdb" {
			t.Errorf("docs/sql.md:%d: unknown engine %s", q.line, q.engine)
		}
		if engines[q.name] == nil {
			engines[q.name] = map[string]bool{}
		}
		if engines[q.name][q.engine] {
			t.Errorf("docs/sql.md:%d: a second %s block for %s", q.line, q.engine, q.name)
		}
		engines[q.name][q.engine] = true
	}
	for name, e := range engines {
		if !e["clickhouse"] || !e["duckdb"] {
			t.Errorf("docs/sql.md: %s needs both a clickhouse and a duckdb block, has %v", name, e)
		}
		if docWant[name] == nil {
			t.Errorf("docs/sql.md: no expected answer for %s; add one to docWant", name)
		}
	}
	for name := range docWant {
		if engines[name] == nil {
			t.Errorf("docs/sql.md lacks the question %s", name)
		}
	}
	return queries
}

// checkDocAnswer compares an engine's normalised rows with docWant.
func checkDocAnswer(t *testing.T, q docQuery, got [][]string) {
	t.Helper()
	if want := docWant[q.name]; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("docs/sql.md:%d (%s %s):\n got %q\nwant %q", q.line, q.engine, q.name, got, want)
	}
}

// runDocClickHouse loads the known dataset twice through a sink on dsn and runs every ClickHouse block.
func runDocClickHouse(t *testing.T, dsn string, conn driver.Conn, queries []docQuery) {
	s := chOpenTestSink(t, dsn, Options{})
	ctx := context.Background()
	for tab, events := range docDataset() {
		for i := 0; i < 2; i++ { // inserted twice: every query must see each event once (FINAL)
			if err := s.Write(ctx, store.Batch{Table: tab, Events: events}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, q := range queries {
		if q.engine != "clickhouse" {
			continue
		}
		sql := strings.ReplaceAll(q.sql, "okxtape.", quoteIdent(s.Database())+".")
		rows, err := conn.Query(ctx, sql)
		if err != nil {
			t.Errorf("docs/sql.md:%d: %v\n%s", q.line, err, sql)
			continue
		}
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
				row[i] = docNorm(reflect.ValueOf(d).Elem().Interface())
			}
			got = append(got, row)
		}
		if err := rows.Err(); err != nil {
			t.Errorf("docs/sql.md:%d: %v", q.line, err)
		}
		rows.Close()
		checkDocAnswer(t, q, got)
	}
}

// TestSQLDocClickHouse runs the ClickHouse examples of docs/sql.md on a single server.
func TestSQLDocClickHouse(t *testing.T) {
	queries := docQueries(t)
	dsn, admin := testenv.ClickHouseDB(t)
	runDocClickHouse(t, dsn, admin, queries)
}

// TestSQLDocCluster runs the same ClickHouse examples through the Distributed tables of the 2-shard cluster.
func TestSQLDocCluster(t *testing.T) {
	queries := docQueries(t)
	c := chTestCluster(t)
	runDocClickHouse(t, c.dsn(0, chTwoShards), c.admin[1], queries)
}

// TestSQLDocDuckDB runs the DuckDB examples of docs/sql.md over Parquet files that the Parquet sink writes from
// the same known dataset (DuckDB from scripts/duckdb-install.sh; skipped without it unless
// OKXTAPE_REQUIRE_DUCKDB=1).
func TestSQLDocDuckDB(t *testing.T) {
	queries := docQueries(t)
	script := testenv.DuckDBScript(t)
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
	for _, q := range queries {
		if q.engine != "duckdb" {
			continue
		}
		cmd := exec.Command("node", script, "SET TimeZone = 'UTC';\n"+q.sql, "--rows")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("docs/sql.md:%d: duckdb: %v\n%s", q.line, err, out)
			continue
		}
		var rows [][]any
		if err := json.Unmarshal(out, &rows); err != nil {
			t.Fatalf("docs/sql.md:%d: duckdb output: %v\n%s", q.line, err, out)
		}
		got := make([][]string, len(rows))
		for i, r := range rows {
			for _, v := range r {
				got[i] = append(got[i], docNorm(v))
			}
		}
		checkDocAnswer(t, q, got)
	}
}
