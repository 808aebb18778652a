package clickhouse

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/okxtape/okxtape/internal/testenv"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

// TestClickHouseBatchesAreRateSized records 40k trades through a recorder into ClickHouse with a flush
// interval far longer than the run: batches must grow from the 1000-row floor (1k, 2k, 4k, ... and the rest
// at Close), so the server gets a handful of inserts instead of 40. Inserts are counted by the table's
// block numbers (one per insert; the rows lie in one partition).
func TestClickHouseBatchesAreRateSized(t *testing.T) {
	dsn, admin := testenv.ClickHouseDB(t)
	s, err := NewSink(dsn, Options{Logger: chQuietLog})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rec, err := store.NewRecorder(store.RecorderOptions{SpoolDir: t.TempDir(), Logger: chQuietLog,
		BatchSize: 1000, FlushInterval: time.Hour}, s)
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Start(ctx); err != nil {
		t.Fatal(err)
	}
	const n = 40000
	day := int64(1_780_000_000_000)
	for i := 0; i < n; i++ {
		rec.Handle(&schema.Trade{Header: schema.Header{Seq: uint64(i + 1), RecvNs: (day + int64(i)) * 1e6, Channel: "trades",
			InstID: "BTC-USDT", Ts: day + int64(i)}, TradeID: int64(i), Px: 100, Sz: 1, Side: schema.SideBuy, Count: 1})
	}
	if err := rec.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var rows, inserts uint64
	db := quoteIdent(s.Database())
	if err := admin.QueryRow(ctx, fmt.Sprintf("SELECT count() FROM %s.trades", db)).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	q := fmt.Sprintf("SELECT toUInt64(max(max_block_number)) FROM system.parts WHERE database = '%s' AND table = 'trades'", s.Database())
	if err := admin.QueryRow(ctx, q).Scan(&inserts); err != nil {
		t.Fatal(err)
	}
	if rows != n {
		t.Fatalf("%d rows stored, want %d", rows, n)
	}
	if inserts == 0 || inserts > 8 {
		t.Fatalf("%d inserts for %d rows: batches did not grow past the 1000-row floor", inserts, n)
	}
}
