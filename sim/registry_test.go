package sim

import (
	"testing"

	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/schema/channels"
)

// TestSimulatedChannels walks the channel registry: every entry marked Simulated is served by okxsim, on
// the registry's endpoint, with a generator (or the private hub); and a channel okxsim serves that the
// registry knows is marked Simulated there (channels the registry does not know yet are logged).
func TestSimulatedChannels(t *testing.T) {
	path := map[string]pathKind{schema.EndpointPublic: pathPublic, schema.EndpointBusiness: pathBusiness,
		schema.EndpointPrivate: pathPrivate}
	for _, e := range channels.All() {
		if !e.Simulated {
			continue
		}
		for _, w := range e.WireNames() {
			sp, ok := lookupChannel(w)
			switch {
			case !ok:
				t.Errorf("%s: okxsim does not serve %q (add it to simChannels)", e.Name, w)
			case sp.path != path[e.Endpoint]:
				t.Errorf("%s: okxsim serves it on %s, the registry on %s", w, sp.path, e.Endpoint)
			case sp.private != (e.Endpoint == schema.EndpointPrivate):
				t.Errorf("%s: private in okxsim %v, registry endpoint %s", w, sp.private, e.Endpoint)
			case !sp.private && sp.gen == nil:
				t.Errorf("%s: okxsim has no generator for it", w)
			case sp.l2 != (e.Login && e.Endpoint != schema.EndpointPrivate):
				t.Errorf("%s: login in okxsim %v, registry %v", w, sp.l2, e.Login)
			case e.IsDepth() && sp.depth != e.Book.MaxLevels:
				t.Errorf("%s: okxsim keeps %d levels, the registry says %d", w, sp.depth, e.Book.MaxLevels)
			case !e.IsDepth() && sp.depth != 0:
				t.Errorf("%s: okxsim runs it as an incremental book, the registry does not", w)
			}
		}
	}
	for name, sc := range simChannels {
		w := name
		if name == candlePrefix {
			w = name + "1m"
		}
		e := channels.Lookup(w)
		if e == nil {
			if sc.gen != nil || sc.private {
				t.Logf("okxsim serves %q, which the registry does not know yet", w)
			}
			continue
		}
		if !e.Simulated {
			t.Errorf("okxsim serves %q but its registry entry is not marked Simulated", w)
		}
	}
}
