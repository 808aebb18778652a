package parquet

import (
	"context"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/okxtape/okxtape/internal/storetest"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

// Raw frames are written without statistics (they prune nothing); the columns replay prunes by keep theirs.
func TestRawFrameWithoutStats(t *testing.T) {
	var evs []schema.Stored
	for i := range 100 {
		evs = append(evs, &schema.Raw{Header: schema.Header{Seq: uint64(i + 1), Ts: storetest.Day0 + int64(i), Channel: "trades",
			InstID: "BTC-USDT"}, Endpoint: "public", Frame: fmt.Sprintf(`{"data":[{"px":"%d"}]}`, i)})
	}
	path := writeOneFile(t, schema.RawTable, evs)
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	rg := pf.MetaData().RowGroup(0)
	for _, name := range []string{"frame", "inst_id", "ts"} {
		cc, err := rg.ColumnChunk(pf.MetaData().Schema.ColumnIndexByName(name))
		if err != nil {
			t.Fatal(err)
		}
		set, _ := cc.StatsSet()
		if set != (name != "frame") {
			t.Errorf("%s: statistics set %v", name, set)
		}
	}
	var got []schema.Stored
	if err := ReadFile(path, func(e schema.Stored) error { got = append(got, schema.Clone(e)); return nil }); err != nil {
		t.Fatal(err)
	}
	storetest.SameEvents(t, storetest.BySeq(got), evs)
}

// A buffer written early under memory pressure gives its memory back by moving its rows to a new buffer,
// whose dictionaries hold only the values those rows use: the sink's running count of buffered bytes must
// follow (it decides when to write early).
func TestBufferedCountAfterRelease(t *testing.T) {
	s := NewSink(t.TempDir(), Options{MaxBufferedBytes: 64 << 10, Logger: storetest.Quiet()})
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	chans := []string{"books5", "bbo-tbt", "trades", "tickers", "books", "funding-rate"}
	seq := uint64(0)
	for round := range 40 {
		var evs []schema.Stored
		for i := range 200 {
			seq++
			ch := chans[(i*7+round)%len(chans)]
			evs = append(evs, &schema.Raw{Header: schema.Header{Seq: seq, Ts: storetest.Day0 + int64(seq), Channel: ch,
				InstID: fmt.Sprintf("I%d-USDT", i%12)}, Endpoint: "public", Frame: fmt.Sprintf(`{"arg":{"channel":"%s"},"n":%d}`, ch, seq)})
		}
		if err := s.Write(context.Background(), store.Batch{Table: schema.RawTable, Events: evs}); err != nil {
			t.Fatal(err)
		}
		if got := s.bufferedNow(); got != s.buffered {
			t.Fatalf("round %d: buffered %d bytes by the running count, %d in the buffers", round, s.buffered, got)
		}
	}
}
