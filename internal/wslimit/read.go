// Package wslimit bounds what a gorilla/websocket connection may read (decompressed bytes per message) and
// queue for sending (a bounded per-connection send queue with a slow-consumer policy).
package wslimit

import (
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/gorilla/websocket"
)

// TooLargeError reports a message whose decompressed size exceeded the limit. The message has been skipped
// (its remaining wire bytes are discarded undecompressed by the next read), so the connection is still usable.
type TooLargeError struct {
	Limit int64 // the decompressed-size limit that was exceeded
	Type  int   // websocket.TextMessage or websocket.BinaryMessage
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("websocket message larger than %d bytes (decompressed): skipped", e.Limit)
}

// IsTooLarge reports whether err is (or wraps) a *TooLargeError.
func IsTooLarge(err error) bool {
	var t *TooLargeError
	return errors.As(err, &t)
}

// ReadOptions configure a Reader.
type ReadOptions struct {
	// MaxMessage is the largest decompressed message accepted, in bytes (> 0).
	MaxMessage int64
	// MaxWire is the largest message accepted on the wire (compressed, all frames), in bytes. Exceeding it
	// fails the connection (gorilla closes it with 1009). 0: 16 × MaxMessage (skipping an oversized
	// message costs only its wire bytes, never its inflated size).
	MaxWire int64
}

// Reader reads whole messages from one connection with a limit on their decompressed size. gorilla's own
// SetReadLimit counts wire bytes, so with permessage-deflate a small compressed message can inflate without
// bound; Reader reads through NextReader and stops at the limit instead. Not safe for concurrent use (like
// gorilla's reads).
type Reader struct {
	c         *websocket.Conn
	max       int64
	buf       []byte
	oversized atomic.Int64
}

// NewReader returns a Reader for c and sets c's wire read limit.
func NewReader(c *websocket.Conn, o ReadOptions) *Reader {
	if o.MaxMessage <= 0 {
		o.MaxMessage = 1 << 20
	}
	if o.MaxWire <= 0 {
		o.MaxWire = 16 * o.MaxMessage
	}
	c.SetReadLimit(o.MaxWire)
	return &Reader{c: c, max: o.MaxMessage}
}

// Read returns the next message; msg is valid until the next Read. An oversized message returns a
// *TooLargeError (counted in Oversized) and the caller may go on reading; any other error is the
// connection's and final.
func (r *Reader) Read() (mt int, msg []byte, err error) {
	mt, rd, err := r.c.NextReader()
	if err != nil {
		return 0, nil, err
	}
	if cap(r.buf) > keepBuf {
		r.buf = nil // a past large message does not pin its buffer for the connection's life
	}
	r.buf = r.buf[:0]
	for {
		if len(r.buf) == cap(r.buf) {
			if int64(len(r.buf)) > r.max {
				return r.tooLarge(mt)
			}
			// Grow geometrically, but never past limit+1 (one byte over proves the message too large).
			n := min(max(2*cap(r.buf), 512), int(r.max)+1)
			r.buf = append(r.buf, make([]byte, n-len(r.buf))...)[:len(r.buf)]
		}
		n, err := rd.Read(r.buf[len(r.buf):cap(r.buf)])
		r.buf = r.buf[:len(r.buf)+n]
		if err == io.EOF {
			if int64(len(r.buf)) > r.max {
				return r.tooLarge(mt)
			}
			return mt, r.buf, nil
		}
		if err != nil {
			return 0, nil, err
		}
	}
}

func (r *Reader) tooLarge(mt int) (int, []byte, error) {
	r.oversized.Add(1)
	r.buf = nil
	return mt, nil, &TooLargeError{Limit: r.max, Type: mt}
}

// Oversized returns how many messages were skipped for being too large.
func (r *Reader) Oversized() int64 { return r.oversized.Load() }

// keepBuf is the largest read buffer kept from one message to the next.
const keepBuf = 256 << 10
