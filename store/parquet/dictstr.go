package parquet

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/metadata"
)

// strPages decodes a required, non-repeated string column chunk straight from its pages: the dictionary page
// becomes one interned string per entry and data pages are read as dictionary indices (RLE / bit-packed
// hybrid) or PLAIN values, so a row costs an index lookup instead of a byte-array copy and a string compare.
// Chunks with other encodings use arrow-go's ByteArray reader (colDec.readStrings).
type strPages struct {
	pr      *chunkPages
	dict    []string
	page    []byte // the data page's values not yet decoded
	left    int    // values left in the page
	dictEnc bool
	idx     hybrid // the indices of a dictionary-encoded page
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

func (s *strPages) reset(pr *chunkPages) {
	s.pr, s.dict, s.page, s.left = pr, s.dict[:0], nil, 0
	s.idx.init(nil, 0)
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
	for {
		pg, err := s.pr.next()
		if err != nil || pg == nil {
			return false, err
		}
		data := pg.data
		switch pg.typ {
		case pageDictionary:
			s.dict = s.dict[:0]
			for range pg.n {
				b, rest, err := plainValue(data)
				if err != nil {
					return false, err
				}
				s.dict, data = append(s.dict, c.internBytes(b)), rest
			}
			continue
		case pageDataV2:
			data = data[pg.repLen+pg.defLen:]
		}
		if pg.n < 0 {
			return false, errStrPage
		}
		s.page, s.left = data, pg.n
		switch pg.enc {
		case parquet.Encodings.Plain:
			s.dictEnc = false
		case parquet.Encodings.PlainDict, parquet.Encodings.RLEDict:
			if len(data) < 1 || data[0] > 32 {
				return false, errStrPage
			}
			s.dictEnc = true
			s.idx.init(data[1:], int(data[0]))
		default:
			return false, fmt.Errorf("string page encoding %s: %w", pg.enc, errStrPage)
		}
		return true, nil
	}
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
	h := &s.idx
	for i := 0; i < len(out); {
		switch {
		case h.rleLeft > 0:
			if h.rleVal >= len(s.dict) {
				return errStrPage
			}
			v := s.dict[h.rleVal]
			k := min(h.rleLeft, len(out)-i)
			for j := range k {
				out[i+j] = v
			}
			i, h.rleLeft = i+k, h.rleLeft-k
		case h.packLeft > 0:
			k := min(h.packLeft, len(out)-i)
			for j := range k {
				ix := h.unpack(h.packPos + j)
				if ix >= len(s.dict) {
					return errStrPage
				}
				out[i+j] = s.dict[ix]
			}
			i, h.packPos, h.packLeft = i+k, h.packPos+k, h.packLeft-k
		default:
			if err := h.nextRun(); err != nil {
				return fmt.Errorf("%w: %w", errStrPage, err)
			}
		}
	}
	return nil
}
