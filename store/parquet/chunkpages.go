package parquet

import (
	"fmt"
	"math"
	"os"
	"sync"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/klauspost/compress/zstd"
)

// chunkPages reads the pages of the column chunks the page decoders decode (intpages.go, dictstr.go,
// listpages.go). For uncompressed and zstd chunks it reads a chunk with one read of the file into a buffer
// kept from chunk to chunk, parses the page headers itself (pageheader.go) and decompresses each page into
// another kept buffer: arrow-go's GetColumnPageReader allocates and clears a buffer of the chunk's size, a
// page reader with buffers of its own, and Thrift structures for every page. Other codecs, encrypted chunks
// and files from old parquet-mr writers (whose chunk lengths arrow-go pads, PARQUET-816) are read through
// arrow-go's page reader.
type chunkPages struct {
	chunk  []byte // the column chunk
	rest   []byte // its pages not yet read
	codec  compress.Compression
	out    []byte // the current page, decompressed
	pg     page
	arrow  file.PageReader // the chunk's arrow-go page reader, when it is not read here
	closed bool
}

// page is a page as the page decoders see it.
type page struct {
	typ  pageType
	data []byte // decompressed; data pages v2: the level sections (not compressed) first
	n    int    // values, nulls and empty lists included
	enc  parquet.Encoding
	// Data pages v1: the level encodings; v2: the level sections' lengths.
	repEnc, defEnc parquet.Encoding
	repLen, defLen int
}

// chunkSource is the open file the chunks are read from.
type chunkSource struct {
	f    *os.File
	size int64
	// exact: the chunk lengths in the footer are exact (not a file from an old parquet-mr writer).
	exact bool
	// span, when set, holds the file's bytes from spanAt on: the current row group's column chunks, read
	// at once (RowReader.openGroup).
	span   []byte
	spanAt int64
}

// maxSpanBytes bounds the row group bytes read at once; larger row groups are read chunk by chunk.
const maxSpanBytes = 32 << 20

// chunkRange returns where column chunk cc lies in the file (checked against its size).
func chunkRange(cc *metadata.ColumnChunkMetaData, size int64) (start, n int64, err error) {
	start, n = cc.DataPageOffset(), cc.TotalCompressedSize()
	if d := cc.DictionaryPageOffset(); cc.HasDictionaryPage() && d > 0 && d < start {
		start = d
	}
	if start < 0 || n < 0 || start > size || n > size-start {
		return 0, 0, fmt.Errorf("column chunk at %d, %d bytes, in a file of %d: %w", start, n, size, ErrIncompatibleFile)
	}
	return start, n, nil
}

// readSpan reads the bytes of the column chunks ccs (a row group's) at once into buf (reallocated through
// pageAlloc when too small) and returns src with them as its span; src as it was when they are too far
// apart or a range is damaged (each chunk then reports it).
func readSpan(src chunkSource, ccs []*metadata.ColumnChunkMetaData, buf []byte) (chunkSource, []byte, error) {
	if src.f == nil || !src.exact || len(ccs) == 0 {
		return src, buf, nil
	}
	lo, hi := int64(math.MaxInt64), int64(0)
	for _, cc := range ccs {
		start, n, err := chunkRange(cc, src.size)
		if err != nil {
			return src, buf, nil
		}
		lo, hi = min(lo, start), max(hi, start+n)
	}
	if hi-lo > maxSpanBytes {
		return src, buf, nil
	}
	if int64(cap(buf)) < hi-lo {
		if buf != nil {
			pageAlloc.Free(buf)
		}
		buf = pageAlloc.Allocate(int(hi - lo))
	}
	buf = buf[:hi-lo]
	if _, err := src.f.ReadAt(buf, lo); err != nil {
		return src, buf, fmt.Errorf("reading row group at %d: %w", lo, err)
	}
	src.span, src.spanAt = buf, lo
	return src, buf, nil
}

// maxPageBytes bounds a page's sizes as its header states them (a damaged header must not make the
// reader allocate gigabytes).
const maxPageBytes = 64 << 20

var pageDecoder = sync.OnceValue(func() *zstd.Decoder {
	d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(maxPageBytes))
	if err != nil {
		panic("parquet: zstd decoder: " + err.Error()) // only for invalid options, which these are not
	}
	return d
})

// openFile opens a part file for the column decoder, its footer parsed from md when md is not nil.
func openFile(path string, md *metadata.FileMetaData) (*file.Reader, chunkSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, chunkSource{}, fmt.Errorf("open parquet %s: %w", path, err)
	}
	opts := []file.ReadOption{file.WithReadProps(parquet.NewReaderProperties(pageAlloc))}
	if md != nil {
		opts = append(opts, file.WithMetadata(md))
	}
	pf, err := file.NewParquetReader(f, opts...)
	if err != nil {
		f.Close()
		return nil, chunkSource{}, fmt.Errorf("open parquet %s: %w", path, err)
	}
	fmd := pf.MetaData()
	src := chunkSource{f: f, size: fmd.GetSourceFileSize(),
		exact: !fmd.WriterVersion().LessThan(metadata.Parquet816FixedVersion)}
	return pf, src, nil
}

