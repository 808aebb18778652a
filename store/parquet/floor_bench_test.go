package parquet

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/klauspost/compress/zstd"

	"github.com/okxtape/okxtape/internal/storetest"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

// BenchmarkRecorderFloor measures, per raw frame, the writer work a recorder cannot skip, over the rows of a
// store the recorder wrote (floorStore: cmd/benchreport passes the store of its recorder-CPU run, so these are
// that run's frames and rows, cut into the row groups it wrote). One op writes every row once, on one core.
//
//   - raw_zstd_l<N>: zstd at level N of the raw frames as the frame column's pages hold them (PLAIN byte
//     arrays, pages cut as arrow-go cuts them at its default 1 MiB, which the sink keeps), with the sink's
//     page codec: the frames' compression alone;
//     B/frame is the compressed frames.
//   - raw_table_l<N>: the raw dataset through the writer with its frames at level N; B/frame is the dataset's
//     bytes per frame (what raw_bytes_per_frame measures on the bench mix).
//   - encode: every dataset through the writer with the sink's settings, the raw frames uncompressed (their
//     zstd is raw_zstd's): arrow-go's column encoders, zstd of every other column, the footers.
//   - write_all: every dataset with the sink's settings: all the writer does, to compare with a profile of the
//     recorder process.
//
// Files go to a counting io.Writer, not the disk.
func BenchmarkRecorderFloor(b *testing.B) {
	data, frames := loadStore(b, floorStore(b))
	for _, level := range []int{3, 7} { // klauspost/zstd's default and better encoders (levels 2-5 and 6-10)
		pages := framePages(data[schema.RawTable], parquet.DefaultDataPageSize, false)
		codec, err := compress.GetCodec(compress.Codecs.Zstd)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("raw_zstd_l%d", level), func(b *testing.B) {
			encodePages(b, frames, pages, func(dst, src []byte) []byte { return codec.EncodeLevel(dst, src, level) })
		})
		b.Run(fmt.Sprintf("raw_table_l%d", level), func(b *testing.B) {
			writeTable(b, frames, data[schema.RawTable], Options{RawFrameLevel: level})
		})
	}
	b.Run("encode", func(b *testing.B) { writeStore(b, data, frames, false) })
	b.Run("write_all", func(b *testing.B) { writeStore(b, data, frames, true) })
}

// writeStore writes every dataset of data once per op with the sink's settings, the raw frames compressed
// (rawZstd) or not, and reports the time per raw frame.
func writeStore(b *testing.B, data map[*schema.Table][]*rowBuf, frames int, rawZstd bool) {
	var o Options
	o.defaults()
	props := map[*schema.Table]*tableProps{}
	for t := range data {
		var extra []parquet.WriterProperty
		if t == schema.RawTable && !rawZstd {
			extra = append(extra, parquet.WithCompressionFor("frame", compress.Codecs.Uncompressed))
		}
		tp, err := newTableProps(t, o, extra...)
		if err != nil {
			b.Fatal(err)
		}
		props[t] = tp
	}
	b.ResetTimer()
	for range b.N {
		for t, groups := range data {
			writeGroupsTo(b, props[t], groups)
		}
	}
	reportPerFrame(b, frames, 0)
}

