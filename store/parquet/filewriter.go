package parquet

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/okxtape/okxtape/schema"
)

// instBuf holds one instrument's rows of the open file that are not in a row group yet.
type instBuf struct {
	id      string
	buf     *rowBuf
	grouped bool // the instrument has row groups of its own in the open file
	used    bool // rows were added since the file opened
	retry   int  // with no valid cut found, the row count at which to look again
}

// fileWriter streams the part files of one dataset, one open file at a time (rowgroups.go): rows are
// buffered per instrument and written a row group at a time; the file gets its footer and final name at
// finish. Its instrument buffers are kept from one file to the next.
type fileWriter struct {
	tp     *tableProps
	target int // rows per row group
	insts  map[string]*instBuf
	last   *instBuf // the instrument of the previous row (a batch is mostly runs of one)
	pw     *partWriter
	tmp    string // temporary name of the open file

	// the open file: its UTC day of ts, when it opened, its seq range and what it holds (buffered or written)
	active         bool
	day            int64
	opened         time.Time
	minSeq, maxSeq uint64
	rows, bytes    int

	// buffered is the bytes of rows waiting in instrument buffers.
	buffered int

	sorted  *rowBuf // rows of a buffer in sorted order, when they were not added in order
	packed  *rowBuf // small instruments' rows, packed into shared row groups at finish
	keys    []sortKey
	perm    []int32
	sufMin  []int64
	scratch writeScratch
}

func newFileWriter(tp *tableProps, target int) *fileWriter {
	return &fileWriter{tp: tp, target: max(target, 1), insts: map[string]*instBuf{}}
}

// open starts a file: rows from day, its temporary name tmp.
func (w *fileWriter) open(day int64, opened time.Time, tmp string) {
	w.active, w.day, w.opened, w.tmp = true, day, opened, tmp
	w.minSeq, w.maxSeq, w.rows, w.bytes = ^uint64(0), 0, 0, 0
}

// add buffers one row and writes the instrument's next row group when enough rows wait. It returns the
// change of buffered bytes. A row that does not match the table is rolled back (errColumnType wrapped); a
// failed row group write is any other error, after which the file must be aborted.
func (w *fileWriter) add(e schema.Stored) (delta int, rowErr, writeErr error) {
	h := e.Hdr()
	ib := w.last
	if ib == nil || ib.id != h.InstID {
		ib = w.insts[h.InstID]
		if ib == nil {
			ib = &instBuf{id: strings.Clone(h.InstID), buf: newRowBuf(w.tp.t)}
			w.insts[ib.id] = ib
		}
		w.last = ib
	}
	before := ib.buf.bytes
	if err := ib.buf.add(e); err != nil {
		return 0, err, nil
	}
	ib.used = true
	w.rows++
	w.bytes += ib.buf.bytes - before
	w.minSeq, w.maxSeq = min(w.minSeq, h.Seq), max(w.maxSeq, h.Seq)
	if n := ib.buf.rows; n >= w.target+w.target/4 && n >= ib.retry {
		_, writeErr = w.group(ib, groupNormal)
	}
	delta = ib.buf.bytes - before
	w.buffered += delta
	return delta, nil, writeErr
}

// Modes of group.
const (
	groupNormal = iota // row groups of about target rows while enough rows follow
	groupEarly         // one row group of half to three quarters of the rows (over the budget)
	groupAll           // every row
)

// group writes row groups of ib's rows as mode says (see groupCut). It returns the change of buffered bytes.
func (w *fileWriter) group(ib *instBuf, mode int) (delta int, err error) {
	b := ib.buf
	before := b.bytes
	defer func() { delta = b.bytes - before }()
	for b.rows > 0 {
		src := b
		if !b.sorted {
			if w.sorted == nil {
				w.sorted = newRowBuf(w.tp.t)
			}
			w.keys, w.perm = b.sortPerm(w.keys, w.perm)
			src = w.sorted
			src.reset()
			src.appendRows(b, w.perm, 0, 0)
		}
		cut := src.rows
		switch mode {
		case groupEarly:
			if cut, w.sufMin = groupCut(src, src.rows/2, src.rows/4, w.sufMin); cut == 0 {
				cut = src.rows
			}
		case groupNormal:
			cut, w.sufMin = groupCut(src, w.target, w.target/4, w.sufMin)
			if cut == 0 && src.rows < 2*w.target {
				if src != b { // keep the rows sorted, so the next look needs no sort unless more come late
					ib.buf, w.sorted = src, b
					b = src
				}
				ib.retry = b.rows + max(w.target/8, 1)
				return
			}
			if cut == 0 {
				cut = src.rows
			}
		}
		if err = w.writeGroup(src, 0, cut); err != nil {
			return
		}
		ib.grouped = true
		if src != b { // the sorted copy becomes the instrument's buffer (no copying the rows left back)
			ib.buf, w.sorted = src, b
			b = src
		}
		b.dropFront(cut)
		b.sorted = true
		ib.retry = 0
		if mode == groupEarly || mode == groupNormal && b.rows < w.target+w.target/4 {
			return
		}
	}
	return
}

