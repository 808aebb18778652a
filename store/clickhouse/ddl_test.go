package clickhouse

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

func TestParseServerVersionClickHouse(t *testing.T) {
	for _, tc := range []struct {
		in     string
		want   ServerVersion
		modern bool
		bad    bool
	}{
		{in: "18.16.1", want: ServerVersion{18, 16, 1}},
		{in: "20.3.21.2", want: ServerVersion{20, 3, 21}},
		{in: "20.5.2.7", want: ServerVersion{20, 5, 2}, modern: true},
		{in: "24.8.4.13", want: ServerVersion{24, 8, 4}, modern: true},
		{in: " 26.7.1.1-stable\n", want: ServerVersion{26, 7, 1}, modern: true},
		{in: "21.8", want: ServerVersion{21, 8, 0}, modern: true},
		{in: "", bad: true},
		{in: "abc", bad: true},
		{in: "1x.2.3", bad: true},
	} {
		got, err := ParseServerVersion(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("%q: parsed as %v, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want || got.Modern() != tc.modern {
			t.Errorf("%q: got %v (modern %v) err %v, want %v (modern %v)", tc.in, got, got.Modern(), err, tc.want, tc.modern)
		}
	}
}

const chWantTradesPlain = "CREATE TABLE IF NOT EXISTS `db`.`trades`\n(\n" +
	"    `seq` Int64 COMMENT 'arrival sequence, unique per event: the replay tie-break and the version kept on merge',\n" +
	"    `recv_ns` Int64 COMMENT 'local receive time, Unix ns',\n" +
	"    `channel` String COMMENT 'OKX channel name',\n" +
	"    `inst_id` String COMMENT 'instrument id (currency for balances)',\n" +
	"    `ts` Int64 COMMENT 'exchange time, Unix ms',\n" +
	"    `trade_id` Int64,\n" +
	"    `px` Float64,\n" +
	"    `sz` Float64,\n" +
	"    `side` String,\n" +
	"    `count` Int64,\n" +
	"    `source` Int64,\n" +
	"    `seq_id` Int64\n" +
	")\nENGINE = ReplacingMergeTree(`seq`)\n" +
	"PARTITION BY toYYYYMMDD(toDateTime(intDiv(ts, 1000), 'UTC'))\n" +
	"ORDER BY (`inst_id`, `channel`, `ts`, `trade_id`)"

const chWantTradesModern = "CREATE TABLE IF NOT EXISTS `db`.`trades`\n(\n" +
	"    `seq` Int64 COMMENT 'arrival sequence, unique per event: the replay tie-break and the version kept on merge' CODEC(Delta, ZSTD(1)),\n" +
	"    `recv_ns` Int64 COMMENT 'local receive time, Unix ns' CODEC(DoubleDelta, ZSTD(1)),\n" +
	"    `channel` LowCardinality(String) COMMENT 'OKX channel name',\n" +
	"    `inst_id` LowCardinality(String) COMMENT 'instrument id (currency for balances)',\n" +
	"    `ts` Int64 COMMENT 'exchange time, Unix ms' CODEC(DoubleDelta, ZSTD(1)),\n" +
	"    `trade_id` Int64 CODEC(Delta, ZSTD(1)),\n" +
	"    `px` Float64 CODEC(Gorilla, ZSTD(1)),\n" +
	"    `sz` Float64 CODEC(ZSTD(1)),\n" +
	"    `side` LowCardinality(String),\n" +
	"    `count` Int64 CODEC(ZSTD(1)),\n" +
	"    `source` Int64 CODEC(ZSTD(1)),\n" +
	"    `seq_id` Int64 CODEC(Delta, ZSTD(1)),\n" +
	"    `recv_time` DateTime64(9, 'UTC') ALIAS fromUnixTimestamp64Nano(`recv_ns`, 'UTC'),\n" +
	"    `ts_time` DateTime64(3, 'UTC') ALIAS fromUnixTimestamp64Milli(`ts`, 'UTC')\n" +
	")\nENGINE = ReplacingMergeTree(`seq`)\n" +
	"PARTITION BY toYYYYMMDD(toDateTime(intDiv(ts, 1000), 'UTC'))\n" +
	"ORDER BY (`inst_id`, `channel`, `ts`, `trade_id`)"

func TestClickHouseDDLText(t *testing.T) {
	if got := DDL("db", schema.TradeTable, ServerVersion{18, 16, 1}); got != chWantTradesPlain {
		t.Errorf("plain DDL:\n%s\nwant:\n%s", got, chWantTradesPlain)
	}
	if got := DDL("db", schema.TradeTable, ServerVersion{24, 8, 4}); got != chWantTradesModern {
		t.Errorf("modern DDL:\n%s\nwant:\n%s", got, chWantTradesModern)
	}
}

func TestClickHouseDDLEveryTable(t *testing.T) {
	forbiddenOld := []string{"CODEC", "LowCardinality", "DateTime64", "ALIAS", "fromUnixTimestamp64"}
	for _, tab := range schema.Tables() {
		plain := DDL("okx", tab, ServerVersion{18, 16, 1})
		modern := DDL("okx", tab, ServerVersion{23, 8, 0})
		for _, f := range forbiddenOld {
			if strings.Contains(plain, f) {
				t.Errorf("%s: plain DDL uses %s, which 18.16 lacks", tab.Name, f)
			}
		}
		names := map[string]bool{}
		for _, c := range tab.Columns {
			names[c.Name] = true
			if !strings.Contains(plain, "`"+c.Name+"` ") || !strings.Contains(modern, "`"+c.Name+"` ") {
				t.Errorf("%s: column %s missing", tab.Name, c.Name)
			}
			if c.Dict && !strings.Contains(modern, "`"+c.Name+"` LowCardinality(String)") {
				t.Errorf("%s: dict column %s is not LowCardinality in the modern DDL", tab.Name, c.Name)
			}
		}
		for _, c := range tab.Columns {
			if c.Type != schema.TimeMs && c.Type != schema.TimeNs {
				continue
			}
			a := AliasName(c.Name)
			if names[a] {
				t.Errorf("%s: alias %s of %s collides with a column", tab.Name, a, c.Name)
			}
			names[a] = true
			if !strings.Contains(modern, "`"+a+"` DateTime64(") {
				t.Errorf("%s: alias %s missing", tab.Name, a)
			}
		}
		for _, d := range []string{plain, modern} {
			if strings.Count(d, "(") != strings.Count(d, ")") || strings.Contains(d, ",\n)") {
				t.Errorf("%s: malformed DDL:\n%s", tab.Name, d)
			}
		}
	}
	for in, want := range map[string]string{"ts": "ts_time", "recv_ns": "recv_time", "from_ms": "from_time",
		"funding_time": "funding_time_dt", "c_time": "c_time_dt"} {
		if got := AliasName(in); got != want {
			t.Errorf("alias of %s = %s, want %s", in, got, want)
		}
	}
}

func TestClickHouseSelectText(t *testing.T) {
	q := store.Query{From: time.UnixMilli(1000), To: time.UnixMilli(2000), Insts: []string{"BTC-USDT", "ETH-USDT"},
		Channels: []string{"trades"}}
	sql, args := Select("db", schema.MarkPriceTable, q)
	want := "SELECT `seq`, `recv_ns`, `channel`, `inst_id`, `ts`, `inst_type`, `mark_px` FROM `db`.`mark_prices` FINAL " +
		"WHERE ts >= ? AND ts < ? AND inst_id IN (?, ?) AND channel IN (?) ORDER BY ts, seq"
	if sql != want || len(args) != 5 || args[0] != int64(1000) || args[3] != "ETH-USDT" {
		t.Fatalf("got %s %v\nwant %s", sql, args, want)
	}
	sql, args = Select("db", schema.MarkPriceTable, store.Query{})
	if strings.Contains(sql, "WHERE") || len(args) != 0 {
		t.Fatalf("empty query: %s %v", sql, args)
	}
}

func TestQueryMatch(t *testing.T) {
	q := store.Query{From: time.UnixMilli(1000), To: time.UnixMilli(2000), Insts: []string{"A"}}
	for _, tc := range []struct {
		h    schema.Header
		want bool
	}{
		{schema.Header{InstID: "A", Ts: 1000}, true},
		{schema.Header{InstID: "A", Ts: 1999}, true},
		{schema.Header{InstID: "A", Ts: 2000}, false},
		{schema.Header{InstID: "A", Ts: 999}, false},
		{schema.Header{InstID: "B", Ts: 1500}, false},
	} {
		if got := q.Match(&tc.h); got != tc.want {
			t.Errorf("%+v: got %v", tc.h, got)
		}
	}
	if !(store.Query{}).Match(&schema.Header{Ts: -5}) {
		t.Error("open query must match everything")
	}
}

func TestClickHouseDSN(t *testing.T) {
	t.Setenv(EnvUser, "envuser")
	t.Setenv(EnvPassword, "envsecret")
	for _, tc := range []struct {
		dsn, db, user, pass string
		bad                 bool
	}{
		{dsn: "clickhouse://127.0.0.1:9000/okx", db: "okx", user: "envuser", pass: "envsecret"},
		{dsn: "clickhouse://u:hunter2@h:9000", db: DefaultDatabase, user: "u", pass: "hunter2"},
		{dsn: "tcp://h:9000/x_1?dial_timeout=1s", db: "x_1", user: "envuser", pass: "envsecret"},
		{dsn: "http://h:8123/x", bad: true},
		{dsn: "clickhouse://u:hunter2@h:9000/bad-name", bad: true},
		{dsn: "clickhouse:///db", bad: true},
		{dsn: "clickhouse://u:hunter2@h:9000/x?dial_timeout=zz", bad: true},
	} {
		opts, db, _, err := ParseDSN(tc.dsn, Options{})
		if tc.bad {
			if err == nil {
				t.Errorf("%s: accepted", tc.dsn)
			} else if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("%s: error leaks the password: %v", tc.dsn, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.dsn, err)
			continue
		}
		if db != tc.db || opts.Auth.Username != tc.user || opts.Auth.Password != tc.pass || opts.Auth.Database != "" {
			t.Errorf("%s: db %s user %s pass %s", tc.dsn, db, opts.Auth.Username, opts.Auth.Password)
		}
		if opts.DialTimeout != 5*time.Second || opts.Compression == nil {
			t.Errorf("%s: defaults not applied", tc.dsn)
		}
	}
}

func TestClickHouseSinkWithoutServer(t *testing.T) {
	s, err := NewSink("clickhouse://u:hunter2@127.0.0.1:1/okx", Options{DialTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Pending(); ok {
		t.Fatal("Pending must be false")
	}
	start := time.Now()
	err = s.Open(context.Background())
	if err == nil || strings.Contains(err.Error(), "hunter2") || time.Since(start) > 5*time.Second {
		t.Fatalf("open on a closed port: err %v after %v", err, time.Since(start))
	}
	err = s.Write(context.Background(), store.Batch{Table: schema.TradeTable, Events: []schema.Stored{&schema.Trade{}}})
	if err == nil {
		t.Fatal("write without a server succeeded")
	}
	if !errors.Is(s.Close(context.Background()), nil) {
		t.Fatal("close failed")
	}
}
