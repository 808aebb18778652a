package replay

import (
	"cmp"
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/schema/channels"
	"github.com/okxtape/okxtape/store"
)

// StreamOptions tune reading. The zero value takes the defaults in brackets.
type StreamOptions struct {
	// Workers read parts ahead concurrently [GOMAXPROCS, at most 4].
	Workers int
	// ReadAhead bounds the parts read but not yet merged, over all datasets [Workers].
	ReadAhead int
}

// Stream is the merged, ordered replay stream over several datasets of a Source (see the package doc for the
// order and the memory bound).
//
// Use: Open, then Next until it returns nil, then Err, then Close. Parts are read ahead on worker goroutines,
// but they are merged in a fixed order, so the sequence does not depend on scheduling. A Stream is not safe
// for concurrent use. The event returned by Next belongs to the Stream and is valid until the following Next
// call; a consumer that keeps it copies it (schema.Clone).
type Stream struct {
	ctx      context.Context
	cancel   context.CancelFunc
	o        StreamOptions
	jobs     []*job // every part of every dataset, in load order
	nextJob  int    // next job to merge
	started  atomic.Int64
	sem      chan struct{}
	wg       sync.WaitGroup
	running  bool
	t        tournament
	nextLoad int64 // load trigger of jobs[nextJob]
	counts   map[string]*uint64
	retired  []*loaded
	err      error
	events   uint64
	firstTs  int64 // smallest possible ts from part bounds and the selection
	lastTs   int64 // largest possible ts
}

// item is a tournament entry: a stream cursor with its head key inlined for cache-friendly comparisons.
type item struct {
	ts   int64
	seq  uint64
	kind schema.Kind
	c    *cursor
}

func less(a, b *item) bool {
	if a.ts != b.ts {
		return a.ts < b.ts
	}
	if a.seq != b.seq {
		return a.seq < b.seq
	}
	return a.kind < b.kind
}

// entry is one row of a loaded part with its merge key ts (the running maximum of its stream).
type entry struct {
	ts  int64
	seq uint64
	ev  schema.Stored
}

// cursor walks one stream (channel, inst) of one loaded part in arrival order.
type cursor struct {
	ents  []entry
	pos   int
	count *uint64
	part  *loaded
}

type streamID struct{ channel, inst string }

// carry is a stream's merge key after its last merged row: it applies to later-arriving rows (seq > seq).
type carry struct {
	ts  int64
	seq uint64
}

// Open lists the parts of each table in tables and returns the merged stream of their rows selected by q,
// with default StreamOptions. Nothing is read until the first Next (or Peek).
func Open(ctx context.Context, src Source, q store.Query, tables []*schema.Table) (*Stream, error) {
	return OpenWith(ctx, src, q, tables, StreamOptions{})
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, src Source, q store.Query, tables []*schema.Table, o StreamOptions) (*Stream, error) {
	if o.Workers <= 0 {
		o.Workers = min(runtime.GOMAXPROCS(0), 4)
	}
	if o.ReadAhead <= 0 {
		o.ReadAhead = o.Workers
	}
	s := &Stream{o: o, counts: map[string]*uint64{}, firstTs: maxTs, lastTs: minTs, sem: make(chan struct{}, o.ReadAhead)}
	from, to := q.Bounds()
	tables = slices.DeleteFunc(slices.Clone(tables), func(t *schema.Table) bool { return !tableSelected(t, q.Channels) })
	listed, err := listTables(ctx, src, q, tables)
	if err != nil {
		return nil, err
	}
	for ti, t := range tables {
		parts := slices.DeleteFunc(listed[ti], func(p Part) bool { return !p.overlaps(from, to) })
		if len(parts) == 0 {
			continue
		}
		d := &dataset{t: t, carry: map[streamID]carry{}, m: newMatcher(q, t)}
		low := int64(maxTs)
		var js []*job
		for i := len(parts) - 1; i >= 0; i-- {
			low = min(low, parts[i].MinTs)
			js = append(js, &job{d: d, part: &parts[i], trigger: low, done: make(chan struct{})})
			s.firstTs = min(s.firstTs, max(parts[i].MinTs, from))
			s.lastTs = max(s.lastTs, min(parts[i].MaxTs, to-1))
		}
		slices.Reverse(js)
		s.jobs = append(s.jobs, js...)
	}
	// Load order: by trigger; a dataset's triggers never decrease, and the stable sort keeps its parts in
	// read order. Installing jobs strictly in this order is what the merge needs, so workers run ahead in it.
	slices.SortStableFunc(s.jobs, func(a, b *job) int { return cmp.Compare(a.trigger, b.trigger) })
	s.ctx, s.cancel = context.WithCancel(ctx)
	s.nextLoad = maxTs
	if len(s.jobs) > 0 {
		s.nextLoad = s.jobs[0].trigger
	}
	return s, nil
}

