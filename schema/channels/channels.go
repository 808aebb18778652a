// Package channels is the registry of the OKX v5 WebSocket channels okxtape knows: one Entry per channel or
// channel pattern holding every fact that routing, decoding, the book manager, replay, the digest and the CLI
// need about it.
package channels

import (
	"fmt"
	"sort"
	"strings"

	"github.com/okxtape/okxtape/schema"
)

// Selector is what a subscription of a channel is keyed by (the field of OKX's "arg" besides "channel").
type Selector uint8

// Selectors.
const (
	ByInstID     Selector = iota + 1 // one subscription per instrument id (--inst)
	ByInstType                       // one per instrument type (--inst-type)
	ByInstFamily                     // one per instrument family
	ByCcy                            // an optional currency; record subscribes without one (all currencies)
	ByNone                           // no selector: one subscription in all
)

var selectorNames = [...]string{ByInstID: "instId", ByInstType: "instType", ByInstFamily: "instFamily",
	ByCcy: "ccy", ByNone: "none"}

func (s Selector) String() string {
	if int(s) < len(selectorNames) && selectorNames[s] != "" {
		return selectorNames[s]
	}
	return fmt.Sprintf("selector(%d)", uint8(s))
}

// Digest is how a channel's events take part in the parity digest (strategies.Digest).
type Digest uint8

// Digest roles.
const (
	// DigestHash: every event is hashed into its stream's chain; live and replay must agree exactly.
	DigestHash Digest = iota + 1
	// DigestCount: events are counted in the digest's summary but not hashed (their content or order is not
	// reproducible between a live run and its replay).
	DigestCount
)

// Render says whether replay serve can re-render a channel's pushes from its normalised rows.
type Render uint8

// Render flags.
const (
	// RenderRows: replay.AppendPush rebuilds the push from a stored row, so serve works without raw frames.
	RenderRows Render = iota + 1
	// RenderRawOnly: serve can only send the channel's raw frames as recorded (--raw-frames).
	RenderRawOnly
)

// ChecksumDeprecated is the day from which OKX sends checksum 0 on every depth channel (demo: 2026-06-02);
// before it, depth channels with Book.Checksum carried a CRC32 of the top 25 levels.
const ChecksumDeprecated = "2026-06-23"

// Book holds the depth-book rules of an order-book channel; its events are *schema.Book and go through the
// book manager, which derives a schema.Quote after every validated message.
type Book struct {
	// Incremental: a snapshot on subscribe, then updates chained by seqId/prevSeqId. Otherwise every message
	// is a full snapshot of the top MaxLevels levels, with no chain (books5, bbo-tbt).
	Incremental bool
	// SharedChain: the seqIds are drawn from one sequence shared with the instrument's other depth channels,
	// so a REST snapshot's seqId can join this channel's chain (the book manager's recovery relies on it for
	// every incremental channel; the registry test enforces it).
	SharedChain bool
	// OrganicOnly: the book holds the organic orders only, which is what REST GET /api/v5/market/books
	// serves, so a REST snapshot can rebuild it. books-rpi (organic + RPI) and books-elp (ELP orders) are
	// other books: they recover from a WebSocket snapshot (resubscribe) only.
	OrganicOnly bool
	// MaxLevels is the depth OKX keeps per side.
	MaxLevels int
	// Checksum: messages carried a CRC32 checksum before ChecksumDeprecated (0 since).
	Checksum bool
}

// Entry is everything okxtape knows about one OKX channel, or about a family of channels named by a prefix
// and a suffix from Suffixes (candle1m, candle1H, ...).
//
// Adding a channel: add its Entry to entries (entries.go), its decoder to ingest/decode/decoders.go under the
// entry's Decoder name and, when Simulated, a generator to sim (generators.go); its event type and Table live
// in schema. The registry tests in ingest/decode, replay, strategies and sim fail until all exist.
type Entry struct {
	// Name is the wire name, or for a pattern the prefix every wire name starts with.
	Name string
	// Suffixes, when non-empty, make the entry a pattern: wire names are Name+suffix.
	Suffixes []string
	// Endpoint is schema.EndpointPublic, EndpointBusiness or EndpointPrivate.
	Endpoint string
	// Selector keys the subscriptions.
	Selector Selector
	// InstTypes, when set, are the instrument types OKX accepts in the channel's instType argument (the
	// others are refused with 60018, so record refuses them up front).
	InstTypes []string
	// Login: the connection must log in before subscribing (every private channel; some public ones).
	Login bool
	// Decoder names the decoder of the channel's "data" in ingest/decode (decoders.go); channels whose
	// messages have the same shape share one (trades and trades-all, the incremental books).
	Decoder string
	// Kinds are the event kinds the channel's decoder emits; Derived those computed from them downstream
	// (the book manager's quotes). Every kind has a schema.Table.
	Kinds   []schema.Kind
	Derived []schema.Kind
	// Book is non-nil for order-book channels.
	Book *Book
	// Render: whether replay serve can re-render the channel's pushes from its normalised rows.
	Render Render
	// Digest is the channel's part in the parity digest.
	Digest Digest
	// Simulated: okxsim serves the channel (sim has a generator for it).
	Simulated bool
	// Doc is a short description for help texts.
	Doc string

	id int
}