// BenchmarkRawFrameSettings compares, on the raw frames of floorStore, settings of the raw dataset that could
// make its frames cheaper to compress at no more than 30 B a frame (raw_bytes_per_frame's goal): through the
// writer (B/frame: the dataset's bytes) the sink's settings (zstd level 7, 1 MiB pages), level 3, level 3 with
// DELTA_LENGTH_BYTE_ARRAY or DELTA_BYTE_ARRAY frames, and smaller pages (arrow-go checks the page size after
// each write batch of 1,024 values, so 128 KiB means one batch a page); the frames' pages alone (B/frame: the
// compressed frames) with zstd options the codec does not set (no frame checksum, lower encoder memory) and,
// to show what it would be worth, with a row group's frames ordered by channel, an order the by-instrument
// row groups do not allow (they are sorted by ts and seq, which replay relies on).
func BenchmarkRawFrameSettings(b *testing.B) {
	data, frames := loadStore(b, floorStore(b))
	raw := data[schema.RawTable]
	frameEnc := func(enc parquet.Encoding) parquet.WriterProperty { return parquet.WithEncodingFor("frame", enc) }
	for _, v := range []struct {
		name  string
		level int
		extra []parquet.WriterProperty
	}{
		{"writer_l7", 7, nil},
		{"writer_l3", 3, nil},
		{"writer_l3_delta_length", 3, []parquet.WriterProperty{frameEnc(parquet.Encodings.DeltaLengthByteArray)}},
		{"writer_l3_delta_byte_array", 3, []parquet.WriterProperty{frameEnc(parquet.Encodings.DeltaByteArray)}},
		{"writer_l7_pages_256k", 7, []parquet.WriterProperty{parquet.WithDataPageSize(256 << 10)}},
		{"writer_l7_pages_128k", 7, []parquet.WriterProperty{parquet.WithDataPageSize(128 << 10)}},
		{"writer_l3_pages_128k", 3, []parquet.WriterProperty{parquet.WithDataPageSize(128 << 10)}},
	} {
		b.Run(v.name, func(b *testing.B) { writeTable(b, frames, raw, Options{RawFrameLevel: v.level}, v.extra...) })
	}
	pages := framePages(raw, parquet.DefaultDataPageSize, false)
	byChannel := framePages(raw, parquet.DefaultDataPageSize, true)
	for _, v := range []struct {
		name  string
		level zstd.EncoderLevel
		pages [][]byte
		extra []zstd.EOption
	}{
		{"zstd_l7", zstd.SpeedBetterCompression, pages, nil},
		{"zstd_l3", zstd.SpeedDefault, pages, nil},
		{"zstd_l7_no_crc", zstd.SpeedBetterCompression, pages, []zstd.EOption{zstd.WithEncoderCRC(false)}},
		{"zstd_l3_no_crc", zstd.SpeedDefault, pages, []zstd.EOption{zstd.WithEncoderCRC(false)}},
		{"zstd_l7_lower_mem", zstd.SpeedBetterCompression, pages, []zstd.EOption{zstd.WithLowerEncoderMem(true)}},
		{"zstd_l3_by_channel", zstd.SpeedDefault, byChannel, nil},
		{"zstd_l7_by_channel", zstd.SpeedBetterCompression, byChannel, nil},
	} {
		enc, err := zstd.NewWriter(nil, append(pageEncoderOptions(v.level), v.extra...)...)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(v.name, func(b *testing.B) {
			encodePages(b, frames, v.pages, func(dst, src []byte) []byte { return enc.EncodeAll(src, dst) })
		})
	}
}

