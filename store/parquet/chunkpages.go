package parquet

import (
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
)

// chunkPages opens the page readers of the column chunks the page decoders read (intpages.go, dictstr.go,
// listpages.go). arrow-go's RowGroupReader.GetColumnPageReader allocates and clears a buffer of the chunk's
// size, and a page reader with buffers of its own, for every column chunk of every row group; a column's
// chunkPages keeps one buffered reader and one page reader and points them at the next chunk (one read of
// the file per chunk into the reused buffer), so opening a row group allocates almost nothing.
type chunkPages struct {
	br parquet.BufferedReader
	pr file.PageReader
}

// chunkSource is the open file the chunks are read from.
type chunkSource struct {
	f    *os.File
	size int64
	// exact: the chunk lengths in the footer are exact (arrow-go pads those of files from old parquet-mr
	// writers, PARQUET-816; such files go through GetColumnPageReader).
	exact bool
}

// bufferedProps are the reader properties of the buffered readers chunkPages reuse (arrow-go makes one on
// the first chunk; Reset points it at the next one and keeps its buffer).
var bufferedProps = func() *parquet.ReaderProperties {
	p := parquet.NewReaderProperties(pageAlloc)
	p.BufferedStreamEnabled = true
	p.BufferSize = 64 << 10
	return p
}()

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

// open returns a page reader over column chunk leaf (metadata cc) of row group rg. reused is false when
// the reader is arrow-go's own (the caller closes it when done); a reused reader is not closed.
func (c *chunkPages) open(rg *file.RowGroupReader, src chunkSource, leaf int, cc *metadata.ColumnChunkMetaData) (pr file.PageReader, reused bool, err error) {
	if src.f == nil || !src.exact || cc.CryptoMetadata() != nil {
		pr, err = rg.GetColumnPageReader(leaf)
		return pr, false, err
	}
	start, n := cc.DataPageOffset(), cc.TotalCompressedSize()
	if d := cc.DictionaryPageOffset(); cc.HasDictionaryPage() && d > 0 && d < start {
		start = d
	}
	if start < 0 || n < 0 || start > src.size || n > src.size-start {
		return nil, false, fmt.Errorf("column chunk at %d, %d bytes, in a file of %d: %w", start, n, src.size, ErrIncompatibleFile)
	}
	if c.br == nil {
		if c.br, err = bufferedProps.GetStream(src.f, start, n); err != nil {
			return nil, false, err
		}
	} else {
		c.br.Reset(io.NewSectionReader(src.f, start, n))
	}
	if c.pr == nil {
		if c.pr, err = file.NewPageReader(c.br, cc.NumValues(), cc.Compression(), pageAlloc, nil); err != nil {
			return nil, false, err
		}
	} else {
		c.pr.Reset(c.br, cc.NumValues(), cc.Compression(), nil)
		if err := c.pr.Err(); err != nil {
			return nil, false, err
		}
	}
	return c.pr, true, nil
}

// release lets go of the file the reused readers point at (the column decoder is closed).
func (c *chunkPages) release() {
	if c.br != nil {
		c.br.Reset(io.NewSectionReader(nil, 0, 0))
	}
}
