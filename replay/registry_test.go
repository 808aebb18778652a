package replay

import (
	"testing"

	"github.com/okxtape/okxtape/ingest/decode"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/schema/channels"
)

// TestRenderFollowsTheRegistry walks the channel registry: a channel marked RenderRows has a push form for
// each kind it decodes, and that push decodes back to one event of that kind, channel, instrument and time
// (field-exact round trips per channel shape are TestRenderedPushesDecodeToTheSameEvents'); one marked
// RenderRawOnly has none (serve sends only its raw frames). RenderTables holds the RenderRows kinds' tables.
func TestRenderFollowsTheRegistry(t *testing.T) {
	tables := map[*schema.Table]bool{}
	for _, tab := range RenderTables() {
		tables[tab] = true
	}
	dec := decode.NewDecoder()
	for _, e := range channels.All() {
		for _, k := range e.Kinds {
			tab := schema.TableOf(k)
			want := tab.New()
			*want.Hdr() = schema.Header{Channel: e.Example(), InstID: "BTC-USDT", Ts: 1597026383085}
			if b, ok := want.(*schema.Book); ok {
				b.Action, b.SeqID, b.PrevSeqID = schema.ActionSnapshot, 7, -1
				b.Bids = []schema.Level{{Px: 1, Sz: 2, Orders: 3}}
			}
			frame, ok := AppendPush(nil, want)
			if ok != (e.Render == channels.RenderRows) {
				t.Errorf("%s: AppendPush of a %s: ok %v, registry render flag %d", e.Name, k, ok, e.Render)
				continue
			}
			if tables[tab] != (e.Render == channels.RenderRows) {
				t.Errorf("%s: RenderTables has %s: %v", e.Name, tab.Name, tables[tab])
			}
			if !ok {
				continue
			}
			var env decode.Envelope
			if err := dec.Envelope(frame, &env); err != nil {
				t.Fatalf("%s: %v\n%s", e.Name, err, frame)
			}
			var got []schema.Stored
			if _, err := dec.Push(&env, frame, 0, func(ev schema.Event) { got = append(got, schema.Clone(ev.(schema.Stored))) }); err != nil {
				t.Fatalf("%s: %v\n%s", e.Name, err, frame)
			}
			if len(got) != 1 || got[0].Kind() != k || *got[0].Hdr() != *want.Hdr() {
				t.Errorf("%s: round trip differs\nframe %s\ngot  %+v\nwant %+v", e.Name, frame, got, want)
			}
		}
	}
}
