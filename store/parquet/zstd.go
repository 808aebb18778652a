package parquet

import (
	"io"
	"sync"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/klauspost/compress/zstd"
)

// Parquet pages are compressed one at a time (zstd's EncodeAll per page). arrow-go's own zstd codec keeps its
// encoders in a sync.Pool with zstd's default 8 MiB window: a pool holds several per level, each with an
// 8 MiB history buffer (84 MB of the recorder's heap in a profile at 20k frames/s), and every GC empties the
// pool, so the next pages allocate and clear new ones. pageZstd replaces its encoding side: one free list of
// encoders per level, never emptied by the GC, with a window of 2 MiB, more than a page (1 MiB, plus at most
// one write batch), so the compressed pages are as small as before. Decoding is arrow-go's.
type pageZstd struct {
	compress.Codec // arrow-go's zstd codec: decoding, CompressBound
	stream         compress.StreamingCodec

	mu   sync.Mutex
	free map[zstd.EncoderLevel][]*zstd.Encoder
}

// pageWindow is the zstd window of page encoders.
const pageWindow = 2 << 20

func init() {
	orig, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		panic("parquet: arrow-go has no zstd codec: " + err.Error())
	}
	stream, ok := orig.(compress.StreamingCodec)
	if !ok {
		panic("parquet: arrow-go's zstd codec does not stream")
	}
	compress.RegisterCodec(compress.Codecs.Zstd, &pageZstd{Codec: orig, stream: stream, free: map[zstd.EncoderLevel][]*zstd.Encoder{}})
}

// NewReader, NewWriter and NewWriterLevel are arrow-go's (readers stream pages through NewReader).
func (z *pageZstd) NewReader(r io.Reader) io.ReadCloser  { return z.stream.NewReader(r) }
func (z *pageZstd) NewWriter(w io.Writer) io.WriteCloser { return z.stream.NewWriter(w) }
func (z *pageZstd) NewWriterLevel(w io.Writer, level int) (io.WriteCloser, error) {
	return z.stream.NewWriterLevel(w, level)
}

func (z *pageZstd) Encode(dst, src []byte) []byte {
	return z.EncodeLevel(dst, src, compress.DefaultCompressionLevel)
}

func (z *pageZstd) EncodeLevel(dst, src []byte, level int) []byte {
	lvl := zstd.SpeedDefault
	if level != compress.DefaultCompressionLevel {
		lvl = zstd.EncoderLevelFromZstd(level)
	}
	z.mu.Lock()
	var enc *zstd.Encoder
	if l := z.free[lvl]; len(l) > 0 {
		enc, z.free[lvl] = l[len(l)-1], l[:len(l)-1]
	}
	z.mu.Unlock()
	if enc == nil {
		var err error
		enc, err = zstd.NewWriter(nil, pageEncoderOptions(lvl)...)
		if err != nil {
			panic("parquet: zstd encoder: " + err.Error()) // only for invalid options, which these are not
		}
	}
	out := enc.EncodeAll(src, dst[:0])
	z.mu.Lock()
	z.free[lvl] = append(z.free[lvl], enc)
	z.mu.Unlock()
	return out
}

// pageEncoderOptions are the options of a page encoder at level lvl.
func pageEncoderOptions(lvl zstd.EncoderLevel) []zstd.EOption {
	return []zstd.EOption{zstd.WithZeroFrames(true), zstd.WithEncoderLevel(lvl), zstd.WithEncoderConcurrency(1),
		zstd.WithAllLitEntropyCompression(true), zstd.WithWindowSize(pageWindow)}
}

// DecodeWithError keeps arrow-go's error-returning decode (compress.ErrorCodec).
func (z *pageZstd) DecodeWithError(dst, src []byte) ([]byte, error) {
	return compress.Decode(z.Codec, dst, src)
}

var _ compress.StreamingCodec = (*pageZstd)(nil)
var _ compress.ErrorCodec = (*pageZstd)(nil)