// ID is the entry's index in All(): small and dense, for tables indexed by entry.
func (e *Entry) ID() int { return e.id }

// IsPattern reports whether the entry names a family of channels (Name is a prefix).
func (e *Entry) IsPattern() bool { return len(e.Suffixes) > 0 }

// Display is the name shown to users: the wire name, or "candle<bar>" for a pattern.
func (e *Entry) Display() string {
	if e.IsPattern() {
		return e.Name + "<bar>"
	}
	return e.Name
}

// Example returns one valid wire name of the entry (the first suffix of a pattern).
func (e *Entry) Example() string {
	if e.IsPattern() {
		return e.Name + e.Suffixes[0]
	}
	return e.Name
}

// WireNames returns every wire name the entry matches.
func (e *Entry) WireNames() []string {
	if !e.IsPattern() {
		return []string{e.Name}
	}
	out := make([]string, len(e.Suffixes))
	for i, s := range e.Suffixes {
		out[i] = e.Name + s
	}
	return out
}

// Tables returns the tables of the entry's kinds, decoded then derived.
func (e *Entry) Tables() []*schema.Table {
	var out []*schema.Table
	for _, k := range e.AllKinds() {
		if t := schema.TableOf(k); t != nil {
			out = append(out, t)
		}
	}
	return out
}

// AllKinds returns Kinds followed by Derived.
func (e *Entry) AllKinds() []schema.Kind {
	return append(append([]schema.Kind(nil), e.Kinds...), e.Derived...)
}

// IsDepth reports order-book channels with a seqId chain (snapshot + updates): they weigh more on a
// connection and are re-synced by the book manager.
func (e *Entry) IsDepth() bool { return e.Book != nil && e.Book.Incremental }

var (
	all      []*Entry
	exact    = map[string]*Entry{}
	patterns []*Entry // longest prefix first
)

func init() {
	for i := range entries {
		e := &entries[i]
		e.id = i
		all = append(all, e)
		if e.IsPattern() {
			patterns = append(patterns, e)
		} else {
			exact[e.Name] = e
		}
	}
	sort.SliceStable(patterns, func(i, j int) bool { return len(patterns[i].Name) > len(patterns[j].Name) })
}

// All returns every entry, in registry order. The slice is shared: do not modify it.
func All() []*Entry { return all }

// Lookup returns the entry of a wire channel name (a pattern's name with a known suffix included), or nil.
func Lookup(wire string) *Entry {
	if e := exact[wire]; e != nil {
		return e
	}
	for _, e := range patterns {
		if suf, ok := strings.CutPrefix(wire, e.Name); ok && contains(e.Suffixes, suf) {
			return e
		}
	}
	return nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// Other is the metrics label and stats key under which channels unknown to the registry are counted, so a
// misbehaving peer cannot create a label value per name.
const Other = "other"

// Label returns wire when the registry knows it, else Other: a bounded set of values for metric labels.
func Label(wire string) string {
	if Lookup(wire) != nil {
		return wire
	}
	return Other
}

// Names returns the user-facing channel names (patterns as "candle<bar>"), in registry order.
func Names() []string {
	out := make([]string, len(all))
	for i, e := range all {
		out[i] = e.Display()
	}
	return out
}

// ValidateInstType checks an instType for the named channels that take one (Entry.InstTypes); the error
// names the channel and the types it accepts. Unknown names are Validate's business and pass here.
func ValidateInstType(names []string, instType string) error {
	for _, n := range names {
		e := Lookup(n)
		if e == nil || len(e.InstTypes) == 0 || contains(e.InstTypes, instType) {
			continue
		}
		return fmt.Errorf("%s takes --inst-type %s (got %q)", n, strings.Join(e.InstTypes, ", "), instType)
	}
	return nil
}

// Validate checks user-given channel names; the error names the unknown ones and lists the valid ones.
func Validate(names []string) error {
	var bad []string
	for _, n := range names {
		if Lookup(n) == nil {
			bad = append(bad, fmt.Sprintf("%q", n))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("unknown channel %s; valid channels: %s (bars: %s)", strings.Join(bad, ", "),
		strings.Join(Names(), ", "), strings.Join(CandleBars, " "))
}
