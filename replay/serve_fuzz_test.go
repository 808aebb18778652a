package replay

import (
	"context"
	"encoding/json"
	"testing"
)

// recSender records the frames a connection sends.
type recSender struct{ frames [][]byte }

func (r *recSender) Send(_ context.Context, b []byte) error {
	r.frames = append(r.frames, append([]byte(nil), b...))
	return nil
}
func (r *recSender) Close() error          { return nil }
func (r *recSender) CloseWith(int, string) {}

// FuzzServeRequest feeds arbitrary requests to the request handler: it never panics, answers every request
// with at least one frame and at most one per arg, and every answer is a JSON event OKX defines.
func FuzzServeRequest(f *testing.F) {
	for _, s := range []string{
		`{"id":"1","op":"subscribe","args":[{"channel":"tickers","instId":"BTC-USDT"},{"channel":"books","instId":"BTC-USDT"}]}`,
		`{"op":"unsubscribe","args":[{"channel":"tickers","instId":"BTC-USDT"}]}`,
		`{"op":"login","args":[{"apiKey":"k","passphrase":"p","timestamp":"1","sign":"s"}]}`,
		`{"op":"subscribe","args":[{"channel":"orders","instType":"ANY"}]}`,
		`{"op":"subscribe","args":[]}`, `not json`, `{"op":"x"}`, `{"id":7,"op":"subscribe","args":[{}]}`,
		`{"op":"subscribe","args":[{"channel":"tickers","uly":"BTC-USDT"}]}`, `[]`, `null`,
	} {
		f.Add([]byte(s))
	}
	srv := &Server{o: ServeOptions{}, raw: true, channels: map[string]bool{"tickers": true, "books": true, "orders": true},
		insts: map[string]bool{"BTC-USDT": true}}
	f.Fuzz(func(t *testing.T, msg []byte) {
		out := &recSender{}
		c := &wsConn{s: srv, out: out, id: "0badc0de", endpoint: "public", ctx: context.Background(),
			subs: map[string]*sub{}, byStream: map[streamID]*sub{}, wake: make(chan struct{}, 1), playing: true}
		if err := c.request(msg); err != nil {
			t.Fatal(err)
		}
		var req struct {
			Args []json.RawMessage `json:"args"`
		}
		_ = json.Unmarshal(msg, &req)
		if len(out.frames) == 0 || len(out.frames) > max(1, len(req.Args)) {
			t.Fatalf("%d answers to %q", len(out.frames), msg)
		}
		for _, fr := range out.frames {
			var e struct {
				Event  string `json:"event"`
				ConnID string `json:"connId"`
			}
			if err := json.Unmarshal(fr, &e); err != nil || e.ConnID != "0badc0de" {
				t.Fatalf("answer %q to %q: %v", fr, msg, err)
			}
			switch e.Event {
			case "subscribe", "unsubscribe", "error", "login":
			default:
				t.Fatalf("event %q in %q", e.Event, fr)
			}
		}
	})
}
