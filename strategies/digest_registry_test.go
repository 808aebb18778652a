package strategies

import (
	"testing"

	"github.com/okxtape/okxtape/engine"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/schema/channels"
)

// TestDigestCoversTheRegistry walks the channel registry: each kind of each channel (decoded and derived) is
// hashed when the channel's role is DigestHash and counted only when DigestCount, so no kind drops out of
// parity silently.
func TestDigestCoversTheRegistry(t *testing.T) {
	for _, ent := range channels.All() {
		for _, k := range ent.AllKinds() {
			tab := schema.TableOf(k)
			if tab == nil {
				t.Fatalf("%s: kind %s has no table", ent.Name, k)
			}
			e := engine.New(engine.Options{Mode: engine.Replay})
			d := NewDigest()
			d.Attach(e)
			ev := tab.New()
			*ev.Hdr() = schema.Header{Channel: ent.Example(), InstID: "BTC-USDT", Ts: 1}
			e.Emit(ev)
			sum := d.Summary().(DigestSummary)
			if sum.Events[k.String()] != 1 {
				t.Errorf("%s: a %s event was not counted by the digest: %v", ent.Name, k, sum.Events)
			}
			hashed := sum.Streams == 1
			if want := ent.Digest == channels.DigestHash; hashed != want {
				t.Errorf("%s: %s hashed %v, registry role %d", ent.Name, k, hashed, ent.Digest)
			}
		}
	}
}
