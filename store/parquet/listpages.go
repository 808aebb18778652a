package parquet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/metadata"
)

// listPages decodes a list column chunk (INT64 or DOUBLE elements) straight from its pages: the repetition
// and definition levels (RLE / bit-packed hybrid) and the values (PLAIN, or DELTA_BINARY_PACKED for
// integers) through intPages, a batch of levels at a time, in the form arrow-go's ReadBatch gives them, so
// readList turns them into rows either way. Chunks with other encodings (dictionaries, BIT_PACKED levels)
// use arrow-go's readers.
type listPages struct {
	pr             *chunkPages
	vals           intPages // the value section of the current page (its pr is not used)
	rep, def       hybrid
	maxRep, maxDef int16
	left           int // levels of the page not yet returned
}

var errListPage = errors.New("damaged list page")

// fastLists reports whether a list column chunk's encodings are all ones listPages decodes.
func fastLists(cc *metadata.ColumnChunkMetaData, doubles bool) bool {
	for _, e := range cc.Encodings() {
		if e == parquet.Encodings.BitPacked { // the deprecated level encoding
			return false
		}
	}
	return fastWords(cc, doubles)
}

func (l *listPages) reset(pr *chunkPages, doubles bool, maxRep, maxDef int16) {
	l.pr, l.left, l.maxRep, l.maxDef = pr, 0, maxRep, maxDef
	l.vals.reset(nil, doubles)
}

// batch decodes up to n levels of the chunk into defs and reps, and the values of the levels that hold one
// (definition level maxDef) into vals; it returns how many levels and values it decoded (0 levels at the end
// of the chunk). It is readList's batchFn over int64 words (doubles as their bits).
func (l *listPages) batch(n int64, vals []int64, defs, reps []int16) (int64, int, error) {
	for l.left == 0 {
		ok, err := l.nextPage()
		if err != nil || !ok {
			return 0, 0, err
		}
	}
	k := int(min(n, int64(l.left), int64(len(defs)), int64(len(reps))))
	if _, err := l.rep.levelsMax(reps[:k]); err != nil {
		return 0, 0, err
	}
	nv, err := l.def.levelsMax(defs[:k])
	if err != nil {
		return 0, 0, err
	}
	if nv > len(vals) {
		return 0, 0, errListPage
	}
	if nv > l.vals.left {
		return 0, 0, fmt.Errorf("%d values for %d in the page: %w", l.vals.left, nv, errListPage)
	}
	if err := l.vals.take(vals[:nv]); err != nil {
		return 0, 0, err
	}
	l.left -= k
	return int64(k), nv, nil
}

// batchFloats is batch for a DOUBLE list: the values as doubles.
func (l *listPages) batchFloats(n int64, vals []float64, defs, reps []int16) (int64, int, error) {
	return l.batch(n, doubleBits(vals), defs, reps)
}

// nextPage moves to the next data page and splits it into its level and value sections; false at the end.
func (l *listPages) nextPage() (bool, error) {
	for {
		pg, err := l.pr.next()
		if err != nil || pg == nil {
			return false, err
		}
		repLen, defLen := -1, -1 // v1: each section starts with its length
		switch pg.typ {
		case pageData:
			if pg.repEnc != parquet.Encodings.RLE || pg.defEnc != parquet.Encodings.RLE {
				return false, fmt.Errorf("level encodings %s/%s: %w", pg.repEnc, pg.defEnc, errListPage)
			}
		case pageDataV2:
			repLen, defLen = pg.repLen, pg.defLen
		case pageDictionary:
			return false, fmt.Errorf("dictionary page in a chunk without dictionary encoding: %w", errListPage)
		}
		if pg.n < 0 {
			return false, errListPage
		}
		data := pg.data
		if data, err = l.rep.levelSection(data, repLen, l.maxRep); err != nil {
			return false, err
		}
		if data, err = l.def.levelSection(data, defLen, l.maxDef); err != nil {
			return false, err
		}
		if err := l.vals.start(data, -1, pg.enc); err != nil {
			return false, err
		}
		l.left = pg.n
		if pg.n > 0 {
			return true, nil
		}
	}
}

// hybrid decodes Parquet's RLE / bit-packed hybrid encoding of small integers (levels, dictionary indices)
// a run at a time.
type hybrid struct {
	data     []byte // the encoded runs not yet read
	bw       int    // bit width
	rleLeft  int    // values left in the current RLE run
	rleVal   int
	packed   []byte // the current bit-packed run's bytes
	packLeft int    // values left in it
	packPos  int    // next value in it
	max      int16  // the largest valid level (levelSection)
}

func (h *hybrid) init(data []byte, bw int) {
	h.data, h.bw, h.rleLeft, h.packLeft = data, bw, 0, 0
}

