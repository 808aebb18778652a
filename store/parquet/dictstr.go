package parquet

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
)

// strPages decodes a required, non-repeated string column chunk straight from its pages: the dictionary page
// becomes one interned string per entry and data pages are read as dictionary indices (RLE / bit-packed
// hybrid) or PLAIN values, so a row costs an index lookup instead of a byte-array copy and a string compare.
// Chunks with other encodings use arrow-go's ByteArray reader (colDec.readStrings).
type strPages struct {
	pr      file.PageReader
	dict    []string
	page    []byte // the data page's values not yet decoded
	left    int    // values left in the page
	dictEnc bool
	// RLE / bit-packed hybrid state of a dictionary-encoded page.
	bw       int // bit width of the indices
	rleLeft  int // values left in the current RLE run
	rleVal   int
	packed   []byte // the current bit-packed run's bytes
	packLeft int    // values left in it
	packPos  int    // next value in it
}

var errStrPage = errors.New("damaged string page")

// fastStrings reports whether a column chunk's encodings are all ones strPages decodes.
func fastStrings(cc *metadata.ColumnChunkMetaData) bool {
	for _, e := range cc.Encodings() {
		switch e {
		case parquet.Encodings.Plain, parquet.Encodings.PlainDict, parquet.Encodings.RLEDict,
			parquet.Encodings.RLE, parquet.Encodings.BitPacked:
		default:
			return false
		}
	}
	return true
}

func (s *strPages) reset(pr file.PageReader) {
	s.pr, s.dict, s.page, s.left, s.rleLeft, s.packLeft = pr, s.dict[:0], nil, 0, 0, 0
}

// read decodes n values into out (interned through c).
func (s *strPages) read(c *colDec, out []string) (int, error) {
	got := 0
	for got < len(out) {
		if s.left == 0 {
			ok, err := s.nextPage(c)
			if err != nil || !ok {
				return got, err
			}
			continue
		}
		k := min(len(out)-got, s.left)
		var err error
		if s.dictEnc {
			err = s.indices(out[got : got+k])
		} else {
			err = s.plain(c, out[got:got+k])
		}
		if err != nil {
			return got, err
		}
		got += k
		s.left -= k
	}
	return got, nil
}

// nextPage moves to the next data page (reading a dictionary page on the way); false at the end.
func (s *strPages) nextPage(c *colDec) (bool, error) {
	for s.pr.Next() {
		pg := s.pr.Page()
		data := pg.Data()
		switch p := pg.(type) {
		case *file.DictionaryPage:
			s.dict = s.dict[:0]
			for range p.NumValues() {
				b, rest, err := plainValue(data)
				if err != nil {
					return false, err
				}
				s.dict, data = append(s.dict, c.internBytes(b)), rest
			}
			continue
		case *file.DataPageV1:
		case *file.DataPageV2:
			skip := int(p.DefinitionLevelByteLen()) + int(p.RepetitionLevelByteLen())
			if skip < 0 || skip > len(data) {
				return false, errStrPage
			}
			data = data[skip:]
		default:
			continue
		}
		n := int(pg.NumValues())
		if n < 0 {
			return false, errStrPage
		}
		enc := parquet.Encoding(pg.Encoding())
		s.page, s.left, s.rleLeft, s.packLeft = data, n, 0, 0
		switch enc {
		case parquet.Encodings.Plain:
			s.dictEnc = false
		case parquet.Encodings.PlainDict, parquet.Encodings.RLEDict:
			if len(data) < 1 || data[0] > 32 {
				return false, errStrPage
			}
			s.dictEnc, s.bw, s.page = true, int(data[0]), data[1:]
		default:
			return false, fmt.Errorf("string page encoding %s: %w", enc, errStrPage)
		}
		return true, nil
	}
	return false, s.pr.Err()
}

func plainValue(b []byte) (v, rest []byte, err error) {
	if len(b) < 4 {
		return nil, nil, errStrPage
	}
	n := binary.LittleEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-4) {
		return nil, nil, errStrPage
	}
	return b[4 : 4+n], b[4+n:], nil
}

func (s *strPages) plain(c *colDec, out []string) error {
	for i := range out {
		v, rest, err := plainValue(s.page)
		if err != nil {
			return err
		}
		out[i], s.page = c.internBytes(v), rest
	}
	return nil
}

// indices decodes len(out) dictionary indices of the RLE / bit-packed hybrid encoding into their strings.
func (s *strPages) indices(out []string) error {
	for i := 0; i < len(out); {
		switch {
		case s.rleLeft > 0:
			if s.rleVal >= len(s.dict) {
				return errStrPage
			}
			v := s.dict[s.rleVal]
			k := min(s.rleLeft, len(out)-i)
			for j := range k {
				out[i+j] = v
			}
			i, s.rleLeft = i+k, s.rleLeft-k
		case s.packLeft > 0:
			k := min(s.packLeft, len(out)-i)
			for j := range k {
				ix := s.unpack(s.packPos + j)
				if ix >= len(s.dict) {
					return errStrPage
				}
				out[i+j] = s.dict[ix]
			}
			i, s.packPos, s.packLeft = i+k, s.packPos+k, s.packLeft-k
		default:
			if err := s.nextRun(); err != nil {
				return err
			}
		}
	}
	return nil
}

// nextRun reads the header of the next run of the hybrid encoding.
func (s *strPages) nextRun() error {
	h, n := binary.Uvarint(s.page)
	if n <= 0 {
		return errStrPage
	}
	s.page = s.page[n:]
	if h&1 == 0 { // RLE: count, then the value in ceil(bw/8) bytes
		w := (s.bw + 7) / 8
		if len(s.page) < w || h>>1 == 0 || h>>1 > 1<<31 {
			return errStrPage
		}
		var v uint64
		for k := w - 1; k >= 0; k-- {
			v = v<<8 | uint64(s.page[k])
		}
		s.rleLeft, s.rleVal, s.page = int(h>>1), int(min(v, 1<<31)), s.page[w:]
		return nil
	}
	groups := h >> 1 // bit-packed: groups of 8 values
	if groups == 0 || groups > 1<<28 {
		return errStrPage
	}
	size := int(groups) * s.bw // bytes: 8 values of bw bits per group
	// The last run may be cut short of its groups (the page ends): keep what is there.
	size = min(size, len(s.page))
	s.packed, s.page = s.page[:size], s.page[size:]
	s.packPos, s.packLeft = 0, min(int(groups)*8, size*8/max(s.bw, 1))
	if s.bw == 0 {
		s.packLeft = int(groups) * 8
	}
	return nil
}

// unpack returns the i-th bw-bit value of the current bit-packed run (little-endian bit order).
func (s *strPages) unpack(i int) int {
	if s.bw == 0 {
		return 0
	}
	bit := i * s.bw
	var v uint64
	end := min((bit+s.bw+7)/8, len(s.packed))
	for k := end - 1; k >= bit/8; k-- {
		v = v<<8 | uint64(s.packed[k])
	}
	return int((v >> (bit % 8)) & (1<<s.bw - 1))
}
