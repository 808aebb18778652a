package ingest

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrRequestBudget means a connection has used its 480 subscribe/unsubscribe/login requests of the last hour;
// OKX would answer 60014. The request is not sent.
var ErrRequestBudget = errors.New("okx request budget exhausted (480 subscribe/unsubscribe/login per hour per connection)")

// connLimiter admits at most n new connections in any sliding window (a second plus a margin for dial latency
// jitter, since OKX counts handshakes as they arrive). It is shared by every pool, so the whole client
// respects OKX's 3 new connections per second per IP.
type connLimiter struct {
	mu     sync.Mutex
	n      int
	window time.Duration
	times  []time.Time // admissions, oldest first; at most n
}

func newConnLimiter(n int, window time.Duration) *connLimiter {
	return &connLimiter{n: n, window: window}
}

// reserve books the earliest admission at or after now and returns how long to wait for it.
func (l *connLimiter) reserve(now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	at := now
	if len(l.times) >= l.n {
		if t := l.times[len(l.times)-l.n].Add(l.window); t.After(at) {
			at = t
		}
	}
	l.times = append(l.times, at)
	if len(l.times) > l.n {
		l.times = append(l.times[:0], l.times[len(l.times)-l.n:]...)
	}
	return at.Sub(now)
}

// Wait blocks until an admission is due or ctx is done. An admission booked by a cancelled waiter is not
// returned (cancellation only happens on shutdown).
func (l *connLimiter) Wait(ctx context.Context) error {
	d := l.reserve(time.Now())
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// requestBudget counts a connection's subscribe/unsubscribe/login requests in a sliding hour.
type requestBudget struct {
	mu     sync.Mutex
	limit  int
	window time.Duration
	times  []time.Time // oldest first
}

func newRequestBudget(limit int, window time.Duration) *requestBudget {
	return &requestBudget{limit: limit, window: window}
}

// take records one request at now, or returns ErrRequestBudget when the window is full.
func (r *requestBudget) take(now time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := 0
	for i < len(r.times) && now.Sub(r.times[i]) >= r.window {
		i++
	}
	r.times = r.times[i:]
	if len(r.times) >= r.limit {
		return ErrRequestBudget
	}
	r.times = append(r.times, now)
	return nil
}

// used returns the requests counted in the current window.
func (r *requestBudget) used(now time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, t := range r.times {
		if now.Sub(t) < r.window {
			n++
		}
	}
	return n
}
