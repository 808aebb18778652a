package parquet

import (
	"cmp"
	"math"
	"reflect"
	"slices"
	"sync"
	"unsafe"

	"github.com/okxtape/okxtape/schema"
)

// A fill plan copies a decoded row straight into the fields of an event, column by column, instead of
// calling the event's ReadRow through the schema.RowReader interface (a dynamic call and a type check per
// value). The plan is derived once per table from the table's own ReadRow: it is run on a probe reader that
// returns a distinct sentinel for every column, each sentinel is looked up in the event's memory, and the
// plan is kept only if replaying it on a zero event gives byte for byte what ReadRow gave. A ReadRow that
// does more than store each value in one field (converts, combines, reads Bool or raw lists) gets no plan
// and its rows go through ReadRow as before.

type fillKind uint8

const (
	fillInt fillKind = iota + 1
	fillFloat
	fillString
	fillLevels // a book side: three list columns through batchRows.Levels
)

type fillStep struct {
	col  int     // first column
	off  uintptr // field offset in the event struct
	kind fillKind
}

type fillPlan struct {
	typ   reflect.Type // the event's pointer type
	steps []fillStep   // the word steps (ints, floats), then the strings, then the levels
	words int          // steps[:words] are word steps
	strs  int          // steps[words:strs] are string steps
}

var fillPlans sync.Map // *schema.Table -> *fillPlan (nil: none)

// planFor returns the fill plan of table t for decoders cols, or nil when rows must go through ReadRow.
func planFor(t *schema.Table, cols []colDec) *fillPlan {
	v, ok := fillPlans.Load(t)
	if !ok {
		v, _ = fillPlans.LoadOrStore(t, buildPlan(t))
	}
	p := v.(*fillPlan)
	if p == nil {
		return nil
	}
	for _, s := range p.steps { // the columns must decode to what the steps copy (else ReadRow reports it)
		want := map[fillKind]colKind{fillInt: ckInt, fillFloat: ckFloat, fillString: ckString}[s.kind]
		switch {
		case s.kind == fillLevels:
			if s.col+2 >= len(cols) || cols[s.col].kind.yields() != ckFloatList ||
				cols[s.col+1].kind.yields() != ckFloatList || cols[s.col+2].kind.yields() != ckIntList {
				return nil
			}
		case s.col >= len(cols) || cols[s.col].kind.yields() != want:
			return nil
		}
	}
	return p
}

// columns returns, for a decoded batch of n > 0 rows, where each step's column values start (nil for
// levels), into cols[:0]: fill then indexes them without slice headers and bounds checks.
func (p *fillPlan) columns(rd *batchRows, n int, cols []unsafe.Pointer) []unsafe.Pointer {
	cols = cols[:0]
	for _, s := range p.steps {
		c := &rd.cols[s.col]
		var at unsafe.Pointer
		switch s.kind {
		case fillInt:
			at = unsafe.Pointer(unsafe.SliceData(c.ints[:n]))
		case fillFloat:
			at = unsafe.Pointer(unsafe.SliceData(c.floats[:n]))
		case fillString:
			at = unsafe.Pointer(unsafe.SliceData(c.strs[:n]))
		}
		cols = append(cols, at)
	}
	return cols
}

// fill reads row rd.row into the event e (of the plan's type); cols are columns' result for the batch
// (rd.row is below its n).
func (p *fillPlan) fill(e schema.Stored, rd *batchRows, cols []unsafe.Pointer) {
	base := reflect.ValueOf(e).UnsafePointer()
	row := rd.row
	steps := p.steps[:len(cols)] // as many as cols (columns)
	i := 0
	for ; i < p.words; i++ { // 8-byte words: no switch per value
		*(*uint64)(unsafe.Add(base, steps[i].off)) = *(*uint64)(unsafe.Add(cols[i], 8*row))
	}
	for ; i < p.strs; i++ {
		*(*string)(unsafe.Add(base, steps[i].off)) = *(*string)(unsafe.Add(cols[i], unsafe.Sizeof("")*uintptr(row)))
	}
	for ; i < len(steps); i++ {
		l := (*[]schema.Level)(unsafe.Add(base, steps[i].off))
		c := steps[i].col
		*l = levelsOf(&rd.cols[c], &rd.cols[c+1], &rd.cols[c+2], row, *l)
	}
}

