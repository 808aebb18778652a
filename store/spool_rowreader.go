package store

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/okxtape/okxtape/schema"
)

// rowDecoder reads rows in the schema.AppendRow format (varint integers, 8-byte LE floats, uvarint-length
// strings and lists) like schema.DecodeRow, but interns the strings of dictionary columns (instrument ids,
// channels, sides), so decoding a spooled ticker allocates nothing in steady state. A test checks it against
// schema.DecodeRow for every table.
type rowDecoder struct {
	buf    []byte
	err    error
	cols   []schema.Column
	col    int
	intern map[string]string
}

const maxInterned = 1 << 16

func (d *rowDecoder) decode(row []byte, t *schema.Table, e schema.Stored) error {
	d.buf, d.err, d.cols, d.col = row, nil, t.Columns, 0
	if d.intern == nil {
		d.intern = make(map[string]string)
	}
	e.ReadRow(d)
	if d.err != nil {
		return fmt.Errorf("decode spooled %s row: %w", t.Name, d.err)
	}
	if len(d.buf) != 0 {
		return fmt.Errorf("decode spooled %s row: %d trailing bytes: %w", t.Name, len(d.buf), schema.ErrCorruptRow)
	}
	return nil
}

func (d *rowDecoder) fail() {
	if d.err == nil {
		d.err = schema.ErrCorruptRow
	}
	d.buf = nil
}

func (d *rowDecoder) Int64() int64 {
	d.col++
	v, n := binary.Varint(d.buf)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *rowDecoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *rowDecoder) float() float64 {
	if len(d.buf) < 8 {
		d.fail()
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(d.buf))
	d.buf = d.buf[8:]
	return v
}

func (d *rowDecoder) Float64() float64 {
	d.col++
	return d.float()
}

func (d *rowDecoder) String() string {
	dict := d.col < len(d.cols) && d.cols[d.col].Dict
	d.col++
	n := d.uvarint()
	if n > uint64(len(d.buf)) {
		d.fail()
		return ""
	}
	b := d.buf[:n]
	d.buf = d.buf[n:]
	if !dict {
		return string(b)
	}
	if s, ok := d.intern[string(b)]; ok {
		return s
	}
	if len(d.intern) >= maxInterned {
		clear(d.intern)
	}
	s := string(b)
	d.intern[s] = s
	return s
}

func (d *rowDecoder) Bool() bool {
	d.col++
	if len(d.buf) < 1 {
		d.fail()
		return false
	}
	v := d.buf[0] != 0
	d.buf = d.buf[1:]
	return v
}

func (d *rowDecoder) Float64s(dst []float64) []float64 {
	d.col++
	dst = dst[:0]
	n := d.uvarint()
	if n > uint64(len(d.buf))/8 {
		d.fail()
		return dst
	}
	for i := uint64(0); i < n; i++ {
		dst = append(dst, d.float())
	}
	return dst
}

func (d *rowDecoder) Int64s(dst []int64) []int64 {
	d.col++
	dst = dst[:0]
	n := d.uvarint()
	if n > uint64(len(d.buf)) {
		d.fail()
		return dst
	}
	for i := uint64(0); i < n; i++ {
		v, m := binary.Varint(d.buf)
		if m <= 0 {
			d.fail()
			return dst[:0]
		}
		d.buf = d.buf[m:]
		dst = append(dst, v)
	}
	return dst
}

// rowEncoder writes rows in the schema.AppendRow format into buf. Unlike schema.AppendRow it lives in the
// spool (under its mutex), so encoding allocates nothing. A test checks it byte for byte against AppendRow.
type rowEncoder struct{ buf []byte }

func (w *rowEncoder) Int64(v int64) { w.buf = binary.AppendVarint(w.buf, v) }
func (w *rowEncoder) Float64(v float64) {
	w.buf = binary.LittleEndian.AppendUint64(w.buf, math.Float64bits(v))
}
func (w *rowEncoder) String(v string) {
	w.buf = binary.AppendUvarint(w.buf, uint64(len(v)))
	w.buf = append(w.buf, v...)
}
func (w *rowEncoder) Bool(v bool) {
	b := byte(0)
	if v {
		b = 1
	}
	w.buf = append(w.buf, b)
}
func (w *rowEncoder) Float64s(v []float64) {
	w.buf = binary.AppendUvarint(w.buf, uint64(len(v)))
	for _, f := range v {
		w.Float64(f)
	}
}
func (w *rowEncoder) Int64s(v []int64) {
	w.buf = binary.AppendUvarint(w.buf, uint64(len(v)))
	for _, i := range v {
		w.Int64(i)
	}
}
