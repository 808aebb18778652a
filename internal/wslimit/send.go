package wslimit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// ErrSlowConsumer is returned by Send (Policy Cut) when the queue is full: the client does not read as fast
// as it is sent to, and the connection has been cut.
var ErrSlowConsumer = errors.New("websocket send queue full: slow consumer cut")

// ErrClosed is returned by Send after Close or after the connection failed.
var ErrClosed = errors.New("websocket sender closed")

// Policy says what Send does when the queue is full.
type Policy int

const (
	// Block makes Send wait for room: the producer slows to the client's pace (backpressure).
	Block Policy = iota
	// Cut makes Send fail with ErrSlowConsumer: the queue is dropped, SlowFrame (if any) is written, the
	// connection is closed with SlowCode/SlowReason. This is what OKX does to a client that does not keep up
	// (close 4005 "Buffer is full").
	Cut
)

// SendOptions configure a Sender. A message is accepted while both bounds hold; one message larger than
// MaxBytes is accepted into an empty queue (so no message is unsendable).
type SendOptions struct {
	MaxMessages  int           // queued messages; 0: 1024
	MaxBytes     int64         // queued bytes; 0: 4 MiB
	WriteTimeout time.Duration // per write; a write that times out fails the connection. 0: 10 s
	Policy       Policy
	SlowFrame    []byte // Cut: a last text frame for the cut client (e.g. an error event), or nil
	SlowCode     int    // Cut: close code; 0: 4005
	SlowReason   string // Cut: close reason; "": "Buffer is full"
}

// Sender owns all data writes of one connection through a bounded queue served by one goroutine, so a
// client that reads slowly costs at most the queue's bounds in memory. Send is safe for concurrent use.
// After a write error or a cut the Sender closes the connection (which ends the caller's read loop).
type Sender struct {
	c    *websocket.Conn
	o    SendOptions
	mu   sync.Mutex
	q    [][]byte
	qb   int64
	shut bool          // Close called or failed: no more messages accepted
	err  error         // why the writer stopped (nil after a clean Close)
	wake chan struct{} // writer: queue non-empty or shut (cap 1)
	room chan struct{} // closed and replaced whenever room is made (wakes blocked senders)
	done chan struct{}
}

// NewSender starts the writer goroutine of c. Nothing else may call c's data-write methods afterwards
// (control frames via WriteControl remain safe).
func NewSender(c *websocket.Conn, o SendOptions) *Sender {
	if o.MaxMessages <= 0 {
		o.MaxMessages = 1024
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 4 << 20
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.SlowCode == 0 {
		o.SlowCode = 4005
	}
	if o.SlowReason == "" {
		o.SlowReason = "Buffer is full"
	}
	s := &Sender{c: c, o: o, wake: make(chan struct{}, 1), room: make(chan struct{}), done: make(chan struct{})}
	go s.run()
	return s
}

// Send queues a copy of msg as a text message. Policy Block waits for room until ctx is done; Policy Cut
// fails with ErrSlowConsumer when full and cuts the connection. ErrClosed after Close or a failure.
func (s *Sender) Send(ctx context.Context, msg []byte) error {
	for {
		s.mu.Lock()
		if s.shut {
			err := s.err
			s.mu.Unlock()
			if errors.Is(err, ErrSlowConsumer) {
				return err
			}
			return ErrClosed
		}
		if len(s.q) == 0 || (len(s.q) < s.o.MaxMessages && s.qb+int64(len(msg)) <= s.o.MaxBytes) {
			s.q = append(s.q, append([]byte(nil), msg...))
			s.qb += int64(len(msg))
			s.mu.Unlock()
			s.signal()
			return nil
		}
		if s.o.Policy == Cut {
			s.cutLocked()
			s.mu.Unlock()
			s.signal()
			return ErrSlowConsumer
		}
		room := s.room
		s.mu.Unlock()
		select {
		case <-room:
		case <-s.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// cutLocked drops the queue and leaves only the slow-consumer frame.
func (s *Sender) cutLocked() {
	s.q, s.qb = s.q[:0], 0
	if s.o.SlowFrame != nil {
		s.q = append(s.q, s.o.SlowFrame)
	}
	s.shut, s.err = true, ErrSlowConsumer
}

func (s *Sender) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Close stops accepting messages, lets the writer flush what is queued (each write bounded by WriteTimeout)
// and waits for it. It does not close the connection unless the writer failed.
func (s *Sender) Close() error {
	s.mu.Lock()
	s.shut = true
	s.mu.Unlock()
	s.signal()
	<-s.done
	return s.Err()
}

// Done is closed when the writer has stopped (Close, a write error or a cut).
func (s *Sender) Done() <-chan struct{} { return s.done }

// Err is why the writer stopped: nil (running or closed cleanly), ErrSlowConsumer, or the write error.
func (s *Sender) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Queued returns the messages and bytes waiting.
func (s *Sender) Queued() (msgs int, bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.q), s.qb
}

func (s *Sender) run() {
	defer close(s.done)
	for {
		s.mu.Lock()
		for len(s.q) == 0 && !s.shut {
			s.mu.Unlock()
			<-s.wake
			s.mu.Lock()
		}
		if len(s.q) == 0 { // shut and flushed
			cut := errors.Is(s.err, ErrSlowConsumer)
			s.mu.Unlock()
			if cut {
				s.closeConn(s.o.SlowCode, s.o.SlowReason)
			}
			return
		}
		m := s.q[0]
		s.q[0] = nil
		s.q = s.q[1:]
		s.qb -= int64(len(m))
		close(s.room)
		s.room = make(chan struct{})
		s.mu.Unlock()
		_ = s.c.SetWriteDeadline(time.Now().Add(s.o.WriteTimeout))
		if err := s.c.WriteMessage(websocket.TextMessage, m); err != nil {
			s.mu.Lock()
			s.shut = true
			if s.err == nil {
				s.err = fmt.Errorf("websocket write: %w", err)
			}
			s.q, s.qb = nil, 0
			s.mu.Unlock()
			s.c.Close()
			return
		}
	}
}

// closeConn sends a close frame (best effort, bounded) and closes the connection.
func (s *Sender) closeConn(code int, reason string) {
	_ = s.c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason),
		time.Now().Add(time.Second))
	s.c.Close()
}

// CloseWith sends a close frame with code and reason after what is queued, then closes the connection
// (e.g. OKX's 4004 on an idle connection). It waits for the writer.
func (s *Sender) CloseWith(code int, reason string) {
	s.Close()
	s.closeConn(code, reason)
}
