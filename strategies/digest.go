package strategies

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"sort"

	"github.com/okxtape/okxtape/engine"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/schema/channels"
)

// digestRoles says how each kind takes part in the parity digest, from the channel registry: the kinds
// (decoded and derived) of channels with channels.DigestHash are hashed, those of channels.DigestCount
// counted. Raw frames, session rows and connection events are local facts of one run, not market data, and
// belong to no channel; gaps are counted but not hashed (a live run can end before a final outage is closed
// and ledgered). A kind named by channels of both roles is hashed.
var digestRoles = func() (r [schema.NumKinds]channels.Digest) {
	for _, e := range channels.All() {
		for _, k := range e.AllKinds() {
			if r[k] != channels.DigestHash {
				r[k] = e.Digest
			}
		}
	}
	return r
}()

// Digest hashes the canonical encoding of every event it sees.
//
// Canonical encoding: the event's stored row (schema column order) without local columns (seq, recv_ns):
// integers as 8-byte little endian, floats as their IEEE bits, strings and lists length-prefixed.
// Events are chained per stream (kind, channel, inst_id) in dispatch order, because live dispatch
// interleaves streams by arrival while replay interleaves them by exchange time; within a stream the order
// is the same live and in replay, and it is what the digest checks. The final digest is SHA-256 over the
// streams sorted by key, each with its event count and chain hash.
type Digest struct {
	streams map[streamKey]*stream
	w       hashWriter
	counts  map[string]uint64
	gaps    uint64
	scratch [8]byte
}

const fnvOffset = 14695981039346656037

// fnv1a continues an FNV-1a 64 hash over b.
func fnv1a(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

type streamKey struct {
	kind    schema.Kind
	channel string
	inst    string
}

type stream struct {
	n     uint64
	chain uint64
}

// NewDigest returns the digest strategy.
func NewDigest() *Digest {
	return &Digest{streams: map[streamKey]*stream{}, counts: map[string]uint64{}}
}

// Attach registers the digest's handlers.
func (d *Digest) Attach(e *engine.Engine) {
	e.OnAll("digest", func(ev schema.Event) {
		k := ev.Kind()
		if k == schema.KindGap {
			d.gaps++
			return
		}
		if k >= schema.NumKinds {
			return
		}
		switch digestRoles[k] {
		case channels.DigestHash:
			if s, ok := ev.(schema.Stored); ok {
				d.Add(s)
			}
		case channels.DigestCount:
			d.counts[k.String()]++
		}
	})
}

// Add hashes one event into its stream.
func (d *Digest) Add(ev schema.Stored) {
	h := ev.Hdr()
	k := streamKey{ev.Kind(), h.Channel, h.InstID}
	s := d.streams[k]
	if s == nil {
		s = &stream{chain: fnvOffset}
		d.streams[k] = s
	}
	d.w.reset(schema.TableOf(ev.Kind()))
	ev.WriteRow(&d.w)
	s.chain = fnv1a(fnv1a(fnvOffset, binary.LittleEndian.AppendUint64(d.scratch[:0], s.chain)), d.w.buf)
	s.n++
	d.counts[ev.Kind().String()]++
}

// Sum returns the hex digest over all streams.
func (d *Digest) Sum() string {
	keys := make([]streamKey, 0, len(d.streams))
	for k := range d.streams {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.kind != b.kind {
			return a.kind < b.kind
		}
		if a.channel != b.channel {
			return a.channel < b.channel
		}
		return a.inst < b.inst
	})
	h := sha256.New()
	var b [8]byte
	for _, k := range keys {
		s := d.streams[k]
		h.Write([]byte{byte(k.kind)})
		h.Write([]byte(k.channel + "\x00" + k.inst + "\x00"))
		binary.LittleEndian.PutUint64(b[:], s.n)
		h.Write(b[:])
		binary.LittleEndian.PutUint64(b[:], s.chain)
		h.Write(b[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// DigestSummary is the digest's part of the exit summary.
type DigestSummary struct {
	Digest  string            `json:"digest"`
	Events  map[string]uint64 `json:"events"`
	Streams int               `json:"streams"`
	Gaps    uint64            `json:"gaps"`
}

// Summary returns the digest and per-kind counts.
func (d *Digest) Summary() any {
	return DigestSummary{Digest: d.Sum(), Events: d.counts, Streams: len(d.streams), Gaps: d.gaps}
}

// hashWriter is the canonical encoder: a RowWriter that skips local columns.
type hashWriter struct {
	tab *schema.Table
	i   int
	buf []byte
}

func (w *hashWriter) reset(t *schema.Table) { w.tab, w.i, w.buf = t, 0, w.buf[:0] }

func (w *hashWriter) keep() bool {
	i := w.i
	w.i++
	return i < len(w.tab.Columns) && !w.tab.Columns[i].Local
}

func (w *hashWriter) u64(v uint64) { w.buf = binary.LittleEndian.AppendUint64(w.buf, v) }

func (w *hashWriter) Int64(v int64) {
	if w.keep() {
		w.u64(uint64(v))
	}
}
func (w *hashWriter) Float64(v float64) {
	if w.keep() {
		w.u64(math.Float64bits(v))
	}
}
func (w *hashWriter) String(v string) {
	if w.keep() {
		w.u64(uint64(len(v)))
		w.buf = append(w.buf, v...)
	}
}
func (w *hashWriter) Bool(v bool) {
	if w.keep() {
		if v {
			w.buf = append(w.buf, 1)
		} else {
			w.buf = append(w.buf, 0)
		}
	}
}
func (w *hashWriter) Float64s(v []float64) {
	if w.keep() {
		w.u64(uint64(len(v)))
		for _, f := range v {
			w.u64(math.Float64bits(f))
		}
	}
}
func (w *hashWriter) Int64s(v []int64) {
	if w.keep() {
		w.u64(uint64(len(v)))
		for _, x := range v {
			w.u64(uint64(x))
		}
	}
}
