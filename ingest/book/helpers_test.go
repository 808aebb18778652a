package book

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/okxtape/okxtape/ingest/decode"
	"github.com/okxtape/okxtape/schema"
)

// lv is a level as [px, sz] strings.
type lv [2]string

// msg builds a book message and its raw strings.
func msg(channel, action string, prev, seq, ts int64, bids, asks []lv) (*schema.Book, *decode.BookRaw) {
	b := &schema.Book{Header: schema.Header{Channel: channel, InstID: "BTC-USDT", Ts: ts}, Action: action,
		SeqID: seq, PrevSeqID: prev}
	raw := &decode.BookRaw{}
	b.Bids, raw.Bids = levels(bids)
	b.Asks, raw.Asks = levels(asks)
	return b, raw
}

func levels(in []lv) ([]schema.Level, []decode.RawLevel) {
	out := make([]schema.Level, 0, len(in))
	raw := make([]decode.RawLevel, 0, len(in))
	for _, l := range in {
		px, err1 := strconv.ParseFloat(l[0], 64)
		sz, err2 := strconv.ParseFloat(l[1], 64)
		if err1 != nil || err2 != nil {
			panic(fmt.Sprint("bad level ", l))
		}
		out = append(out, schema.Level{Px: px, Sz: sz, Orders: 1})
		raw = append(raw, decode.RawLevel{Px: []byte(l[0]), Sz: []byte(l[1])})
	}
	return out, raw
}

func rawOf(b *Book) *decode.BookRaw {
	r := &decode.BookRaw{}
	for _, l := range b.Bids() {
		px, sz := b.Raw(l)
		r.Bids = append(r.Bids, decode.RawLevel{Px: px, Sz: sz})
	}
	for _, l := range b.Asks() {
		px, sz := b.Raw(l)
		r.Asks = append(r.Asks, decode.RawLevel{Px: px, Sz: sz})
	}
	return r
}

// fakeClock queues AfterFunc callbacks; tests run them explicitly.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	d       time.Duration
	f       func()
	stopped bool
}

func newClock() *fakeClock { return &fakeClock{now: time.UnixMilli(1_700_000_000_000)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{d: d, f: f}
	c.timers = append(c.timers, t)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !t.stopped
		t.stopped = true
		return was
	}
}

// pending returns the delays of timers not yet run or stopped.
func (c *fakeClock) pending() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []time.Duration
	for _, t := range c.timers {
		if !t.stopped {
			out = append(out, t.d)
		}
	}
	return out
}

// runNext runs the oldest live timer; false if none.
func (c *fakeClock) runNext() bool {
	c.mu.Lock()
	var t *fakeTimer
	for _, x := range c.timers {
		if !x.stopped {
			t = x
			break
		}
	}
	if t != nil {
		t.stopped = true
	}
	c.mu.Unlock()
	if t == nil {
		return false
	}
	t.f()
	return true
}

// fakeResync records resubscribes and serves queued REST snapshots.
type fakeResync struct {
	mu       sync.Mutex
	resubs   []string
	resubErr error
	snaps    []func() (*schema.Book, *decode.BookRaw, error)
	fetches  int
}

func (r *fakeResync) Resubscribe(channel, instID string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.resubs = append(r.resubs, channel+"/"+instID)
	return r.resubErr
}

func (r *fakeResync) Snapshot(ctx context.Context, instID string) (*schema.Book, *decode.BookRaw, error) {
	r.mu.Lock()
	r.fetches++
	if len(r.snaps) == 0 {
		r.mu.Unlock()
		return nil, nil, errors.New("no snapshot queued")
	}
	f := r.snaps[0]
	r.snaps = r.snaps[1:]
	r.mu.Unlock()
	return f()
}

func (r *fakeResync) queue(b *schema.Book, raw *decode.BookRaw) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.snaps = append(r.snaps, func() (*schema.Book, *decode.BookRaw, error) { return b, raw, nil })
}

func (r *fakeResync) resubCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.resubs)
}

// sink records emitted events (quotes copied: the manager reuses them).
type sink struct {
	mu     sync.Mutex
	events []schema.Event
}

