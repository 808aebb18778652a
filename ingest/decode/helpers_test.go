package decode

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/okxtape/okxtape/internal/testenv"
	"github.com/okxtape/okxtape/schema"
)

func unsafeData(s string) *byte { return unsafe.StringData(s) }

// fixtureDir is the shared OKX fixture directory (override with OKXTAPE_FIXTURES).
func fixtureDir(t testing.TB) string { return testenv.FixtureDir(t) }

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixtureFrames splits a fixture into frames: one pretty-printed JSON document, or JSON lines.
func fixtureFrames(t testing.TB, name string) [][]byte {
	t.Helper()
	b := bytes.TrimSpace(readFixture(t, name))
	if json.Valid(b) {
		return [][]byte{b}
	}
	var out [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if l = bytes.TrimSpace(l); len(l) > 0 {
			if !json.Valid(l) {
				t.Fatalf("%s: line is not JSON: %.80s", name, l)
			}
			out = append(out, l)
		}
	}
	return out
}

// decodeAll runs both stages and returns deep copies of the emitted events (and book raw strings).
func decodeAll(t testing.TB, dec *Decoder, frame []byte) ([]schema.Event, [][2][]string, error) {
	t.Helper()
	var env Envelope
	if err := dec.Envelope(frame, &env); err != nil {
		return nil, nil, err
	}
	if env.Kind != FramePush {
		t.Fatalf("not a push: %v", env.Kind)
	}
	var evs []schema.Event
	var raws [][2][]string
	n, err := dec.Push(&env, frame, 42, func(e schema.Event) {
		if e.Hdr().RecvNs != 42 || e.Hdr().Channel != env.Arg.Channel {
			t.Errorf("bad header %+v", *e.Hdr())
		}
		evs = append(evs, schema.Clone(e.(schema.Stored)))
		if b, ok := e.(*schema.Book); ok {
			r := dec.BookRaw()
			if len(r.Bids) != len(b.Bids) || len(r.Asks) != len(b.Asks) {
				t.Errorf("BookRaw not aligned: %d/%d vs %d/%d", len(r.Bids), len(r.Asks), len(b.Bids), len(b.Asks))
			}
			var s [2][]string
			for _, l := range r.Bids {
				s[0] = append(s[0], string(l.Px)+":"+string(l.Sz))
			}
			for _, l := range r.Asks {
				s[1] = append(s[1], string(l.Px)+":"+string(l.Sz))
			}
			raws = append(raws, s)
		}
	})
	if n != len(evs) {
		t.Errorf("Push returned n=%d but emitted %d", n, len(evs))
	}
	return evs, raws, err
}
