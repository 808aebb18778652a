package replay

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/okxtape/okxtape/ingest/book"
	"github.com/okxtape/okxtape/ingest/decode"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/schema/channels"
)

// The tape is replay serve's shared reader. A chain is one merged read of the selected range, cut into
// chunks of consecutive events that are prepared once (frames rendered or copied, depth levels parsed, book
// state checkpointed) and then read by every connection playing that chain, each at its own pace. Chunks
// are linked forward only and nothing holds a chain's first chunk once it stops accepting connections, so
// the garbage collector frees a chunk when the slowest connection has moved past it: N connections that
// start close together cost one read and the chunks between the slowest and the fastest of them.

// chunkEvents is the number of events per chunk.
const chunkEvents = 4096

// tapeEvent is one event of the tape, prepared for every connection.
type tapeEvent struct {
	ts       int64 // pacing time (exchange ts, ms)
	id       streamID
	endpoint string
	instType string // for instType/instFamily selectors
	frame    []byte // the push to send (as stored, or re-rendered); nil: nothing to send
	depth    *tapeDepth
}

// tapeDepth is an incremental-book event: what a joining connection applies to rebuild the book.
type tapeDepth struct {
	snapshot   bool
	seq        int64 // seqId as sent in frame
	bids, asks []schema.Level
	raw        *decode.BookRaw // the strings as sent (aliasing frame); nil in render mode (formatted floats)
}

// checkpoint is an incremental book as it stood at the start of a chunk (immutable, shared between chunks
// while the book does not change).
type checkpoint struct {
	bids, asks []schema.Level
	raw        decode.BookRaw
	seq, ts    int64
}

// chunk is a run of consecutive tape events and the incremental books' state before its first event.
type chunk struct {
	idx   int64 // position in its chain (0 first); chunking is deterministic, so equal across chains
	evs   []tapeEvent
	books map[streamID]*checkpoint
	next  atomic.Pointer[chunk]
	end   bool // the last chunk of its chain (set before publication)
	chain *chain
}

// chain owns one merged read; producing the next chunk is serialised by mu and done by whichever
// connection needs it first.
type chain struct {
	s       *Server
	cancel  context.CancelFunc
	mu      sync.Mutex
	st      *Stream
	err     error
	errOnce sync.Once
	tracks  map[streamID]*depthTrack
	dec     *decode.Decoder
	env     decode.Envelope
	chunks  atomic.Int64 // produced so far
	refs    int          // connections playing (guarded by Server.tmu)
	arena   []byte
	// undecoded counts stored depth frames the decoder refused.
	undecoded int
}

// depthTrack is the chain's running state of one incremental book.
type depthTrack struct {
	bk    book.Book
	have  bool // a snapshot has been applied
	seq   int64
	ts    int64
	dirty bool
	cp    *checkpoint
}

// newChain opens a merged read of the server's selection (its life is the chain's, not a connection's).
func (s *Server) newChain() (*chain, *chunk, error) {
	ctx, cancel := context.WithCancel(s.ctx)
	// One worker, one part ahead: a chain is paced by its clients, not by the disk, and unshared chains
	// (--speed max) exist once per connection.
	st, err := OpenWith(ctx, s.o.Source, s.o.Query, s.tables, StreamOptions{Workers: 1, ReadAhead: 1})
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("replay serve: opening the stream: %w", err)
	}
	ch := &chain{s: s, cancel: cancel, st: st, tracks: map[streamID]*depthTrack{}, dec: decode.NewDecoder()}
	head := ch.produce()
	return ch, head, nil
}

// close ends the chain's read (no connection plays it any more).
func (ch *chain) close() {
	ch.cancel()
	ch.mu.Lock()
	ch.st.Close()
	ch.mu.Unlock()
}

// nextChunk returns the chunk after c, producing it if needed; nil at the end of the chain.
func (c *chunk) nextChunk() *chunk {
	if n := c.next.Load(); n != nil || c.end {
		return n
	}
	ch := c.chain
	ch.mu.Lock()
	n := c.next.Load()
	if n == nil {
		n = ch.produce()
		c.next.Store(n)
	}
	ch.mu.Unlock()
	if ch.chunks.Load() > joinChunks {
		ch.s.retire(ch)
	}
	return n
}