// floorStore returns the store named by OKXTAPE_BENCH_STORE, else writes a small one through the sink: 20k
// books5-like raw frames of 4 instruments and the tickers of storetest's generator.
func floorStore(b *testing.B) string {
	if dir := os.Getenv("OKXTAPE_BENCH_STORE"); dir != "" {
		return dir
	}
	dir := b.TempDir()
	s := NewSink(dir, Options{Logger: storetest.Quiet()})
	ctx := context.Background()
	if err := s.Open(ctx); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	g := storetest.NewTickerGen(1, 4)
	var raw, tickers []schema.Stored
	px := [4]float64{60000, 3000, 150, 2}
	for i := range 20_000 {
		k := i % 4
		px[k] += float64(r.IntN(21)-10) / 10
		raw = append(raw, benchRawFrame(r, fmt.Sprintf("I%d-USDT", k), i, px[k]))
		if i%4 == 0 {
			tickers = append(tickers, schema.Clone(g.Next()))
		}
	}
	batches := []store.Batch{{Table: schema.RawTable, Events: raw}, {Table: schema.TickerTable, Events: tickers}}
	for _, batch := range batches {
		if err := s.Write(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Close(ctx); err != nil {
		b.Fatal(err)
	}
	return dir
}

// benchRawFrame returns the i-th of a run of books5-like raw frames (about 300 B of JSON) of inst around px.
func benchRawFrame(r *rand.Rand, inst string, i int, px float64) *schema.Raw {
	ts := storetest.Day0 + int64(i)*5
	const format = `{"arg":{"channel":"books5","instId":"%s"},"data":[{` +
		`"asks":[["%.1f","%.8f","0","%d"],["%.1f","%.8f","0","%d"]],` +
		`"bids":[["%.1f","%.8f","0","%d"],["%.1f","%.8f","0","%d"]],"instId":"%s","ts":"%d","seqId":%d}]}`
	frame := fmt.Sprintf(format, inst,
		px+0.1, r.Float64(), 1+r.IntN(3), px+0.2, r.Float64()*3, 1+r.IntN(3),
		px, r.Float64(), 1+r.IntN(3), px-0.1, r.Float64()*2, 1+r.IntN(3), inst, ts, 1000000+i)
	h := schema.Header{Seq: uint64(ts)*1e6 + uint64(r.IntN(1e6)), Ts: ts, RecvNs: ts*1e6 + int64(r.IntN(1e6)),
		Channel: "books5", InstID: inst}
	return &schema.Raw{Header: h, Endpoint: schema.EndpointPublic, Frame: frame}
}

// loadStore reads every row group of every dataset of dir into a row buffer of its own and returns them by
// table with the number of raw frames.
func loadStore(b *testing.B, dir string) (map[*schema.Table][]*rowBuf, int) {
	data := map[*schema.Table][]*rowBuf{}
	for _, t := range schema.Tables() {
		parts, err := ListParts(dir, t.Name, time.Time{}, time.Time{})
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range parts {
			r, err := file.OpenParquetFile(p.Path, false)
			if err != nil {
				b.Fatal(err)
			}
			n := r.NumRowGroups()
			r.Close()
			for g := range n {
				buf := newRowBuf(t)
				if err := ReadRowGroups(p.Path, []int{g}, buf.add); err != nil {
					b.Fatal(err)
				}
				data[t] = append(data[t], buf)
			}
		}
	}
	frames := 0
	for _, g := range data[schema.RawTable] {
		frames += g.rows
	}
	if frames == 0 {
		b.Fatalf("no raw frames in %s", dir)
	}
	return data, frames
}

// framePages lays the raw frames of groups out as the frame column's PLAIN pages: each value a 4-byte
// little-endian length and its bytes, a page cut as arrow-go cuts them (after a write batch of 1,024 values,
// once the page holds pageSize bytes, and at the end of a row group). With byChannel a row group's frames are
// ordered by channel first (keeping their order within a channel).
func framePages(groups []*rowBuf, pageSize int64, byChannel bool) [][]byte {
	const batch = 1024 // arrow-go's default write batch
	var pages [][]byte
	for _, g := range groups {
		c, ch := &g.cols[g.t.Index("frame")], &g.cols[g.t.Index("channel")]
		order := make([]int, g.rows)
		for i := range order {
			order[i] = i
		}
		if byChannel {
			slices.SortStableFunc(order, func(x, y int) int { return strings.Compare(ch.str(x), ch.str(y)) })
		}
		var page []byte
		for k, i := range order {
			s := c.str(i)
			page = binary.LittleEndian.AppendUint32(page, uint32(len(s)))
			page = append(page, s...)
			if (k+1)%batch == 0 && int64(len(page)) >= pageSize {
				pages, page = append(pages, page), nil
			}
		}
		if len(page) > 0 {
			pages = append(pages, page)
		}
	}
	return pages
}

// encodePages compresses every page once per op with enc and reports the compressed bytes per frame.
func encodePages(b *testing.B, frames int, pages [][]byte, enc func(dst, src []byte) []byte) {
	var dst []byte
	var n int64
	for range b.N {
		n = 0
		for _, p := range pages {
			dst = enc(dst[:0], p)
			n += int64(len(dst))
		}
	}
	reportPerFrame(b, frames, n)
}

// writeTable writes the raw row groups once per op with o's settings (and extra) and reports the file's
// bytes per frame.
func writeTable(b *testing.B, frames int, groups []*rowBuf, o Options, extra ...parquet.WriterProperty) {
	tp, err := newTableProps(schema.RawTable, o, extra...)
	if err != nil {
		b.Fatal(err)
	}
	var n int64
	for range b.N {
		n = writeGroupsTo(b, tp, groups)
	}
	reportPerFrame(b, frames, n)
}

// reportPerFrame reports the op's time per raw frame and, when bytes > 0, bytes per frame.
func reportPerFrame(b *testing.B, frames int, bytes int64) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*frames), "ns/frame")
	if bytes > 0 {
		b.ReportMetric(float64(bytes)/float64(frames), "B/frame")
	}
}

// countWriter counts the bytes written to it.
type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

var _ io.Writer = (*countWriter)(nil)

// writeGroupsTo writes groups as the row groups of one file with tp's settings and returns the file's size.
func writeGroupsTo(b *testing.B, tp *tableProps, groups []*rowBuf) int64 {
	cw := &countWriter{}
	fw, err := file.NewParquetWriterWithError(cw, tp.schema.Root(), file.WithWriterProps(tp.props))
	if err != nil {
		b.Fatal(err)
	}
	p := &partWriter{tp: tp, fw: fw}
	var sc writeScratch
	for _, g := range groups {
		if err := p.writeGroup(g, 0, g.rows, &sc); err != nil {
			b.Fatal(err)
		}
	}
	if err := fw.Close(); err != nil {
		b.Fatal(err)
	}
	return cw.n
}