// listTables returns the parts of each table, listed one table after the other, or concurrently (at most
// GOMAXPROCS at a time) when src is a ConcurrentLister that allows it. The error is the first table's.
func listTables(ctx context.Context, src Source, q store.Query, tables []*schema.Table) ([][]Part, error) {
	out := make([][]Part, len(tables))
	errs := make([]error, len(tables))
	if cl, ok := src.(ConcurrentLister); ok && cl.ConcurrentParts() && len(tables) > 1 {
		var wg sync.WaitGroup
		sem := make(chan struct{}, runtime.GOMAXPROCS(0))
		for i, t := range tables {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				out[i], errs[i] = src.Parts(ctx, t, q)
				<-sem
			}()
		}
		wg.Wait()
	} else {
		for i, t := range tables {
			if out[i], errs[i] = src.Parts(ctx, t, q); errs[i] != nil {
				break
			}
		}
	}
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("replay: listing %s: %w", tables[i].Name, err)
		}
	}
	return out, nil
}

// Close stops the read-ahead workers and waits for them. It is safe to call more than once.
func (s *Stream) Close() {
	s.cancel()
	s.wg.Wait()
	for _, l := range s.retired {
		l.ds.put(l)
	}
	s.retired = s.retired[:0]
	var last *dataset
	for _, j := range s.jobs {
		if j.part.Release != nil {
			j.part.Release()
		}
		if j.d != last { // a dataset's jobs are not contiguous after the load-order sort; spare is idempotent
			last = j.d
			j.d.spare()
		}
	}
}

// Next returns the next event in replay order, or nil at the end or on error (see Err).
func (s *Stream) Next() schema.Stored {
	ev, _ := s.NextKey()
	return ev
}

// NextKey is Next that also returns the event's merge key: the largest ts of its stream's events that
// arrived up to it (its own Header.Ts unless its stream's ts went backwards), never decreasing from event to
// event, and always the ts of an event already returned or of this one.
func (s *Stream) NextKey() (schema.Stored, int64) {
	if len(s.retired) > 0 {
		for _, l := range s.retired {
			l.ds.put(l)
		}
		clear(s.retired)
		s.retired = s.retired[:0]
	}
	top := s.t.top()
	if top == nil || top.ts >= s.nextLoad {
		if !s.fill() {
			return nil, 0
		}
		top = s.t.top()
	}
	c := top.c
	ev, key := c.ents[c.pos].ev, top.ts
	*c.count++
	c.pos++
	if c.pos < len(c.ents) {
		e := &c.ents[c.pos]
		top.ts, top.seq = e.ts, e.seq
		s.t.fixTop()
	} else {
		s.t.popTop()
		if c.part.live--; c.part.live == 0 {
			s.retired = append(s.retired, c.part) // reusable after the caller is done with ev
		}
	}
	s.events++
	return ev, key
}

// Peek returns the merge key ts of the next event without consuming it; ok is false at the end.
func (s *Stream) Peek() (ts int64, ok bool) {
	if top := s.t.top(); top == nil || top.ts >= s.nextLoad {
		if !s.fill() {
			return 0, false
		}
	}
	return s.t.top().ts, true
}

// Err returns the first error met while reading.
func (s *Stream) Err() error { return s.err }

// Events returns how many events Next has returned.
func (s *Stream) Events() uint64 { return s.events }

