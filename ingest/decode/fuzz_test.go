package decode

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/schema/channels"
)

// fuzzChannels is one wire name of every registry entry: FuzzPush forces each decoder over every input.
var fuzzChannels = func() (out []string) {
	for _, e := range channels.All() {
		out = append(out, e.Example())
	}
	return out
}()

// addSeeds seeds a fuzzer with every fixture frame (when the fixtures are present) and a few edge cases.
func addSeeds(f *testing.F) {
	for _, s := range []string{tickerFrame, tradesFrame, "pong", "", "{}", `{"event":"error","code":60012,"msg":"\u00e9\""}`,
		`{"arg":{"channel":"books"},"action":"update","data":[{"asks":[["1","0","0","0"]],"bids":[],"checksum":-1}]}`,
		`{"arg":{"channel":"account"},"data":[{"details":[{"ccy":"BTC","eq":"1"}],"totalEq":"2"}]}`,
		`{"arg":{"channel":"balance_and_position"},"data":[{"balData":[{"ccy":"BTC"}],"posData":[{"pos":"1"}]}]}`,
		`{"arg":{"channel":"candle1m"},"data":[["1","2","3","4","5","6","7","8","1"]]}`,
		`{"code":"0","msg":"","data":[{"asks":[["1","2","0","3"]],"bids":[],"ts":"1"}]}`,
	} {
		f.Add([]byte(s))
	}
	dir := os.Getenv("OKXTAPE_FIXTURES")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "fixtures", "okx")
	}
	names, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	for _, n := range names {
		if b, err := os.ReadFile(n); err == nil {
			f.Add(b)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "OKX.ws.1.0")); err == nil {
		frames, _ := captureFrames(f)
		for i, fr := range frames {
			if i%10 == 0 || strings.Contains(string(fr), "snapshot") {
				f.Add(fr)
			}
		}
	}
}

func FuzzEnvelope(f *testing.F) {
	addSeeds(f)
	dec := NewDecoder()
	f.Fuzz(func(t *testing.T, frame []byte) {
		var a, b Envelope
		errA := ParseEnvelope(frame, &a)
		errB := dec.Envelope(frame, &b)
		if (errA == nil) != (errB == nil) || a != b {
			t.Fatalf("ParseEnvelope and Decoder.Envelope disagree: %+v %v / %+v %v", a, errA, b, errB)
		}
		if errA != nil && (!errors.Is(errA, ErrMalformed) || a.Kind != FrameInvalid) {
			t.Fatalf("error %v with kind %v", errA, a.Kind)
		}
		if errA == nil && a.Kind == FrameInvalid {
			t.Fatal("no error but FrameInvalid")
		}
		// The REST parsers see the same inputs.
		_, _, _ = ParseRESTBooks(frame)
		_, _ = ParseRESTInstruments(frame)
		_, _ = ParseRESTTrades(frame)
	})
}

func FuzzPush(f *testing.F) {
	addSeeds(f)
	dec := NewDecoder()
	f.Fuzz(func(t *testing.T, frame []byte) {
		var env Envelope
		if dec.Envelope(frame, &env) != nil || env.Kind != FramePush {
			return
		}
		// Decode with the frame's own channel, then force every channel's decoder over the same data.
		for _, ch := range append([]string{env.Arg.Channel}, fuzzChannels...) {
			e := env
			e.Arg.Channel = ch
			emitted := 0
			n, err := dec.Push(&e, frame, 1, func(ev schema.Event) {
				emitted++
				if ev.Hdr().Channel != ch || ev.Hdr().RecvNs != 1 {
					t.Fatalf("bad header %+v", *ev.Hdr())
				}
				if b, ok := ev.(*schema.Book); ok {
					r := dec.BookRaw()
					if len(r.Bids) != len(b.Bids) || len(r.Asks) != len(b.Asks) {
						t.Fatal("BookRaw not aligned")
					}
				}
			})
			if n != emitted {
				t.Fatalf("n=%d, emitted %d", n, emitted)
			}
			if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownChannel) && !errors.Is(err, ErrBadValue) {
				t.Fatalf("unexpected error type: %v", err)
			}
		}
	})
}
