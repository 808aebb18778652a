package parquet

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/okxtape/okxtape/schema"
)

// BenchmarkWriteGroupRaw writes the same 8192 raw frames (about 300 B of JSON each) as row groups of
// different sizes: the per-row-group cost of arrow-go's column writers and zstd frames.
func BenchmarkWriteGroupRaw(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	tp, err := newTableProps(schema.RawTable, Options{RawFrameLevel: 7})
	if err != nil {
		b.Fatal(err)
	}
	buf := newRowBuf(schema.RawTable)
	px := 60000.0
	for i := range 8192 {
		px += float64(r.IntN(21)-10) / 10
		frame := fmt.Sprintf(`{"arg":{"channel":"books5","instId":"BTC-USDT"},"data":[{"asks":[["%.1f","%.8f","0","%d"],["%.1f","%.8f","0","%d"]],"bids":[["%.1f","%.8f","0","%d"],["%.1f","%.8f","0","%d"]],"instId":"BTC-USDT","ts":"%d","seqId":%d}]}`,
			px+0.1, r.Float64(), 1+r.IntN(3), px+0.2, r.Float64()*3, 1+r.IntN(3), px, r.Float64(), 1+r.IntN(3), px-0.1, r.Float64()*2, 1+r.IntN(3),
			1765000000000+int64(i)*5, 1000000+i)
		ts := 1765000000000 + int64(i)*5
		e := &schema.Raw{Header: schema.Header{Seq: uint64(ts)*1e6 + uint64(r.IntN(1e6)), Ts: ts, RecvNs: ts*1e6 + int64(r.IntN(1e6)),
			Channel: "books5", InstID: "BTC-USDT"}, Endpoint: "public", Frame: frame}
		if err := buf.add(e); err != nil {
			b.Fatal(err)
		}
	}
	for _, rows := range []int{8192, 2048, 1024} {
		b.Run(fmt.Sprint(rows), func(b *testing.B) {
			dir := b.TempDir()
			var sc writeScratch
			for i := 0; i < b.N; i++ {
				pw, err := openPart(tp, filepath.Join(dir, "x.parquet.tmp"))
				if err != nil {
					b.Fatal(err)
				}
				for lo := 0; lo < buf.rows; lo += rows {
					if err := pw.writeGroup(buf, lo, min(lo+rows, buf.rows), &sc); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := pw.finish(filepath.Join(dir, "x.parquet")); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*buf.rows), "ns/row")
			b.ReportMetric(float64(dirBytes(b, dir))/float64(buf.rows), "B/row")
		})
	}
}
