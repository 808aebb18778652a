package replay

import (
	"cmp"
	"fmt"
	"slices"
	"sync"

	"github.com/okxtape/okxtape/schema"
)

// Loading parts: worker goroutines read the parts of every dataset ahead of the merge (merge.go), each into a
// reusable loaded part whose rows are grouped by stream with their merge keys.

// job is one part to read; done is closed when l or err is set.
type job struct {
	d       *dataset
	part    *Part
	trigger int64
	done    chan struct{}
	l       *loaded
	err     error
}

// loaded is a part in memory: its rows, their entries grouped by stream, and the streams' cursors.
type loaded struct {
	ds     *dataset
	slab   slab
	groups []group // groups[:ng] are in use
	ng     int
	gidx   map[streamID]int
	curs   []cursor
	live   int
}

type group struct {
	id   streamID
	ents []entry // ev nil: a context row
}

// dataset is the per-table state: the matcher, each stream's running maximum ts, and reusable parts.
type dataset struct {
	t     *schema.Table
	carry map[streamID]carry // merge goroutine only
	m     matcher
	mu    sync.Mutex
	free  []*loaded
}

// spareParts keeps the loaded parts of closed streams, by kind, for the next stream: a process that replays
// many times (serve's clients, benchmarks) then does not grow slabs and groups again for each.
var spareParts [schema.NumKinds]sync.Pool

func (d *dataset) get() *loaded {
	d.mu.Lock()
	defer d.mu.Unlock()
	if n := len(d.free); n > 0 {
		l := d.free[n-1]
		d.free = d.free[:n-1]
		return l
	}
	if v := spareParts[d.t.Kind].Get(); v != nil {
		l := v.(*loaded)
		l.ds = d
		return l
	}
	return &loaded{ds: d, slab: newSlab(d.t.Kind), gidx: map[streamID]int{}}
}

// spare hands the dataset's free parts to the next stream (Stream.Close, once no worker runs).
func (d *dataset) spare() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, l := range d.free {
		l.ds = nil
		spareParts[d.t.Kind].Put(l)
	}
	clear(d.free)
	d.free = d.free[:0]
}

func (d *dataset) put(l *loaded) {
	d.mu.Lock()
	d.free = append(d.free, l)
	d.mu.Unlock()
}

// worker reads jobs in load order, at most ReadAhead of them ahead of the merge.
func (s *Stream) worker() {
	defer s.wg.Done()
	for {
		select {
		case s.sem <- struct{}{}:
		case <-s.ctx.Done():
			return
		}
		k := int(s.started.Add(1) - 1)
		if k >= len(s.jobs) {
			<-s.sem
			return
		}
		j := s.jobs[k]
		j.l, j.err = s.read(j)
		close(j.done)
	}
}

// read loads a part: selected rows into the slab, grouped by stream in arrival order, each with its stream's
// running maximum ts within the part (install applies the maximum carried from earlier parts).
func (s *Stream) read(j *job) (*loaded, error) {
	d := j.d
	l := d.get()
	l.reset(j.part.Rows)
	ld := loader{l: l, m: &d.m, ownTo: j.part.OwnTo, first: true}
	var err error
	if j.part.ReadTo != nil {
		err = j.part.ReadTo(s.ctx, &ld)
	} else {
		err = j.part.Read(s.ctx, ld.add)
	}
	if err != nil {
		d.put(l)
		return nil, fmt.Errorf("replay: reading %s: %w", j.part.Name, err)
	}
	if l.slab.len() == 0 {
		d.put(l)
		return nil, nil
	}
	for i := range l.groups[:l.ng] {
		l.groups[i].keys()
	}
	return l, nil
}

// loader takes a part's rows into a loaded part: as a RowSink (rows decoded into slab slots) or through add
// (rows copied in).
type loader struct {
	l               *loaded
	m               *matcher
	ownTo           int64
	g               *group
	lastCh, lastIns string
	first, ok       bool
}

func (ld *loader) Slot() schema.Stored { return ld.l.slab.slot() }

func (ld *loader) Row(e schema.Stored) error {
	if g, h := ld.take(e); g != nil {
		ld.l.slab.commit() // e is now a row of the slab
		g.ents = append(g.ents, entry{ts: h.Ts, seq: h.Seq, ev: e})
	}
	return nil
}

func (ld *loader) add(e schema.Stored) error {
	if g, h := ld.take(e); g != nil {
		g.ents = append(g.ents, entry{ts: h.Ts, seq: h.Seq, ev: ld.l.slab.add(e)})
	}
	return nil
}

// take returns the group of row e and its header when e goes into the slab (the caller then adds its
// entry), else nil: for rows outside the selection, and for context rows, whose entry (without an event)
// it adds itself. A row's entry points at its slab row: a slab that grows keeps its earlier rows where they
// were (see slab).
func (ld *loader) take(e schema.Stored) (*group, *schema.Header) {
	h := e.Hdr()
	if !ld.m.ts(h.Ts) {
		return nil, nil
	}
	if ld.first || h.Channel != ld.lastCh || h.InstID != ld.lastIns {
		ld.first, ld.lastCh, ld.lastIns = false, h.Channel, h.InstID
		if ld.ok = ld.m.stream(h.Channel, h.InstID); ld.ok {
			ld.g = ld.l.group(streamID{h.Channel, h.InstID})
		}
	}
	if !ld.ok {
		return nil, nil
	}
	g := ld.g
	if ld.ownTo != 0 && h.Ts >= ld.ownTo {
		g.ents = append(g.ents, entry{ts: h.Ts, seq: h.Seq}) // context: counts for the keys only
		return nil, nil
	}
	return g, h
}

// reset empties a reused loaded part for a part of about rows rows.
func (l *loaded) reset(rows int64) {
	l.slab.reset()
	if rows > 0 {
		l.slab.grow(int(min(rows, 1<<22)))
	}
	for i := range l.groups[:l.ng] {
		g := &l.groups[i]
		// Not cleared: the entries' events are the slab's own rows (or, for kinds without a slab, events
		// that the next part's entries replace).
		g.ents = g.ents[:0]
	}
	l.ng = 0
	clear(l.gidx)
}

// keys puts a read group's entries in arrival (seq) order when the file order differed, sets each merge key
// to the running maximum ts, and drops the context rows.
func (g *group) keys() {
	sorted, context := true, false
	for k := range g.ents {
		if g.ents[k].ev == nil {
			context = true
		}
		if k > 0 && g.ents[k].seq < g.ents[k-1].seq {
			sorted = false
		}
	}
	if !sorted { // the stream's ts went backwards: the file order (by ts) is not its arrival order
		slices.SortFunc(g.ents, func(a, b entry) int { return cmp.Compare(a.seq, b.seq) })
	}
	run := int64(minTs)
	for k := range g.ents {
		if g.ents[k].ts < run {
			g.ents[k].ts = run
		} else {
			run = g.ents[k].ts
		}
	}
	if context {
		g.ents = slices.DeleteFunc(g.ents, func(e entry) bool { return e.ev == nil })
	}
}

func (l *loaded) group(id streamID) *group {
	if l.ng <= 8 { // a part holds a few streams: a scan costs less than hashing two strings
		for i := range l.groups[:l.ng] {
			if l.groups[i].id == id {
				return &l.groups[i]
			}
		}
	} else if i, ok := l.gidx[id]; ok {
		return &l.groups[i]
	}
	if l.ng == len(l.groups) {
		l.groups = append(l.groups, group{})
	}
	i := l.ng
	l.ng++
	l.groups[i].id = id
	l.gidx[id] = i
	return &l.groups[i]
}