func (s *sink) emit(ev schema.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q, ok := ev.(*schema.Quote); ok {
		c := *q
		ev = &c
	}
	s.events = append(s.events, ev)
}

func (s *sink) take() []schema.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.events
	s.events = nil
	return out
}

func gapsOf(evs []schema.Event) []*schema.Gap {
	var out []*schema.Gap
	for _, e := range evs {
		if g, ok := e.(*schema.Gap); ok {
			out = append(out, g)
		}
	}
	return out
}

// kinds summarises events: "B:seq" for books, "Q" for quotes, "G:reason" for gaps.
func kinds(evs []schema.Event) []string {
	var out []string
	for _, e := range evs {
		switch v := e.(type) {
		case *schema.Book:
			out = append(out, fmt.Sprintf("B:%d", v.SeqID))
		case *schema.Quote:
			out = append(out, "Q")
		case *schema.Gap:
			out = append(out, "G:"+v.Reason)
		}
	}
	return out
}

type harness struct {
	m   *Manager
	clk *fakeClock
	rs  *fakeResync
	out *sink
}

func newHarness(t testing.TB, mod func(*Options)) *harness {
	h := &harness{clk: newClock(), rs: &fakeResync{}, out: &sink{}}
	o := Options{Emit: h.out.emit, Resync: h.rs, Conn: "public#0", Now: h.clk.Now, AfterFunc: h.clk.AfterFunc,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if mod != nil {
		mod(&o)
	}
	h.m = NewManager(o)
	t.Cleanup(h.m.Close)
	return h
}

// frame is a test-only parser for OKX book push frames (the real decoder lives in ingest/decode).
type frame struct {
	Arg struct {
		Channel string `json:"channel"`
		InstID  string `json:"instId"`
	} `json:"arg"`
	Action string `json:"action"`
	Data   []struct {
		Asks      [][]string `json:"asks"`
		Bids      [][]string `json:"bids"`
		Ts        string     `json:"ts"`
		Checksum  int64      `json:"checksum"`
		PrevSeqID *int64     `json:"prevSeqId"`
		SeqID     int64      `json:"seqId"`
	} `json:"data"`
}

func parseBookFrame(text []byte) (*schema.Book, *decode.BookRaw, error) {
	var f frame
	if err := json.Unmarshal(text, &f); err != nil {
		return nil, nil, err
	}
	if len(f.Data) != 1 {
		return nil, nil, fmt.Errorf("%d data entries", len(f.Data))
	}
	d := f.Data[0]
	ts, err := strconv.ParseInt(d.Ts, 10, 64)
	if err != nil {
		return nil, nil, err
	}
	b := &schema.Book{Header: schema.Header{Channel: f.Arg.Channel, InstID: f.Arg.InstID, Ts: ts},
		Action: f.Action, SeqID: d.SeqID, Checksum: d.Checksum}
	if d.PrevSeqID != nil {
		b.PrevSeqID = *d.PrevSeqID
	}
	raw := &decode.BookRaw{}
	if b.Bids, raw.Bids, err = parseLevels(d.Bids); err != nil {
		return nil, nil, err
	}
	if b.Asks, raw.Asks, err = parseLevels(d.Asks); err != nil {
		return nil, nil, err
	}
	return b, raw, nil
}

func parseLevels(in [][]string) ([]schema.Level, []decode.RawLevel, error) {
	out := make([]schema.Level, 0, len(in))
	raw := make([]decode.RawLevel, 0, len(in))
	for _, l := range in {
		if len(l) < 4 {
			return nil, nil, fmt.Errorf("level %v: want 4 fields", l)
		}
		px, err := strconv.ParseFloat(l[0], 64)
		if err != nil {
			return nil, nil, err
		}
		sz, err := strconv.ParseFloat(l[1], 64)
		if err != nil {
			return nil, nil, err
		}
		n, err := strconv.ParseInt(l[3], 10, 64)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, schema.Level{Px: px, Sz: sz, Orders: n})
		raw = append(raw, decode.RawLevel{Px: []byte(l[0]), Sz: []byte(l[1])})
	}
	return out, raw, nil
}

func isNaN(f float64) bool { return math.IsNaN(f) }