// produce reads the next chunk (under ch.mu, or before the chain is shared).
func (ch *chain) produce() *chunk {
	k := &chunk{chain: ch, idx: ch.chunks.Load(), books: make(map[streamID]*checkpoint, len(ch.tracks))}
	for id, tr := range ch.tracks {
		if tr.dirty || tr.cp == nil {
			tr.cp, tr.dirty = tr.checkpoint(), false
		}
		if tr.have {
			k.books[id] = tr.cp
		}
	}
	ch.arena = make([]byte, 0, 256<<10)
	for len(k.evs) < chunkEvents {
		ev := ch.st.Next()
		if ev == nil {
			k.end = true
			if err := ch.st.Err(); err != nil && ch.err == nil {
				ch.err = err
			}
			break
		}
		ch.add(k, ev)
	}
	ch.chunks.Add(1)
	if k.end {
		ch.st.Close()
	}
	return k
}

// add prepares one stored event for the tape.
func (ch *chain) add(k *chunk, ev schema.Stored) {
	h := ev.Hdr()
	te := tapeEvent{ts: h.Ts, id: streamID{h.Channel, h.InstID}, instType: instTypeOf(h.InstID)}
	if r, ok := ev.(*schema.Raw); ok {
		te.endpoint = r.Endpoint
		start := len(ch.arena)
		ch.arena = append(ch.arena, r.Frame...)
		te.frame = ch.arena[start:len(ch.arena):len(ch.arena)]
		if IncrementalBook(h.Channel) {
			te.depth = ch.rawDepth(te.frame, te.id)
		} else if h.InstID == "" && ch.dec.Envelope(te.frame, &ch.env) == nil {
			te.instType = ch.env.Arg.InstType // instType-selected pushes (orders, positions, instruments, ...)
		}
	} else {
		te.endpoint, _ = channelEndpoint(h.Channel)
		if b, ok := ev.(*schema.Book); ok && IncrementalBook(h.Channel) {
			var skip bool
			b, te.depth, skip = ch.renderDepth(b)
			if skip {
				return
			}
			ev = b
		}
		start := len(ch.arena)
		if buf, ok := AppendPush(ch.arena, ev); ok {
			ch.arena = buf
			te.frame = buf[start:len(buf):len(buf)]
		}
	}
	k.evs = append(k.evs, te)
}

func (ch *chain) track(id streamID) *depthTrack {
	tr := ch.tracks[id]
	if tr == nil {
		tr = &depthTrack{}
		ch.tracks[id] = tr
	}
	return tr
}

// rawDepth parses a stored depth frame with ingest's decoder and applies it to the chain's book.
func (ch *chain) rawDepth(frame []byte, id streamID) *tapeDepth {
	if err := ch.dec.Envelope(frame, &ch.env); err != nil || ch.env.Kind != decode.FramePush {
		ch.badDepth(id, err)
		return nil
	}
	var d *tapeDepth
	tr := ch.track(id)
	_, err := ch.dec.Push(&ch.env, frame, 0, func(e schema.Event) {
		b, ok := e.(*schema.Book)
		if !ok || d != nil {
			return
		}
		raw := ch.dec.BookRaw()
		d = &tapeDepth{snapshot: b.Action == schema.ActionSnapshot, seq: b.SeqID,
			bids: append([]schema.Level(nil), b.Bids...), asks: append([]schema.Level(nil), b.Asks...),
			raw: &decode.BookRaw{Bids: append([]decode.RawLevel(nil), raw.Bids...),
				Asks: append([]decode.RawLevel(nil), raw.Asks...)}}
		tr.apply(d, b.Ts)
	})
	if err != nil || d == nil {
		ch.badDepth(id, err)
	}
	return d
}

// badDepth counts a stored depth frame the decoder refused (it is still sent as stored, but late snapshots
// are rebuilt without it), logging the first one of the chain.
func (ch *chain) badDepth(id streamID, err error) {
	ch.undecoded++
	ch.s.stats.UndecodedDepth.Add(1)
	if ch.undecoded == 1 {
		ch.s.log.Warn("replay serve: a stored depth frame does not decode; late snapshots are built without it",
			"channel", id.channel, "inst", id.inst, "err", err)
	}
}

