package ingest

import (
	"errors"
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
