package ingest

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/okxtape/okxtape/ingest/decode"
)

// pushError counts a push that was not (fully) decoded: per dropped element and kind for bad values
// (decode.KindBadNumber, KindBadLevel, KindNoTs), else one frame as malformed or unknown_channel. The raw
// frame was emitted before decoding, so what was dropped is still stored as received.
func (c *Client) pushError(label string, err error) {
	var ve *decode.ValueError
	if errors.As(err, &ve) {
		for kind, n := range ve.Counts {
			c.decodeErrorN(kind, n, label, err)
		}
		return
	}
	kind := "malformed"
	if errors.Is(err, decode.ErrUnknownChannel) {
		kind = "unknown_channel"
	}
	c.decodeError(kind, label, err)
}

func (c *Client) decodeError(kind, label string, err error) { c.decodeErrorN(kind, 1, label, err) }

// decodeErrorN counts n decode errors of a kind and logs the first of each kind.
func (c *Client) decodeErrorN(kind string, n int, label string, err error) {
	c.decodeErrs.add(kind, uint64(n))
	metricDecodeErrors.WithLabelValues(kind).Add(float64(n))
	c.logOnce("decode:"+kind, "frame not decoded; further "+kind+" errors are counted, not logged",
		slog.String("conn", label), slog.String("kind", kind), slog.String("err", c.scrub.scrub(err.Error())))
}

// ErrNeverConnected: the run ended (signal, duration) before a connection slot had ever connected.
var ErrNeverConnected = errors.New("ingest: never connected")

// ErrAllRefused: OKX answered every subscription with an error (an unknown channel or instrument: 60018).
var ErrAllRefused = errors.New("ingest: every subscription was refused")

// checkRefused runs once a slot's first connection has subscribed args: a slot whose every argument OKX refused
// is counted, and when that is every slot, Run fails with ErrAllRefused (nothing could ever be recorded).
func (s *slot) checkRefused(cn *conn, args []decode.Arg) {
	cn.mu.Lock()
	refused := 0
	for _, a := range args {
		k := argKey(a)
		if st := cn.state[k]; st == argFailed || (st == argPending && cn.pendingInErroredRequest(k)) {
			refused++
		}
	}
	first := cn.firstErr
	cn.mu.Unlock()
	if len(args) == 0 || refused < len(args) || first == nil {
		return
	}
	c := s.c
	if int(c.refusedSlots.Add(1)) == len(c.slots) {
		c.fail(fmt.Errorf("%w by OKX (%s: %s); check --channels and --inst", ErrAllRefused, first.Code, first.Msg))
	}
}

// neverConnected returns ErrNeverConnected (with the slot's last connect error) if a slot was never up.
func (c *Client) neverConnected() error {
	for _, s := range c.slots {
		if s.wasUp.Load() {
			continue
		}
		last, _ := s.lastErr.Load().(string)
		if last == "" {
			last = "no attempt finished"
		}
		return fmt.Errorf("%w: %s to %s before the run ended (last error: %s)", ErrNeverConnected, s.label, s.url, last)
	}
	return nil
}