// open starts reading column chunk leaf (metadata cc) of row group rg.
func (c *chunkPages) open(rg *file.RowGroupReader, src chunkSource, leaf int, cc *metadata.ColumnChunkMetaData) error {
	c.close()
	c.closed = false
	codec := cc.Compression()
	if src.f == nil || !src.exact || cc.CryptoMetadata() != nil ||
		codec != compress.Codecs.Uncompressed && codec != compress.Codecs.Zstd {
		pr, err := rg.GetColumnPageReader(leaf)
		c.arrow = pr
		return err
	}
	start, n, err := chunkRange(cc, src.size)
	if err != nil {
		return err
	}
	c.codec = codec
	if start >= src.spanAt && start+n <= src.spanAt+int64(len(src.span)) {
		c.rest = src.span[start-src.spanAt : start-src.spanAt+n]
		return nil
	}
	if int64(cap(c.chunk)) < n {
		c.chunk = make([]byte, n)
	}
	c.chunk = c.chunk[:n]
	if _, err := src.f.ReadAt(c.chunk, start); err != nil {
		return fmt.Errorf("reading column chunk at %d: %w", start, err)
	}
	c.rest = c.chunk
	return nil
}

// close ends the chunk (its arrow-go page reader, if any, is closed; the buffers are kept).
func (c *chunkPages) close() {
	if c.arrow != nil {
		c.arrow.Close()
		c.arrow = nil
	}
	c.rest, c.closed = nil, true
}

// next returns the next page of the chunk (valid until the following call), or nil at its end.
func (c *chunkPages) next() (*page, error) {
	if c.closed {
		return nil, nil
	}
	if c.arrow != nil {
		return c.nextArrow()
	}
	for len(c.rest) > 0 {
		h, hlen, err := parsePageHeader(c.rest)
		if err != nil {
			return nil, err
		}
		c.rest = c.rest[hlen:]
		if int64(h.compressed) > int64(len(c.rest)) || h.uncompressed > maxPageBytes {
			return nil, fmt.Errorf("page of %d bytes (%d uncompressed) in %d: %w", h.compressed, h.uncompressed, len(c.rest), errPageHeader)
		}
		body := c.rest[:h.compressed]
		c.rest = c.rest[h.compressed:]
		c.pg = page{typ: h.typ, n: int(h.numValues), enc: parquet.Encoding(h.encoding)}
		switch h.typ {
		case pageData, pageDictionary:
			if c.pg.data, err = c.decompress(body, int(h.uncompressed), 0); err != nil {
				return nil, err
			}
			c.pg.repEnc, c.pg.defEnc = parquet.Encoding(h.repEnc), parquet.Encoding(h.defEnc)
		case pageDataV2:
			levels := int64(h.repLen) + int64(h.defLen)
			if h.repLen < 0 || h.defLen < 0 || levels > int64(len(body)) || levels > int64(h.uncompressed) {
				return nil, fmt.Errorf("v2 levels of %d bytes in a page of %d: %w", levels, len(body), errPageHeader)
			}
			c.pg.repLen, c.pg.defLen = int(h.repLen), int(h.defLen)
			if !h.compressedV2 {
				if len(body) != int(h.uncompressed) {
					return nil, fmt.Errorf("page of %d bytes, %d uncompressed: %w", len(body), h.uncompressed, errPageHeader)
				}
				c.pg.data = body
				break
			}
			c.out = append(c.out[:0], body[:levels]...)
			if c.pg.data, err = c.decompress(body[levels:], int(h.uncompressed)-int(levels), int(levels)); err != nil {
				return nil, err
			}
		default: // index pages and page types of later formats
			continue
		}
		return &c.pg, nil
	}
	return nil, nil
}

// decompress decompresses a page body of size bytes after the prefix bytes already in c.out (0 when the
// body is not copied there).
func (c *chunkPages) decompress(body []byte, size, prefix int) ([]byte, error) {
	if c.codec == compress.Codecs.Uncompressed {
		if len(body) != size {
			return nil, fmt.Errorf("page of %d bytes, %d uncompressed: %w", len(body), size, errPageHeader)
		}
		if prefix == 0 {
			return body, nil
		}
		return append(c.out[:prefix], body...), nil
	}
	// Room past the page lets zstd copy in 16-byte blocks (its faster path).
	if want := prefix + size + 64; cap(c.out) < want {
		c.out = append(make([]byte, 0, want), c.out[:prefix]...)
	}
	out, err := pageDecoder().DecodeAll(body, c.out[:prefix])
	if err != nil {
		return nil, fmt.Errorf("decompressing a page: %w", err)
	}
	if len(out) != prefix+size {
		return nil, fmt.Errorf("page decompressed to %d bytes, want %d: %w", len(out)-prefix, size, errPageHeader)
	}
	c.out = out
	return out, nil
}

// nextArrow is next through arrow-go's page reader.
func (c *chunkPages) nextArrow() (*page, error) {
	for c.arrow.Next() {
		pg := c.arrow.Page()
		c.pg = page{data: pg.Data(), n: int(pg.NumValues()), enc: parquet.Encoding(pg.Encoding())}
		switch p := pg.(type) {
		case *file.DataPageV1:
			c.pg.typ, c.pg.repEnc, c.pg.defEnc = pageData, p.RepetitionLevelEncoding(), p.DefinitionLevelEncoding()
		case *file.DataPageV2:
			c.pg.typ, c.pg.repLen, c.pg.defLen = pageDataV2, int(p.RepetitionLevelByteLen()), int(p.DefinitionLevelByteLen())
			if c.pg.repLen < 0 || c.pg.defLen < 0 || c.pg.repLen+c.pg.defLen > len(c.pg.data) {
				return nil, fmt.Errorf("v2 levels of %d+%d bytes in a page of %d: %w", c.pg.repLen, c.pg.defLen, len(c.pg.data), errPageHeader)
			}
		case *file.DictionaryPage:
			c.pg.typ = pageDictionary
		default:
			continue
		}
		return &c.pg, nil
	}
	return nil, c.arrow.Err()
}