// levelSection sets h to decode the levels (maximum max) at the start of a page's data and returns the data
// after them. n is the section's length in bytes (v2 pages), or -1 when a 4-byte length precedes it (v1);
// max 0 means the page has no such section and every level is 0.
func (h *hybrid) levelSection(data []byte, n int, max int16) ([]byte, error) {
	h.max = max
	if max == 0 {
		h.init(nil, 0)
		h.rleLeft, h.rleVal = 1<<62, 0
		return data, nil
	}
	if n < 0 {
		if len(data) < 4 {
			return nil, errListPage
		}
		u := binary.LittleEndian.Uint32(data)
		if uint64(u) > uint64(len(data)-4) {
			return nil, errListPage
		}
		n, data = int(u), data[4:]
	}
	if n > len(data) {
		return nil, errListPage
	}
	h.init(data[:n], bits.Len16(uint16(max)))
	return data[n:], nil
}

// levelsMax decodes len(out) levels of a level section (levelSection), checks that no level is above the
// section's maximum, a run at a time where the bit width allows no larger value, and returns how many levels
// are the maximum (for definition levels: how many hold a value).
func (h *hybrid) levelsMax(out []int16) (int, error) {
	top, count := h.max, 0
	for i := 0; i < len(out); {
		switch {
		case h.rleLeft > 0:
			k := min(h.rleLeft, len(out)-i)
			if h.rleVal > int(top) {
				return 0, fmt.Errorf("level %d above %d: %w", h.rleVal, top, errListPage)
			}
			v := int16(h.rleVal)
			for j := range out[i : i+k] {
				out[i+j] = v
			}
			if v == top {
				count += k
			}
			i, h.rleLeft = i+k, h.rleLeft-k
		case h.packLeft > 0:
			k := min(h.packLeft, len(out)-i)
			if h.bw == 1 { // the maximum is 1: every value is valid, and the ones count
				count += h.bits(out[i : i+k])
			} else {
				for j := range k {
					v := int16(h.unpack(h.packPos + j))
					if v > top {
						return 0, fmt.Errorf("level %d above %d: %w", v, top, errListPage)
					}
					out[i+j] = v
					if v == top {
						count++
					}
				}
			}
			i, h.packPos, h.packLeft = i+k, h.packPos+k, h.packLeft-k
		default:
			if err := h.nextRun(); err != nil {
				return 0, err
			}
		}
	}
	return count, nil
}

// bits decodes the next len(out) values of a bit-packed run of width 1, whole bytes through bitLevels, and
// returns how many are 1.
func (h *hybrid) bits(out []int16) int {
	count, j, pos := 0, 0, h.packPos
	one := func() {
		v := int16(h.packed[(pos+j)>>3] >> ((pos + j) & 7) & 1)
		out[j] = v
		count += int(v)
		j++
	}
	for j < len(out) && (pos+j)&7 != 0 {
		one()
	}
	for ; j+8 <= len(out); j += 8 {
		b := h.packed[(pos+j)>>3]
		*(*[8]int16)(out[j : j+8]) = bitLevels[b]
		count += bits.OnesCount8(b)
	}
	for j < len(out) {
		one()
	}
	return count
}

// bitLevels holds the 8 levels of each byte of a bit-packed run of width 1.
var bitLevels = func() (t [256][8]int16) {
	for b := range t {
		for k := range 8 {
			t[b][k] = int16(b >> k & 1)
		}
	}
	return t
}()

var errHybrid = errors.New("damaged RLE / bit-packed run")

// nextRun reads the header of the next run.
func (h *hybrid) nextRun() error {
	hd, n := binary.Uvarint(h.data)
	if n <= 0 {
		return errHybrid
	}
	h.data = h.data[n:]
	if hd&1 == 0 { // RLE: count, then the value in ceil(bw/8) bytes
		w := (h.bw + 7) / 8
		if len(h.data) < w || hd>>1 == 0 || hd>>1 > 1<<31 {
			return errHybrid
		}
		var v uint64
		for k := w - 1; k >= 0; k-- {
			v = v<<8 | uint64(h.data[k])
		}
		h.rleLeft, h.rleVal, h.data = int(hd>>1), int(min(v, 1<<31)), h.data[w:]
		return nil
	}
	groups := hd >> 1 // bit-packed: groups of 8 values
	if groups == 0 || groups > 1<<28 {
		return errHybrid
	}
	size := int(groups) * h.bw // bytes: 8 values of bw bits per group
	// The last run may be cut short of its groups (the data ends): keep what is there.
	size = min(size, len(h.data))
	h.packed, h.data = h.data[:size], h.data[size:]
	h.packPos, h.packLeft = 0, min(int(groups)*8, size*8/max(h.bw, 1))
	if h.bw == 0 {
		h.packLeft = int(groups) * 8
	}
	return nil
}

// unpack returns the i-th bw-bit value of the current bit-packed run (little-endian bit order).
func (h *hybrid) unpack(i int) int {
	if h.bw == 0 {
		return 0
	}
	bit := i * h.bw
	if lo := bit >> 3; lo+8 <= len(h.packed) { // bw <= 32: the value is within the 8 bytes from lo
		return int(binary.LittleEndian.Uint64(h.packed[lo:]) >> (bit & 7) & (1<<h.bw - 1))
	}
	var v uint64
	end := min((bit+h.bw+7)/8, len(h.packed))
	for k := end - 1; k >= bit/8; k-- {
		v = v<<8 | uint64(h.packed[k])
	}
	return int((v >> (bit % 8)) & (1<<h.bw - 1))
}
