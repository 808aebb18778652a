package parquet

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/okxtape/okxtape/internal/storetest"
	"github.com/okxtape/okxtape/schema"
)

// The page writer sizes its output buffer by CompressBound, which is below zstd's true bound: pages that
// compress less than that (random bytes do not compress at all) must still come out whole.
func TestPageZstdBeyondBound(t *testing.T) {
	codec, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 100, 64 << 10, 200 << 10, 1 << 20} {
		random := make([]byte, n)
		for i := range random {
			random[i] = byte(r.Uint32())
		}
		text := bytes.Repeat([]byte(`{"arg":{"channel":"books5"}}`), n/28+1)[:n]
		for _, src := range [][]byte{random, text} {
			for _, level := range []int{compress.DefaultCompressionLevel, 7} {
				var buf bytes.Buffer
				buf.Grow(int(codec.CompressBound(int64(n))))
				out := codec.EncodeLevel(buf.Bytes(), src, level)
				back, err := compress.Decode(codec, nil, out)
				if err != nil || !bytes.Equal(back, src) {
					t.Fatalf("%d bytes at level %d: round trip failed (%v)", n, level, err)
				}
			}
		}
	}
}

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
