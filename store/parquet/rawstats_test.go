package parquet

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/okxtape/okxtape/internal/storetest"
	"github.com/okxtape/okxtape/schema"
)

// Raw frames are written without statistics (they prune nothing); the columns replay prunes by keep theirs.
func TestRawFrameWithoutStats(t *testing.T) {
	dir := t.TempDir()
	s := NewSink(dir, Options{})
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	var evs []schema.Stored
	for i := range 100 {
		evs = append(evs, &schema.Raw{Header: schema.Header{Seq: uint64(i + 1), Ts: storetest.Day0 + int64(i), Channel: "trades",
			InstID: "BTC-USDT"}, Endpoint: "public", Frame: fmt.Sprintf(`{"data":[{"px":"%d"}]}`, i)})
	}
	pqWriteAll(t, s, map[*schema.Table][]schema.Stored{schema.RawTable: evs})
	parts, err := ListParts(dir, "raw", time.Time{}, time.Time{})
	if err != nil || len(parts) != 1 {
		t.Fatalf("parts %v %v", parts, err)
	}
	pf, err := file.OpenParquetFile(parts[0].Path, false)
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
	storetest.SameEvents(t, storetest.BySeq(pqReadAll(t, dir)["raw"]), evs)
}
