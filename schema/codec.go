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
// length-prefixed strings and lists. It is the spool's record body and the basis of Clone.
func AppendRow(buf []byte, e Stored) []byte {
	w := binWriter{buf: buf}
	e.WriteRow(&w)
	return w.buf
}

// DecodeRow decodes a row produced by AppendRow into e. Strings are copied out of buf.
func DecodeRow(buf []byte, e Stored) error {
	r := binReader{buf: buf}
	e.ReadRow(&r)
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
	buf []byte
	err error
}

func (r *binReader) fail() {
	if r.err == nil {
		r.err = ErrCorruptRow
	}
	r.buf = nil
}

func (r *binReader) Int64() int64 {
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
	if len(r.buf) < 8 {
		r.fail()
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(r.buf))
	r.buf = r.buf[8:]
	return v
}

func (r *binReader) String() string {
	n := r.uvarint()
	if n > uint64(len(r.buf)) {
		r.fail()
		return ""
	}
	s := string(r.buf[:n])
	r.buf = r.buf[n:]
	return s
}

func (r *binReader) Bool() bool {
	if len(r.buf) < 1 {
		r.fail()
		return false
	}
	v := r.buf[0] != 0
	r.buf = r.buf[1:]
	return v
}

func (r *binReader) Float64s(dst []float64) []float64 {
	n := r.uvarint()
	if n > uint64(len(r.buf))/8 {
		r.fail()
		return dst[:0]
	}
	dst = dst[:0]
	for i := uint64(0); i < n; i++ {
		dst = append(dst, r.Float64())
	}
	return dst
}

func (r *binReader) Int64s(dst []int64) []int64 {
	n := r.uvarint()
	if n > uint64(len(r.buf)) {
		r.fail()
		return dst[:0]
	}
	dst = dst[:0]
	for i := uint64(0); i < n; i++ {
		dst = append(dst, r.Int64())
	}
	return dst
}
