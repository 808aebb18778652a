package decode

import (
	"testing"

	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/schema/channels"
)

// TestEveryEntryHasADecoder walks the channel registry: every entry needs a decoder, and every decoder an
// entry (a decoder no entry names is never called).
func TestEveryEntryHasADecoder(t *testing.T) {
	names := map[string]bool{}
	for _, e := range channels.All() {
		names[e.Decoder] = true
		if decoders[e.Decoder] == nil {
			t.Errorf("registry entry %q: no decoder %q in decoders.go", e.Name, e.Decoder)
		}
		for _, w := range e.WireNames() {
			if decoderFor(w) == nil {
				t.Errorf("wire channel %q (entry %s) has no decoder", w, e.Name)
			}
		}
	}
	for name := range decoders {
		if !names[name] {
			t.Errorf("decoder %q is named by no registry entry", name)
		}
	}
}

// TestDecodedKindsMatchTheRegistry pushes an empty element (or row) of each entry and checks that anything
// decoded is of one of the entry's kinds: the registry's Kinds (and so its tables) describe what is emitted.
func TestDecodedKindsMatchTheRegistry(t *testing.T) {
	for _, e := range channels.All() {
		ch := e.Example()
		for _, data := range []string{`[{"ts":"1"}]`, `[["1","1","1","1","1","1","1","1","1"]]`} {
			frame := []byte(`{"arg":{"channel":"` + ch + `","instId":"BTC-USDT"},"data":` + data + `}`)
			var env Envelope
			d := NewDecoder()
			if err := d.Envelope(frame, &env); err != nil {
				t.Fatalf("%s: %v", ch, err)
			}
			_, _ = d.Push(&env, frame, 1, func(ev schema.Event) {
				ok := false
				for _, k := range e.Kinds {
					ok = ok || ev.Kind() == k
				}
				if !ok {
					t.Errorf("%s decoded a %s, not one of the entry's kinds %v", ch, ev.Kind(), e.Kinds)
				}
			})
		}
	}
}

// TestScratchIsReusedPerKind: a decoder's event comes from one reused struct per kind, of that kind.
func TestScratchIsReusedPerKind(t *testing.T) {
	d := NewDecoder()
	for _, tab := range schema.Tables() {
		a, b := d.scratch(tab.Kind), d.scratch(tab.Kind)
		if a != b || a.Kind() != tab.Kind {
			t.Fatalf("%s: scratch gave %T then %T", tab.Name, a, b)
		}
	}
}
