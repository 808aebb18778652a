package schema

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ErrCorruptRow means a binary row could not be decoded: the bytes are damaged or of another table.
var ErrCorruptRow = errors.New("schema: corrupt row")

// AppendRow appends the compact binary encoding of e's row to buf: varints for integers, 8 bytes for floats,
// length-prefixed strings and lists. It is the spool's record body and the basis of Clone. Hot paths use a
// long-lived Encoder instead, which does not allocate.
func AppendRow(buf []byte, e Stored) []byte {
	var enc Encoder
	return enc.Append(buf, e)
}

// DecodeRow decodes a row produced by AppendRow into e. Strings are copied out of buf.
func DecodeRow(buf []byte, e Stored) error {
	var d Decoder
	return d.Decode(buf, e)
}

// Encoder appends rows in the AppendRow format. A long-lived Encoder encodes without allocating.
// It is not safe for concurrent use.
type Encoder struct{ w binWriter }

// Append appends e's row to buf and returns the extended buffer.
func (c *Encoder) Append(buf []byte, e Stored) []byte {
	c.w.buf = buf
	e.WriteRow(&c.w)
	b := c.w.buf
	c.w.buf = nil
	return b
}

// Decoder decodes rows in the AppendRow format. With Intern set it returns one shared string per distinct
// value of a dictionary column (instrument ids, channels, sides), so that decoding many rows allocates
// nothing for them in steady state. It is not safe for concurrent use.
type Decoder struct {
	Intern bool
	r      binReader
	table  map[string]string
}

// maxInterned bounds a Decoder's intern table; it is cleared when full.
const maxInterned = 1 << 16

// Decode decodes one row into e.
func (d *Decoder) Decode(row []byte, e Stored) error {
	d.r = binReader{buf: row}
	if d.Intern {
		if d.table == nil {
			d.table = make(map[string]string)
		}
		d.r.cols, d.r.intern = TableOf(e.Kind()).Columns, d.table
	}
	e.ReadRow(&d.r)
	r := &d.r
	if r.err != nil {
		return fmt.Errorf("decode %s row: %w", e.Kind(), r.err)
	}
	if len(r.buf) != 0 {
		return fmt.Errorf("decode %s row: %d trailing bytes: %w", e.Kind(), len(r.buf), ErrCorruptRow)
	}
	return nil
}

// Clone returns a deep copy of a stored event that the caller owns.
func Clone(e Stored) Stored {
	if b, ok := e.(*Book); ok {
		return b.Clone()
	}
	c := TableOf(e.Kind()).New()
	if err := DecodeRow(AppendRow(nil, e), c); err != nil {
		panic("schema: clone round trip failed: " + err.Error()) // a bug in a WriteRow/ReadRow pair
	}
	return c
}

type binWriter struct{ buf []byte }

func (w *binWriter) Int64(v int64) { w.buf = binary.AppendVarint(w.buf, v) }
func (w *binWriter) Float64(v float64) {
	w.buf = binary.LittleEndian.AppendUint64(w.buf, math.Float64bits(v))
}
func (w *binWriter) String(v string) {
	w.buf = binary.AppendUvarint(w.buf, uint64(len(v)))
	w.buf = append(w.buf, v...)
}
func (w *binWriter) Bool(v bool) {
	if v {
		w.buf = append(w.buf, 1)
	} else {
		w.buf = append(w.buf, 0)
	}
}
func (w *binWriter) Float64s(v []float64) {
	w.buf = binary.AppendUvarint(w.buf, uint64(len(v)))
	for _, f := range v {
		w.Float64(f)
	}
}
func (w *binWriter) Int64s(v []int64) {
	w.buf = binary.AppendUvarint(w.buf, uint64(len(v)))
	for _, i := range v {
		w.Int64(i)
	}
}

type binReader struct {
	buf    []byte
	err    error
	cols   []Column          // set when interning: which values are dictionary columns
	col    int               // index of the next column
	intern map[string]string // nil: no interning
}

func (r *binReader) fail() {
	if r.err == nil {
		r.err = ErrCorruptRow
	}
	r.buf = nil
}

func (r *binReader) Int64() int64 {
	r.col++
	return r.varint()
}

func (r *binReader) varint() int64 {
	v, n := binary.Varint(r.buf)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

func (r *binReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.buf)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

func (r *binReader) Float64() float64 {
	r.col++
	return r.float()
}

func (r *binReader) float() float64 {
	if len(r.buf) < 8 {
		r.fail()
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(r.buf))
	r.buf = r.buf[8:]
	return v
}

func (r *binReader) String() string {
	dict := r.intern != nil && r.col < len(r.cols) && r.cols[r.col].Dict
	r.col++
	n := r.uvarint()
	if n > uint64(len(r.buf)) {
		r.fail()
		return ""
	}
	b := r.buf[:n]
	r.buf = r.buf[n:]
	if !dict {
		return string(b)
	}
	if s, ok := r.intern[string(b)]; ok {
		return s
	}
	if len(r.intern) >= maxInterned {
		clear(r.intern)
	}
	s := string(b)
	r.intern[s] = s
	return s
}

func (r *binReader) Bool() bool {
	r.col++
	if len(r.buf) < 1 {
		r.fail()
		return false
	}
	v := r.buf[0] != 0
	r.buf = r.buf[1:]
	return v
}

func (r *binReader) Float64s(dst []float64) []float64 {
	r.col++
	n := r.uvarint()
	if n > uint64(len(r.buf))/8 {
		r.fail()
		return dst[:0]
	}
	dst = dst[:0]
	for i := uint64(0); i < n; i++ {
		dst = append(dst, r.float())
	}
	return dst
}

func (r *binReader) Int64s(dst []int64) []int64 {
	r.col++
	n := r.uvarint()
	if n > uint64(len(r.buf)) {
		r.fail()
		return dst[:0]
	}
	dst = dst[:0]
	for i := uint64(0); i < n; i++ {
		dst = append(dst, r.varint())
	}
	return dst
}