// writeGroup writes rows lo..hi-1 of b as a row group of the open file, creating the file first.
func (w *fileWriter) writeGroup(b *rowBuf, lo, hi int) error {
	if w.pw == nil {
		pw, err := openPart(w.tp, w.tmp)
		if err != nil {
			return err
		}
		w.pw = pw
	}
	return w.pw.writeGroup(b, lo, hi, &w.scratch)
}

// largest returns the instrument buffer holding the most bytes (nil when all are empty).
func (w *fileWriter) largest() *instBuf {
	var big *instBuf
	for _, ib := range w.insts {
		if ib.buf.rows > 0 && (big == nil || ib.buf.bytes > big.buf.bytes) {
			big = ib
		}
	}
	return big
}

// flushLargest writes the largest instrument buffer whole as a row group (the sink is over its budget) and
// returns the change of buffered bytes. With release set the buffer's memory is dropped too.
func (w *fileWriter) flushLargest(release bool) (int, error) {
	ib := w.largest()
	if ib == nil {
		return 0, nil
	}
	d, err := w.group(ib, groupEarly)
	w.buffered += d
	if err == nil && release { // keep the rows left in a buffer of their size
		nb := newRowBuf(w.tp.t)
		nb.appendRows(ib.buf, nil, 0, ib.buf.rows)
		nb.sorted = true
		// The copy's dictionary holds only the values its rows use: count the difference.
		moved := nb.bytes - ib.buf.bytes
		d += moved
		w.buffered += moved
		ib.buf = nb
	}
	return d, err
}

// capBytes returns the memory of the instrument buffers.
func (w *fileWriter) capBytes() int {
	n := 0
	for _, ib := range w.insts {
		n += ib.buf.capBytes()
	}
	return n
}

// finish writes every buffered row (instruments with row groups of their own get their last ones, the
// others are packed in name order into shared row groups), then the footer, and renames the file to final.
// renamed reports whether it is there; on error before that the file is aborted and its rows are gone.
func (w *fileWriter) finish(final string) (renamed bool, err error) {
	defer w.close()
	ids := make([]string, 0, len(w.insts))
	for id, ib := range w.insts {
		if ib.buf.rows > 0 {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	small := ids[:0:0]
	for _, id := range ids {
		ib := w.insts[id]
		if !ib.grouped && ib.buf.rows < w.ownGroupMin() {
			small = append(small, id)
			continue
		}
		for ib.buf.rows >= w.target+w.target/4 {
			rows := ib.buf.rows
			if _, err := w.group(ib, groupNormal); err != nil {
				return false, w.abort(err)
			}
			if ib.buf.rows == rows {
				break
			}
		}
		if _, err := w.group(ib, groupAll); err != nil {
			return false, w.abort(err)
		}
	}
	if err := w.pack(small); err != nil {
		return false, w.abort(err)
	}
	if w.pw == nil {
		return false, nil // every row was rejected
	}
	renamed, err = w.pw.finish(final)
	w.pw = nil
	return renamed, err
}

// ownGroupMin is the fewest rows of an instrument in a file that get row groups of their own (with slices):
// half a row group, or two slices when that is fewer, so replay streams an instrument's rows slice by slice
// instead of loading a shared row group whole (a packed row group holds several instruments and is read as one
// part).
func (w *fileWriter) ownGroupMin() int { return min((w.target+1)/2, 2*SliceRows) }

// pack writes the small instruments' rows in shared row groups of at least target rows (the last may be
// smaller); an instrument never spans two.
func (w *fileWriter) pack(ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if w.packed == nil {
		w.packed = newRowBuf(w.tp.t)
	}
	p := w.packed
	p.reset()
	for i, id := range ids {
		b := w.insts[id].buf
		var perm []int32
		if !b.sorted {
			w.keys, w.perm = b.sortPerm(w.keys, w.perm)
			perm = w.perm
		}
		p.appendRows(b, perm, 0, b.rows)
		if p.rows >= w.target || i == len(ids)-1 {
			if err := w.writeGroup(p, 0, p.rows); err != nil {
				return err
			}
			p.reset()
		}
	}
	return nil
}

// close ends the open file's state: buffers are emptied (kept for the next file unless their instrument
// had no rows in this one).
func (w *fileWriter) close() {
	for id, ib := range w.insts {
		if !ib.used {
			delete(w.insts, id)
			continue
		}
		ib.buf.reset()
		ib.grouped, ib.used, ib.retry = false, false, 0
	}
	w.last = nil
	w.buffered = 0
	w.active = false
	if w.packed != nil {
		w.packed.reset()
	}
	if w.sorted != nil {
		w.sorted.reset()
	}
}

// abort drops the open file: its temporary file is removed and its rows are gone (the caller has them
// redelivered). It returns err annotated.
func (w *fileWriter) abort(err error) error {
	if w.pw != nil {
		err = errors.Join(err, w.pw.abort())
		w.pw = nil
	}
	w.close()
	return fmt.Errorf("%s: %w", w.tp.t.Name, err)
}
