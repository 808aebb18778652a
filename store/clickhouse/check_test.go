package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"

	"github.com/okxtape/okxtape/internal/testenv"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

// reportedColumns is what system.columns says about a table created by DDL for a server of version v:
// the declared types, and the modern DDL's DateTime64 ALIAS columns.
func reportedColumns(t *schema.Table, v ServerVersion) []serverColumn {
	var out []serverColumn
	for _, c := range t.Columns {
		out = append(out, serverColumn{name: c.Name, typ: chType(c, v.Modern())})
	}
	if v.Modern() {
		for _, c := range t.Columns {
			if c.Type == schema.TimeMs || c.Type == schema.TimeNs {
				out = append(out, serverColumn{name: AliasName(c.Name), typ: "DateTime64(3, 'UTC')", kind: "ALIAS"})
			}
		}
	}
	return out
}

func TestCheckTableBothGenerations(t *testing.T) {
	old, modern := ServerVersion{Major: 18, Minor: 16}, ServerVersion{Major: 24, Minor: 8}
	for _, tb := range schema.Tables() {
		for _, v := range []ServerVersion{old, modern} {
			if err := checkTable(tb, reportedColumns(tb, v)); err != nil {
				t.Errorf("%s on %s: %v", tb.Name, v, err)
			}
		}
		// A table made by 18.16 on a server upgraded since keeps plain String columns: still fine.
		if err := checkTable(tb, reportedColumns(tb, old)); err != nil {
			t.Errorf("%s: %v", tb.Name, err)
		}
	}
	cols := reportedColumns(schema.TickerTable, modern)
	cols[schema.TickerTable.Index("last")].typ = "String"
	cols = append(cols[:1], cols[2:]...) // drop the second column
	cols = append(cols, serverColumn{name: "note", typ: "String"})
	err := checkTable(schema.TickerTable, cols)
	second := schema.TickerTable.Columns[1].Name
	for _, want := range []string{"column last is String, want Float64", "column " + second + " is missing", "column note (String) is not in the schema"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in %v", want, err)
		}
	}
	if err := checkTable(schema.TickerTable, nil); err == nil {
		t.Error("a missing table passes")
	}
}

// TestClickHouseWrongSchema is finding 3 against the real server: a table with the wrong columns made Open
// say "ready" and the same insert was retried forever, blocking every other table.
func TestClickHouseWrongSchema(t *testing.T) {
	dsn, admin := testenv.ClickHouseDB(t)
	ctx := context.Background()
	db := strings.TrimPrefix(mustURL(t, dsn).Path, "/")
	for _, q := range []string{"CREATE DATABASE " + quoteIdent(db),
		fmt.Sprintf("CREATE TABLE %s.tickers (inst_id String, ts Int64, seq Int64, last String) ENGINE = MergeTree() ORDER BY ts", quoteIdent(db))} {
		if err := admin.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	s, err := NewSink(dsn, Options{Logger: chQuietLog})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	err = s.Open(ctx)
	if !store.IsPermanent(err) || !strings.Contains(err.Error(), db+".tickers") || !strings.Contains(err.Error(), "column last is String, want Float64") {
		t.Fatalf("open with a wrong tickers table: %v", err)
	}
	// The other tables work; the bad one fails permanently (the recorder quarantines its batches).
	trades := chGenEvents(schema.TradeTable, 0, 20)
	if err := s.Write(ctx, store.Batch{Table: schema.TradeTable, Events: trades[:10]}); err != nil {
		t.Fatalf("trades behind a bad tickers table: %v", err)
	}
	if err := s.Write(ctx, store.Batch{Table: schema.TickerTable, Events: chGenEvents(schema.TickerTable, 0, 5)}); !store.IsPermanent(err) {
		t.Fatalf("write into the bad table: %v", err)
	}
	// The operator drops the bad table: at the next check (once a minute) it is created afresh and used.
	if err := admin.Exec(ctx, fmt.Sprintf("DROP TABLE %s.tickers", quoteIdent(db))); err != nil {
		t.Fatal(err)
	}
	s.checked = s.checked.Add(-recheckEvery)
	if err := s.Write(ctx, store.Batch{Table: schema.TickerTable, Events: chGenEvents(schema.TickerTable, 0, 5)}); err != nil {
		t.Fatalf("write after the bad table was dropped: %v", err)
	}
	// A column dropped while recording: the server's error is permanent, not retried forever.
	if err := admin.Exec(ctx, fmt.Sprintf("ALTER TABLE %s.trades DROP COLUMN side", quoteIdent(db))); err != nil {
		t.Fatal(err)
	}
	err = s.Write(ctx, store.Batch{Table: schema.TradeTable, Events: trades[10:]})
	if !store.IsPermanent(err) {
		t.Fatalf("write after a column was dropped: %v", err)
	}
	t.Logf("dropped column: %v", err)
}

func TestClickHouseAuthFailureIsPermanent(t *testing.T) {
	dsn, _ := testenv.ClickHouseDB(t)
	u := mustURL(t, dsn)
	u.User = url.UserPassword("okxtape_no_such_user", "x")
	s, err := NewSink(u.String(), Options{Logger: chQuietLog})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	if err := s.Open(context.Background()); !store.IsPermanent(err) {
		t.Fatalf("unknown user: %v (permanent %v)", err, store.IsPermanent(err))
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		err       error
		permanent bool
	}{
		{&proto.Exception{Code: 252, Name: "TOO_MANY_PARTS"}, false},
		{&proto.Exception{Code: 159, Name: "TIMEOUT_EXCEEDED"}, false},
		{&proto.Exception{Code: 241, Name: "MEMORY_LIMIT_EXCEEDED"}, false},
		{&proto.Exception{Code: 60, Name: "UNKNOWN_TABLE"}, true},
		{&proto.Exception{Code: 16, Name: "NO_SUCH_COLUMN_IN_TABLE"}, true},
		{&proto.Exception{Code: 53, Name: "TYPE_MISMATCH"}, true},
		{&proto.Exception{Code: 516, Name: "AUTHENTICATION_FAILED"}, true},
		{fmt.Errorf("insert: %w", &proto.Exception{Code: 192}), true},
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, false},
		{io.EOF, false},
		{context.DeadlineExceeded, false},
		{&column.ColumnConverterError{Op: "Append", To: "Float64", From: "string"}, true},
	} {
		err := classify(c.err)
		if store.IsPermanent(err) != c.permanent || store.IsTemporary(err) == c.permanent || !errors.Is(err, c.err) && err.Error() != c.err.Error() {
			t.Errorf("%v: permanent %v temporary %v, want permanent %v", c.err, store.IsPermanent(err), store.IsTemporary(err), c.permanent)
		}
	}
}
