package parquet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/metadata"
)

// intPages decodes a required, non-repeated INT64 column chunk straight from its pages, DELTA_BINARY_PACKED
// (how okxtape writes integers and timestamps) a miniblock at a time, or PLAIN; with plainOnly, a DOUBLE
// chunk's PLAIN or BYTE_STREAM_SPLIT pages as the doubles' bits. Chunks with other encodings (dictionaries)
// use arrow-go's readers.
type intPages struct {
	pr        *chunkPages
	page      []byte // the data page's bytes not yet consumed
	left      int    // values of the page not yet returned
	plain     bool
	plainOnly bool // a DOUBLE chunk: PLAIN or BYTE_STREAM_SPLIT pages
	// BYTE_STREAM_SPLIT (doubles): the page's 8 byte streams of splitN values each; splitPos values read.
	split            bool
	splitN, splitPos int
	// DELTA_BINARY_PACKED state.
	perBlock, perMini int    // values per block and per miniblock
	widths            []byte // bit widths of the current block's miniblocks
	mini              int    // next miniblock of the block
	minDelta, last    int64
	first             bool                 // the page's first value is not returned yet
	buf               [maxMiniValues]int64 // the current miniblock's values
	bufPos, bufLen    int
}

const maxMiniValues = 512

var errIntPage = errors.New("damaged integer page")

// littleEndian: PLAIN words can be copied from a page as they are.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// fastWords reports whether a column chunk's encodings are all ones intPages decodes (for a DOUBLE chunk,
// deltas excluded).
func fastWords(cc *metadata.ColumnChunkMetaData, doubles bool) bool {
	for _, e := range cc.Encodings() {
		switch e {
		case parquet.Encodings.Plain, parquet.Encodings.RLE, parquet.Encodings.BitPacked:
		case parquet.Encodings.DeltaBinaryPacked:
			if doubles {
				return false
			}
		case parquet.Encodings.ByteStreamSplit:
			if !doubles {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func (s *intPages) reset(pr *chunkPages, plainOnly bool) {
	s.pr, s.page, s.left, s.bufPos, s.bufLen, s.plainOnly = pr, nil, 0, 0, 0, plainOnly
}

// doubleBits views a float64 buffer as the int64 words read fills with the doubles' PLAIN bits.
func doubleBits(f []float64) []int64 {
	return unsafe.Slice((*int64)(unsafe.Pointer(unsafe.SliceData(f))), len(f))
}

// read decodes len(out) values into out; fewer only at the end of the chunk.
func (s *intPages) read(out []int64) (int, error) {
	got := 0
	for got < len(out) {
		if s.left == 0 {
			ok, err := s.nextPage()
			if err != nil || !ok {
				return got, err
			}
			continue
		}
		k := min(len(out)-got, s.left)
		if err := s.take(out[got : got+k]); err != nil {
			return got, err
		}
		got += k
	}
	return got, nil
}

// take decodes the next len(out) values of the page (len(out) <= s.left).
func (s *intPages) take(out []int64) error {
	k := len(out)
	if s.split {
		n, d := s.splitN, s.page
		if s.splitPos+k > n || len(d) < 8*n {
			return errIntPage
		}
		for i := range out {
			j := s.splitPos + i
			out[i] = int64(uint64(d[j]) | uint64(d[n+j])<<8 | uint64(d[2*n+j])<<16 | uint64(d[3*n+j])<<24 |
				uint64(d[4*n+j])<<32 | uint64(d[5*n+j])<<40 | uint64(d[6*n+j])<<48 | uint64(d[7*n+j])<<56)
		}
		s.splitPos += k
	} else if s.plain {
		if len(s.page) < 8*k {
			return errIntPage
		}
		if littleEndian && k > 0 { // the words as they are in the page
			copy(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(out))), 8*k), s.page)
		} else {
			for i := range out {
				out[i] = int64(binary.LittleEndian.Uint64(s.page[8*i:]))
			}
		}
		s.page = s.page[8*k:]
	} else if err := s.deltas(out); err != nil {
		return err
	}
	s.left -= k
	return nil
}

// nextPage moves to the next data page; false at the end of the chunk.
func (s *intPages) nextPage() (bool, error) {
	pg, err := s.pr.next()
	if err != nil || pg == nil {
		return false, err
	}
	data := pg.data
	switch pg.typ {
	case pageDataV2:
		data = data[pg.repLen+pg.defLen:]
	case pageDictionary:
		return false, fmt.Errorf("dictionary page in a chunk without dictionary encoding: %w", errIntPage)
	}
	if pg.n < 0 {
		return false, errIntPage
	}
	if err := s.start(data, pg.n, pg.enc); err != nil {
		return false, err
	}
	return true, nil
}

// start begins a page's value section data, of n values encoded with enc; n < 0: as many as the section
// holds (a list page, whose value count is that of its levels holding one).
func (s *intPages) start(data []byte, n int, enc parquet.Encoding) error {
	s.page, s.left, s.bufPos, s.bufLen = data, n, 0, 0
	s.plain, s.split = false, false
	switch enc {
	case parquet.Encodings.Plain:
		s.plain = true
		if n < 0 {
			s.left = len(data) / 8
		}
	case parquet.Encodings.ByteStreamSplit:
		if !s.plainOnly || len(data)%8 != 0 || n >= 0 && len(data) != 8*n {
			return fmt.Errorf("byte-stream-split page of %d bytes for %d values: %w", len(data), n, errIntPage)
		}
		s.split, s.splitN, s.splitPos, s.left = true, len(data)/8, 0, len(data)/8
	case parquet.Encodings.DeltaBinaryPacked:
		if s.plainOnly {
			return fmt.Errorf("delta-encoded doubles: %w", errIntPage)
		}
		if err := s.header(n); err != nil {
			return err
		}
	default:
		return fmt.Errorf("integer page encoding %s: %w", enc, errIntPage)
	}
	return nil
}

func (s *intPages) uvarint() (uint64, error) {
	v, n := binary.Uvarint(s.page)
	if n <= 0 {
		return 0, errIntPage
	}
	s.page = s.page[n:]
	return v, nil
}

func (s *intPages) zigzag() (int64, error) {
	v, n := binary.Varint(s.page) // zigzag, as Parquet writes it
	if n <= 0 {
		return 0, errIntPage
	}
	s.page = s.page[n:]
	return v, nil
}

// header reads a DELTA_BINARY_PACKED page header (block size, miniblocks per block, value count, first value);
// the count must be n unless n < 0.
func (s *intPages) header(n int) error {
	block, err1 := s.uvarint()
	minis, err2 := s.uvarint()
	count, err3 := s.uvarint()
	first, err4 := s.zigzag()
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return err
	}
	if minis == 0 || block == 0 || block%minis != 0 || block/minis > maxMiniValues || (block/minis)%8 != 0 ||
		n >= 0 && count != uint64(n) || count > 1<<31 {
		return fmt.Errorf("delta header block %d, miniblocks %d, %d values for %d: %w", block, minis, count, n, errIntPage)
	}
	s.perBlock, s.perMini = int(block), int(block/minis)
	if cap(s.widths) < int(minis) {
		s.widths = make([]byte, minis)
	}
	s.widths, s.mini = s.widths[:minis], int(minis) // no block read yet
	s.last, s.first, s.left = first, true, int(count)
	return nil
}

