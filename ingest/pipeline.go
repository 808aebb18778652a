package ingest

import (
	"fmt"

	"github.com/okxtape/okxtape/ingest/book"
	"github.com/okxtape/okxtape/ingest/decode"
	"github.com/okxtape/okxtape/schema"
)

// Pipeline is the decoding path of received frames, shared by every live connection and by replay's
// renormalise (which runs it over stored raw frames): the envelope, the channel's decoder, then each event
// either to the book manager (order-book messages, validated, each followed by its quote) or to Emit.
//
// Concurrency: a Pipeline is used by one goroutine (a connection's reader). Ownership: events reach Emit
// under the engine's contract (valid during the call).
type Pipeline struct {
	// Env is the envelope of the frame being handled, filled by Envelope.
	Env decode.Envelope
	// OnEvent, when set, sees every decoded event before it is routed (live: counters and lag metric).
	OnEvent func(schema.Event)
	// Admit, when set, decides for each non-book event whether it is emitted (live: a 64008 handover drops
	// what the other connection already delivered). Books are the book manager's to judge.
	Admit func(schema.Event) bool

	dec   *decode.Decoder
	books *book.Manager
	emit  func(schema.Event)
	route func(schema.Event) // p.event, bound once so Push does not allocate a closure per frame
}

// NewPipeline returns a Pipeline whose book events go to books and whose other events go to emit.
func NewPipeline(books *book.Manager, emit func(schema.Event)) *Pipeline {
	p := &Pipeline{dec: decode.NewDecoder(), books: books, emit: emit}
	p.route = p.event
	return p
}

// Envelope classifies frame into p.Env (decode.ErrMalformed-wrapped error for a frame that is not OKX JSON).
func (p *Pipeline) Envelope(frame []byte) error { return p.dec.Envelope(frame, &p.Env) }

// Push decodes the push classified by the last Envelope call (same frame) and routes its events; n is the
// number decoded. The error wraps decode.ErrMalformed or decode.ErrUnknownChannel; events decoded before a
// malformed element stay routed.
func (p *Pipeline) Push(frame []byte, recvNs int64) (n int, err error) {
	return p.dec.Push(&p.Env, frame, recvNs, p.route)
}

// Frame is Envelope then, for a push, Push: the whole path for a frame whose control messages do not matter
// (replaying raw frames). A frame that is not a push is an error wrapping decode.ErrMalformed.
func (p *Pipeline) Frame(frame []byte, recvNs int64) (int, error) {
	if err := p.Envelope(frame); err != nil {
		return 0, err
	}
	if p.Env.Kind != decode.FramePush {
		return 0, fmt.Errorf("%w: a %s frame, not a push", decode.ErrMalformed, p.Env.Kind)
	}
	return p.Push(frame, recvNs)
}

func (p *Pipeline) event(ev schema.Event) {
	if p.OnEvent != nil {
		p.OnEvent(ev)
	}
	if b, ok := ev.(*schema.Book); ok {
		p.books.Apply(b, p.dec.BookRaw())
		return
	}
	if p.Admit != nil && !p.Admit(ev) {
		return
	}
	p.emit(ev)
}
