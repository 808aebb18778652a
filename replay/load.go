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
	ents []entry
	idx  []int32
}

// dataset is the per-table state: the matcher, each stream's running maximum ts, and reusable parts.
type dataset struct {
	t     *schema.Table
	carry map[streamID]carry // merge goroutine only
	m     matcher
	mu    sync.Mutex
	free  []*loaded
}

func (d *dataset) get() *loaded {
	d.mu.Lock()
	defer d.mu.Unlock()
	if n := len(d.free); n > 0 {
		l := d.free[n-1]
		d.free = d.free[:n-1]
		return l
	}
	return &loaded{ds: d, slab: newSlab(d.t.Kind), gidx: map[streamID]int{}}
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
	var g *group
	var lastCh, lastInst string
	first, ok := true, false
	err := j.part.Read(s.ctx, func(e schema.Stored) error {
		h := e.Hdr()
		if !d.m.ts(h.Ts) {
			return nil
		}
		if first || h.Channel != lastCh || h.InstID != lastInst {
			first, lastCh, lastInst = false, h.Channel, h.InstID
			if ok = d.m.stream(lastCh, lastInst); ok {
				g = l.group(streamID{lastCh, lastInst})
			}
		}
		if !ok {
			return nil
		}
		if own := j.part.OwnTo; own != 0 && h.Ts >= own {
			g.idx = append(g.idx, -1) // context: counts for the keys only
			g.ents = append(g.ents, entry{ts: h.Ts, seq: h.Seq})
			return nil
		}
		g.idx = append(g.idx, int32(l.slab.len()))
		g.ents = append(g.ents, entry{ts: h.Ts, seq: h.Seq})
		l.slab.add(e)
		return nil
	})
	if err != nil {
		d.put(l)
		return nil, fmt.Errorf("replay: reading %s: %w", j.part.Name, err)
	}
	if l.slab.len() == 0 {
		d.put(l)
		return nil, nil
	}
	for i := range l.groups[:l.ng] {
		l.groups[i].keys(l.slab)
	}
	return l, nil
}

// reset empties a reused loaded part for a part of about rows rows.
func (l *loaded) reset(rows int64) {
	l.slab.reset()
	if rows > 0 {
		l.slab.grow(int(min(rows, 1<<22)))
	}
	for i := range l.groups[:l.ng] {
		g := &l.groups[i]
		clear(g.ents)
		g.ents, g.idx = g.ents[:0], g.idx[:0]
	}
	l.ng = 0
	clear(l.gidx)
}

// keys links a read group's entries to their rows in sl, puts them in arrival (seq) order when the file
// order differed, sets each merge key to the running maximum ts, and drops the context rows.
func (g *group) keys(sl slab) {
	sorted, context := true, false
	for k, ix := range g.idx {
		if ix >= 0 {
			g.ents[k].ev = sl.at(int(ix))
		} else {
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
	i, ok := l.gidx[id]
	if !ok {
		if l.ng == len(l.groups) {
			l.groups = append(l.groups, group{})
		}
		i = l.ng
		l.ng++
		l.groups[i].id = id
		l.gidx[id] = i
	}
	return &l.groups[i]
}
