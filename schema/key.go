package schema

// KeyEncoder encodes the event key (Table.Key) of rows: two events of a table are the same exchange event
// exactly when their encodings are equal. It reuses its buffers; not safe for concurrent use.
type KeyEncoder struct {
	w     binWriter
	ends  []int // end offset of each column's encoding in w.buf
	out   []byte
	table *Table
	idx   []int
}

// Append appends the key of e (an event of a table with a Key) to dst and returns it.
func (k *KeyEncoder) Append(dst []byte, e Stored) []byte {
	t := TableOf(e.Kind())
	if t != k.table {
		k.table, k.idx = t, t.KeyIndexes()
	}
	k.w.buf = k.w.buf[:0]
	k.ends = k.ends[:0]
	e.WriteRow(&keyColumns{k})
	for _, i := range k.idx {
		if i < 0 || i >= len(k.ends) {
			continue
		}
		start := 0
		if i > 0 {
			start = k.ends[i-1]
		}
		dst = append(dst, k.w.buf[start:k.ends[i]]...)
	}
	return dst
}

// keyColumns records where each column's encoding ends.
type keyColumns struct{ k *KeyEncoder }

func (c *keyColumns) end() { c.k.ends = append(c.k.ends, len(c.k.w.buf)) }

func (c *keyColumns) Int64(v int64)        { c.k.w.Int64(v); c.end() }
func (c *keyColumns) Float64(v float64)    { c.k.w.Float64(v); c.end() }
func (c *keyColumns) String(v string)      { c.k.w.String(v); c.end() }
func (c *keyColumns) Bool(v bool)          { c.k.w.Bool(v); c.end() }
func (c *keyColumns) Float64s(v []float64) { c.k.w.Float64s(v); c.end() }
func (c *keyColumns) Int64s(v []int64)     { c.k.w.Int64s(v); c.end() }