// probeRows is the schema.RowReader buildPlan runs ReadRow on: a distinct sentinel per column.
type probeRows struct {
	col    int
	calls  []probeCall
	failed bool
}

type probeCall struct {
	col  int
	kind fillKind
	bits uint64         // ints and floats
	str  string         // strings
	lvls []schema.Level // levels
}

func (p *probeRows) sentinel() uint64 { return 0x4C5A_0000_0000_0D17 | uint64(p.col+1)<<20 }

func (p *probeRows) Int64() int64 {
	b := p.sentinel()
	p.calls = append(p.calls, probeCall{col: p.col, kind: fillInt, bits: b})
	p.col++
	return int64(b)
}

func (p *probeRows) Float64() float64 {
	b := p.sentinel() // a finite double
	p.calls = append(p.calls, probeCall{col: p.col, kind: fillFloat, bits: b})
	p.col++
	return math.Float64frombits(b)
}

func (p *probeRows) String() string {
	s := string([]byte("okxtape probe column " + string(rune('A'+p.col%26)) + string(rune('a'+p.col/26))))
	p.calls = append(p.calls, probeCall{col: p.col, kind: fillString, str: s})
	p.col++
	return s
}

func (p *probeRows) Levels(dst []schema.Level) []schema.Level {
	l := make([]schema.Level, 1, 2)
	p.calls = append(p.calls, probeCall{col: p.col, kind: fillLevels, lvls: l})
	p.col += 3
	return l
}

func (p *probeRows) Bool() bool                       { p.failed = true; p.col++; return false }
func (p *probeRows) Float64s(dst []float64) []float64 { p.failed = true; p.col++; return dst[:0] }
func (p *probeRows) Int64s(dst []int64) []int64       { p.failed = true; p.col++; return dst[:0] }

// buildPlan derives t's fill plan (see above), or nil.
func buildPlan(t *schema.Table) *fillPlan {
	ev := t.New()
	v := reflect.ValueOf(ev)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	probe := &probeRows{}
	ev.ReadRow(probe)
	if probe.failed || probe.col != len(t.Columns) {
		return nil
	}
	size := v.Elem().Type().Size()
	words := unsafe.Slice((*uint64)(v.UnsafePointer()), size/8)
	p := &fillPlan{typ: v.Type()}
	for _, c := range probe.calls {
		var a, b uint64 // the words to find: a value, or a pointer and a length
		switch c.kind {
		case fillInt, fillFloat:
			a = c.bits
		case fillString:
			a, b = uint64(uintptr(unsafe.Pointer(unsafe.StringData(c.str)))), uint64(len(c.str))
		case fillLevels:
			a, b = uint64(uintptr(unsafe.Pointer(unsafe.SliceData(c.lvls)))), 1
		}
		found := -1
		for i, w := range words {
			if w == a && (b == 0 || i+1 < len(words) && words[i+1] == b) {
				if found >= 0 {
					return nil // ambiguous
				}
				found = i
			}
		}
		if found < 0 {
			return nil
		}
		p.steps = append(p.steps, fillStep{col: c.col, off: uintptr(found) * 8, kind: c.kind})
	}
	// Replay the plan with the probe's values on a zero event: it must give ReadRow's event exactly.
	again := t.New()
	base := reflect.ValueOf(again).UnsafePointer()
	for i, s := range p.steps {
		c, at := probe.calls[i], unsafe.Add(base, s.off)
		switch s.kind {
		case fillInt, fillFloat:
			*(*uint64)(at) = c.bits
		case fillString:
			*(*string)(at) = c.str
		case fillLevels:
			*(*[]schema.Level)(at) = c.lvls
		}
	}
	if !reflect.DeepEqual(ev, again) {
		return nil
	}
	// fill runs the steps grouped by kind (each writes its own field, so the order does not matter).
	class := func(s fillStep) int {
		switch s.kind {
		case fillInt, fillFloat:
			return 0
		case fillString:
			return 1
		}
		return 2
	}
	slices.SortStableFunc(p.steps, func(a, b fillStep) int { return cmp.Compare(class(a), class(b)) })
	for _, s := range p.steps {
		switch s.kind {
		case fillInt, fillFloat:
			p.words++
			p.strs++
		case fillString:
			p.strs++
		}
	}
	return p
}
