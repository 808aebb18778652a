package parquet

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// A Parquet page header (Thrift compact protocol), read without arrow-go's generated Thrift code: the fields
// the page decoders use, every other field skipped. Damaged bytes give an error, never a panic.

type pageType int32

// The page types of the Parquet format.
const (
	pageData       pageType = 0
	pageIndex      pageType = 1
	pageDictionary pageType = 2
	pageDataV2     pageType = 3
)

type pageHeader struct {
	typ                      pageType
	uncompressed, compressed int32
	numValues                int32
	encoding                 int32
	defEnc, repEnc           int32 // data pages v1
	defLen, repLen           int32 // data pages v2
	compressedV2             bool  // data pages v2: the values are compressed (the default)
	hasBody                  bool  // the header of its type was present
}

var errPageHeader = errors.New("damaged page header")

// compact reads Thrift compact protocol values from b.
type compact struct {
	b   []byte
	err error
}

func (c *compact) fail() {
	if c.err == nil {
		c.err = errPageHeader
	}
	c.b = nil
}

func (c *compact) byte() byte {
	if len(c.b) == 0 {
		c.fail()
		return 0
	}
	v := c.b[0]
	c.b = c.b[1:]
	return v
}

func (c *compact) uvarint() uint64 {
	v, n := binary.Uvarint(c.b)
	if n <= 0 {
		c.fail()
		return 0
	}
	c.b = c.b[n:]
	return v
}

func (c *compact) i32() int32 {
	v := c.uvarint()
	x := int64(v>>1) ^ -int64(v&1) // zigzag
	if x < -1<<31 || x > 1<<31-1 {
		c.fail()
		return 0
	}
	return int32(x)
}

// field reads a field header: its id (from the previous one, last) and type; type 0 is the struct's end.
func (c *compact) field(last int16) (id int16, typ byte) {
	h := c.byte()
	typ = h & 0x0f
	if typ == 0 {
		return 0, 0
	}
	if d := h >> 4; d != 0 {
		return last + int16(d), typ
	}
	v := c.uvarint()
	return int16(int64(v>>1) ^ -int64(v&1)), typ
}

// Compact protocol types.
const (
	ctTrue   = 1
	ctFalse  = 2
	ctByte   = 3
	ctI16    = 4
	ctI32    = 5
	ctI64    = 6
	ctDouble = 7
	ctBinary = 8
	ctList   = 9
	ctSet    = 10
	ctMap    = 11
	ctStruct = 12
)

// skip skips a value of type typ (depth bounds nesting).
func (c *compact) skip(typ byte, depth int) {
	if depth > 16 {
		c.fail()
		return
	}
	switch typ {
	case ctTrue, ctFalse:
	case ctByte:
		c.byte()
	case ctI16, ctI32, ctI64:
		c.uvarint()
	case ctDouble:
		c.bytes(8)
	case ctBinary:
		c.bytes(c.uvarint())
	case ctList, ctSet:
		h := c.byte()
		n := uint64(h >> 4)
		if n == 15 {
			n = c.uvarint()
		}
		c.skipElems(n, h&0x0f, depth)
	case ctMap:
		n := c.uvarint()
		if n > uint64(len(c.b)) {
			c.fail()
		} else if n > 0 {
			kv := c.byte()
			for i := uint64(0); i < n && c.err == nil; i++ { // key, value
				c.skipElems(1, kv>>4, depth)
				c.skipElems(1, kv&0x0f, depth)
			}
		}
	case ctStruct:
		c.structFields(depth+1, func(int16, byte) bool { return false })
	default:
		c.fail()
	}
}

// skipElems skips n collection elements of type typ; every element takes at least a byte (a bool in a
// collection is a byte), which bounds n by what is left.
func (c *compact) skipElems(n uint64, typ byte, depth int) {
	if n > uint64(len(c.b)) {
		c.fail()
		return
	}
	for i := uint64(0); i < n && c.err == nil; i++ {
		if typ == ctTrue || typ == ctFalse {
			c.byte()
		} else {
			c.skip(typ, depth+1)
		}
	}
}

func (c *compact) bytes(n uint64) {
	if n > uint64(len(c.b)) {
		c.fail()
		return
	}
	c.b = c.b[n:]
}

// structFields reads a struct's fields up to its end, passing each to fn, which reads the value and returns
// true, or returns false to have it skipped.
func (c *compact) structFields(depth int, fn func(id int16, typ byte) bool) {
	var last int16
	for c.err == nil {
		id, typ := c.field(last)
		if typ == 0 || c.err != nil {
			return
		}
		last = id
		if !fn(id, typ) {
			c.skip(typ, depth)
		}
	}
}

// parsePageHeader reads the page header at the start of b and returns it with its length in bytes.
func parsePageHeader(b []byte) (pageHeader, int, error) {
	c := compact{b: b}
	h := pageHeader{compressedV2: true}
	var seen [4]bool // type, uncompressed, compressed, num_values
	i32 := func(typ byte, dst *int32, k int) bool {
		if typ != ctI32 {
			return false
		}
		*dst = c.i32()
		if k >= 0 {
			seen[k] = true
		}
		return true
	}
	c.structFields(0, func(id int16, typ byte) bool {
		switch id {
		case 1:
			var t int32
			ok := i32(typ, &t, 0)
			h.typ = pageType(t)
			return ok
		case 2:
			return i32(typ, &h.uncompressed, 1)
		case 3:
			return i32(typ, &h.compressed, 2)
		case 5, 7, 8: // data page, dictionary page, data page v2 headers
			if typ != ctStruct {
				return false
			}
			h.hasBody = h.hasBody || pageType(id-5) == h.typ // 5: data, 7: dictionary, 8: data v2
			c.structFields(1, func(fid int16, ft byte) bool {
				switch {
				case fid == 1:
					return i32(ft, &h.numValues, 3)
				case id == 5 && fid == 2, id == 7 && fid == 2, id == 8 && fid == 4:
					return i32(ft, &h.encoding, -1)
				case id == 5 && fid == 3:
					return i32(ft, &h.defEnc, -1)
				case id == 5 && fid == 4:
					return i32(ft, &h.repEnc, -1)
				case id == 8 && fid == 5:
					return i32(ft, &h.defLen, -1)
				case id == 8 && fid == 6:
					return i32(ft, &h.repLen, -1)
				case id == 8 && fid == 7 && (ft == ctTrue || ft == ctFalse):
					h.compressedV2 = ft == ctTrue
					return true
				}
				return false
			})
			return true
		}
		return false
	})
	if c.err != nil {
		return h, 0, c.err
	}
	if !seen[0] || !seen[1] || !seen[2] || h.uncompressed < 0 || h.compressed < 0 || h.numValues < 0 {
		return h, 0, fmt.Errorf("page header without its sizes: %w", errPageHeader)
	}
	if (h.typ == pageData || h.typ == pageDictionary || h.typ == pageDataV2) && (!h.hasBody || !seen[3]) {
		return h, 0, fmt.Errorf("page header of type %d without its values: %w", h.typ, errPageHeader)
	}
	return h, len(b) - len(c.b), nil
}