// Bounds returns the time range the stream can cover in Unix ms (from part bounds clipped to the selection);
// ok is false when nothing is selected or the bounds are unknown.
func (s *Stream) Bounds() (first, last int64, ok bool) {
	return s.firstTs, s.lastTs, s.firstTs != maxTs && s.lastTs != minTs && s.firstTs != minTs && s.lastTs != maxTs
}

// PerChannel returns the number of events returned so far per channel (Header.Channel; "" for connection-wide
// gaps; the quotes derived from books under "quotes", not "books").
func (s *Stream) PerChannel() map[string]uint64 {
	out := make(map[string]uint64, len(s.counts))
	for ch, n := range s.counts {
		if *n > 0 {
			out[ch] = *n
		}
	}
	return out
}

// fill merges every part whose trigger has been reached (the next part when no cursor is left). It returns
// false when the stream is exhausted or failed.
func (s *Stream) fill() bool {
	if !s.running && len(s.jobs) > 0 {
		s.running = true
		for range min(s.o.Workers, len(s.jobs)) {
			s.wg.Add(1)
			go s.worker()
		}
	}
	for s.err == nil {
		if top := s.t.top(); top != nil && top.ts < s.nextLoad {
			return true
		}
		if s.nextJob >= len(s.jobs) {
			return s.t.n > 0
		}
		j := s.jobs[s.nextJob]
		s.nextJob++
		s.nextLoad = maxTs
		if s.nextJob < len(s.jobs) {
			s.nextLoad = s.jobs[s.nextJob].trigger
		}
		select {
		case <-j.done:
		case <-s.ctx.Done():
			s.err = s.ctx.Err()
			return false
		}
		<-s.sem
		if j.err != nil {
			s.err = j.err
			break
		}
		if j.l != nil {
			s.install(j.l)
			j.l = nil
		}
	}
	return false
}

// install applies the running maximum carried from the dataset's earlier parts and pushes one cursor per
// stream into the tournament (merge goroutine).
func (s *Stream) install(l *loaded) {
	d := l.ds
	l.curs = slices.Grow(l.curs[:0], l.ng)[:0]
	for i := range l.groups[:l.ng] {
		g := &l.groups[i]
		ents := g.ents
		if len(ents) == 0 { // only context rows
			continue
		}
		if c, ok := d.carry[g.id]; ok {
			// Rows that arrived after the carried row take its key as a floor. Keys are non-decreasing, so
			// the loop stops at the first key >= the floor. (Rows that arrived before it, possible only where
			// parts overlap in seq, keep their own keys.)
			for k := 0; k < len(ents) && ents[k].ts < c.ts; k++ {
				if ents[k].seq > c.seq {
					ents[k].ts = c.ts
				}
			}
			if last := ents[len(ents)-1]; last.seq > c.seq {
				d.carry[g.id] = carry{last.ts, last.seq}
			}
		} else {
			last := ents[len(ents)-1]
			d.carry[g.id] = carry{last.ts, last.seq}
		}
		key := g.id.channel
		if d.t.Kind == schema.KindQuote {
			key = "quotes" // derived from books, counted apart from them
		}
		cnt := s.counts[key]
		if cnt == nil {
			cnt = new(uint64)
			s.counts[key] = cnt
		}
		l.curs = append(l.curs, cursor{ents: ents, count: cnt, part: l})
	}
	for i := range l.curs {
		e := &l.curs[i].ents[0]
		s.t.add(item{ts: e.ts, seq: e.seq, kind: d.t.Kind, c: &l.curs[i]})
	}
	if len(l.curs) > 0 {
		s.t.rebuild()
	}
	l.live = len(l.curs)
	if l.live == 0 {
		s.retired = append(s.retired, l)
	}
}

// tableSelected reports whether dataset t can hold rows of one of channels (all when empty), from the
// channel registry: a dataset no selected channel writes is not opened. Gaps always can (a connection-wide
// gap matches every channel), and so can every dataset when a name is unknown to the registry.
func tableSelected(t *schema.Table, chans []string) bool {
	if len(chans) == 0 || t.Kind == schema.KindGap {
		return true
	}
	for _, name := range chans {
		e := channels.Lookup(name)
		if e == nil {
			return true
		}
		if slices.Contains(e.AllKinds(), t.Kind) {
			return true
		}
	}
	return false
}
