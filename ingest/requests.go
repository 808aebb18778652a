package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/okxtape/okxtape/ingest/decode"
)

// Requests a connection sends (subscribe, unsubscribe, login) and the tracking of their answers.

// argState is where one subscription arg stands on a connection.
type argState uint8

const (
	argPending argState = iota + 1
	argAcked
	argFailed
)

// request is a subscribe request in flight: the keys of its args and whether OKX answered it with an error.
type request struct {
	keys    []string
	errored bool
}

// send sends a subscribe or unsubscribe request for args, split to respect OKX's 64 KB request limit, each
// counted against the connection's hourly budget. Subscribed args are tracked until acked.
func (cn *conn) send(op string, args []decode.Arg) error {
	for _, batch := range splitRequests(args, maxRequestBytes) {
		if err := cn.budget.take(time.Now()); err != nil {
			return fmt.Errorf("%s %s: %w", cn.label, op, err)
		}
		id := cn.c.nextID()
		keys := make([]string, len(batch))
		cn.mu.Lock()
		for i, a := range batch {
			keys[i] = argKey(a)
			if op == "subscribe" {
				cn.state[keys[i]] = argPending
			} else {
				cn.unsubs[keys[i]]++
			}
		}
		if op == "subscribe" {
			cn.requests[id] = &request{keys: keys}
		}
		cn.mu.Unlock()
		if err := cn.write(encodeRequest(id, op, batch)); err != nil {
			return fmt.Errorf("%s %s: %w", cn.label, op, err)
		}
	}
	return nil
}

// waitAcks waits until every arg of args is acked or failed, or every still-pending arg belongs to a request
// that got an error and no answer came for errorGrace, or the timeout passes (then the missing args are
// logged). It returns an error only if the connection died or ctx ended.
func (cn *conn) waitAcks(ctx context.Context, args []decode.Arg, timeout time.Duration) error {
	const errorGrace = 300 * time.Millisecond
	deadline := time.Now().Add(timeout)
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		var missing []string
		allErrored := true
		cn.mu.Lock()
		for _, a := range args {
			k := argKey(a)
			if cn.state[k] == argPending {
				missing = append(missing, argString(a))
				if !cn.pendingInErroredRequest(k) {
					allErrored = false
				}
			}
		}
		lastErr := cn.lastErr
		cn.mu.Unlock()
		now := time.Now()
		if len(missing) == 0 || (allErrored && now.Sub(lastErr) >= errorGrace) {
			return nil
		}
		if now.After(deadline) {
			cn.c.log.Warn("subscriptions not acknowledged in time; continuing", "conn", cn.label,
				"missing", len(missing), "first", missing[0])
			return nil
		}
		select {
		case <-t.C:
		case <-cn.done:
			return fmt.Errorf("%s: connection lost while subscribing: %s", cn.label, cn.Reason())
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// pruneRequest forgets request id once none of its args is pending. Called with mu held.
func (cn *conn) pruneRequest(id string) {
	r := cn.requests[id]
	if r == nil {
		return
	}
	for _, k := range r.keys {
		if cn.state[k] == argPending {
			return
		}
	}
	delete(cn.requests, id)
}

func (cn *conn) pendingInErroredRequest(k string) bool {
	for _, r := range cn.requests {
		if !r.errored {
			continue
		}
		for _, rk := range r.keys {
			if rk == k {
				return true
			}
		}
	}
	return false
}

// login sends the login request and waits for its answer. The request is written to the socket only.
func (cn *conn) login(ctx context.Context, timeout time.Duration) error {
	if err := cn.budget.take(time.Now()); err != nil {
		return fmt.Errorf("%s login: %w", cn.label, err)
	}
	ch := make(chan error, 1)
	cn.mu.Lock()
	cn.loginCh = ch
	cn.mu.Unlock()
	if err := cn.write(loginRequest(cn.c.cfg.Credentials, time.Now())); err != nil {
		return fmt.Errorf("%s login: write: %w", cn.label, err) // the error names no secret
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case err := <-ch:
		return err
	case <-t.C:
		return &LoginError{Endpoint: cn.endpoint, Code: "timeout",
			text: "OKX did not answer the login within " + timeout.String() + "; retrying [" + cn.endpoint + "]"}
	case <-cn.done:
		return fmt.Errorf("%s: connection lost during login: %s", cn.label, cn.Reason())
	case <-ctx.Done():
		return ctx.Err()
	}
}