// renderDepth chains a stored incremental-book row for re-rendering: a snapshot has prevSeqId -1; an update's
// prevSeqId is the seqId sent before it on the stream; rows without seqIds get synthetic ones (previous + 1);
// stored updates already contained in a snapshot (seqId at or below it, as after a REST snapshot) are skipped;
// the checksum is recomputed from the rebuilt book where the era carries checksums. The returned row is a
// copy; the stored row is not modified.
func (ch *chain) renderDepth(b *schema.Book) (_ *schema.Book, _ *tapeDepth, skip bool) {
	tr := ch.track(streamID{b.Channel, b.InstID})
	out := *b
	snap := b.Action == schema.ActionSnapshot
	switch {
	case snap:
		out.PrevSeqID = -1
		if b.SeqID <= 0 {
			out.SeqID = tr.seq + 1
		}
	case !tr.have:
		return nil, nil, true // an update before any snapshot: nothing to chain it to
	case b.SeqID <= 0:
		out.PrevSeqID, out.SeqID = tr.seq, tr.seq+1
	case b.SeqID <= tr.seq && b.PrevSeqID < tr.seq:
		return nil, nil, true // already in the book (stale overlap after a snapshot)
	default:
		out.PrevSeqID = tr.seq
	}
	d := &tapeDepth{snapshot: snap, seq: out.SeqID, bids: append([]schema.Level(nil), b.Bids...),
		asks: append([]schema.Level(nil), b.Asks...)}
	tr.apply(d, b.Ts)
	out.Checksum = 0
	if checksumEra(b.Channel, b.Ts) {
		out.Checksum = int64(book.Checksum(&tr.bk))
	}
	out.Bids, out.Asks = d.bids, d.asks
	return &out, d, false
}

// apply applies a depth event to the chain's book.
func (tr *depthTrack) apply(d *tapeDepth, ts int64) {
	if d.snapshot {
		tr.bk.ApplySnapshot(d.bids, d.asks, d.raw)
		tr.have = true
	} else if tr.have {
		tr.bk.ApplyUpdate(d.bids, d.asks, d.raw)
	}
	tr.seq, tr.ts, tr.dirty = d.seq, ts, true
}

// checkpoint copies the book as it stands.
func (tr *depthTrack) checkpoint() *checkpoint {
	cp := &checkpoint{seq: tr.seq, ts: tr.ts}
	var mem []byte
	side := func(lv []book.Level) ([]schema.Level, []decode.RawLevel) {
		out := make([]schema.Level, len(lv))
		raw := make([]decode.RawLevel, len(lv))
		for i, l := range lv {
			out[i] = schema.Level{Px: l.Px, Sz: l.Sz, Orders: l.Orders}
			px, sz := tr.bk.Raw(l)
			start := len(mem)
			mem = append(mem, px...)
			mem = append(mem, sz...)
			raw[i] = decode.RawLevel{Px: mem[start : start+len(px) : start+len(px)], Sz: mem[start+len(px) : len(mem) : len(mem)]}
		}
		return out, raw
	}
	cp.bids, cp.raw.Bids = side(tr.bk.Bids())
	cp.asks, cp.raw.Asks = side(tr.bk.Asks())
	return cp
}

// checksumCutoffMs is when OKX stopped sending checksums (channels.ChecksumDeprecated, 00:00 UTC).
var checksumCutoffMs = func() int64 {
	t, err := time.Parse(time.DateOnly, channels.ChecksumDeprecated)
	if err != nil {
		panic("replay: channels.ChecksumDeprecated is not a date: " + err.Error())
	}
	return t.UnixMilli()
}()

// checksumEra reports whether OKX sent a real checksum (CRC32 of the top levels) for this channel at ts:
// before the cutoff, on the channels the registry says carried one.
func checksumEra(channel string, ts int64) bool {
	e := channels.Lookup(channel)
	return ts < checksumCutoffMs && e != nil && e.Book != nil && e.Book.Checksum
}

// join rebuilds the book of stream id as it stands before event i of chunk k: the checkpoint plus the
// chunk's earlier events of that stream. ok is false when the stream has no book yet.
func (k *chunk) join(id streamID, i int, bk *book.Book) (seq, ts int64, ok bool) {
	cp := k.books[id]
	if cp != nil {
		bk.ApplySnapshot(cp.bids, cp.asks, &cp.raw)
		seq, ts, ok = cp.seq, cp.ts, true
	}
	for j := 0; j < i && j < len(k.evs); j++ {
		e := &k.evs[j]
		if e.id != id || e.depth == nil {
			continue
		}
		d := e.depth
		if d.snapshot {
			bk.ApplySnapshot(d.bids, d.asks, d.raw)
			ok = true
		} else if ok {
			bk.ApplyUpdate(d.bids, d.asks, d.raw)
		}
		seq, ts = d.seq, e.ts
	}
	return seq, ts, ok
}