// deltas returns the next len(out) values of a DELTA_BINARY_PACKED page.
func (s *intPages) deltas(out []int64) error {
	i := 0
	if s.first && len(out) > 0 {
		out[0], s.first, i = s.last, false, 1
	}
	for i < len(out) {
		if s.bufPos == s.bufLen {
			if len(out)-i >= s.perMini && s.perMini > 0 { // a whole miniblock wanted: straight into out
				if err := s.nextMini(out[i : i+s.perMini]); err != nil {
					return err
				}
				i += s.perMini
				continue
			}
			if err := s.nextMini(s.buf[:s.perMini]); err != nil {
				return err
			}
			s.bufPos, s.bufLen = 0, s.perMini
		}
		k := copy(out[i:], s.buf[s.bufPos:s.bufLen])
		i, s.bufPos = i+k, s.bufPos+k
	}
	return nil
}

// nextMini decodes the next miniblock (reading the next block's header when the block is done) into dst
// (perMini values).
func (s *intPages) nextMini(dst []int64) error {
	if s.mini == len(s.widths) {
		md, err := s.zigzag()
		if err != nil {
			return err
		}
		if len(s.page) < len(s.widths) {
			return errIntPage
		}
		copy(s.widths, s.page)
		s.page, s.minDelta, s.mini = s.page[len(s.widths):], md, 0
	}
	w := int(s.widths[s.mini])
	s.mini++
	if w > 64 {
		return fmt.Errorf("bit width %d: %w", w, errIntPage)
	}
	size := s.perMini * w / 8
	if len(s.page) < size {
		return errIntPage
	}
	// Values are loaded 8 bytes at a time, from the miniblock and what follows it in the page (masked off),
	// so only the page's last few values need the byte-wise path.
	data := s.page[:min(len(s.page), size+8)]
	s.page = s.page[size:]
	v, md := s.last, s.minDelta
	switch {
	case w == 0: // every delta is minDelta
		for i := range s.perMini {
			v += md
			dst[i] = v
		}
	case littleEndian && w <= 56 && len(data) >= size+8: // as below, every load within data: unchecked
		mask := uint64(1)<<uint(w) - 1
		p := unsafe.Pointer(unsafe.SliceData(data))
		for i := range dst[:s.perMini] {
			bit := uint(i * w)
			x := *(*uint64)(unsafe.Add(p, bit>>3)) >> (bit & 7) & mask
			v += md + int64(x)
			dst[i] = v
		}
	case w <= 56: // each value within 8 bytes from its first: one unaligned load
		mask := uint64(1)<<uint(w) - 1
		for i := range s.perMini {
			bit := i * w
			var x uint64
			if lo := bit >> 3; lo+8 <= len(data) {
				x = binary.LittleEndian.Uint64(data[lo:]) >> uint(bit&7) & mask
			} else {
				x = unpackBits(data, bit, w)
			}
			v += md + int64(x)
			dst[i] = v
		}
	default:
		for i := range s.perMini {
			v += md + int64(unpackBits(data, i*w, w))
			dst[i] = v
		}
	}
	s.last = v
	return nil
}

// unpackBits returns the w-bit value at bit offset bit of data (little-endian bit order; w <= 64); bits past
// the end of data read as 0.
func unpackBits(data []byte, bit, w int) uint64 {
	if w == 0 {
		return 0
	}
	lo, shift := bit/8, uint(bit%8)
	var a uint64
	if lo+8 <= len(data) {
		a = binary.LittleEndian.Uint64(data[lo:])
	} else {
		for k := min(lo+8, len(data)) - 1; k >= lo; k-- {
			a = a<<8 | uint64(data[k])
		}
	}
	v := a >> shift
	if shift > 0 && int(shift)+w > 64 && lo+8 < len(data) {
		v |= uint64(data[lo+8]) << (64 - shift)
	}
	if w < 64 {
		v &= 1<<uint(w) - 1
	}
	return v
}
