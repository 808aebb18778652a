package channels

import (
	"strings"
	"testing"

	"github.com/okxtape/okxtape/schema"
)

func TestLookup(t *testing.T) {
	for wire, want := range map[string]string{
		"tickers": "tickers", "candle1m": "candle", "candle6Hutc": "candle", "mark-price-candle1D": "mark-price-candle",
		"index-candle3M": "index-candle", "books5": "books5", "balance_and_position": "balance_and_position",
		"mark-price": "mark-price",
	} {
		e := Lookup(wire)
		if e == nil || e.Name != want {
			t.Errorf("Lookup(%q) = %v, want entry %q", wire, e, want)
		}
	}
	for _, wire := range []string{"", "candle", "candle7m", "mark-price-candle1s", "candle1m ", "nosuchchannel",
		"Tickers", "liquidation-orders-x"} {
		if e := Lookup(wire); e != nil {
			t.Errorf("Lookup(%q) = %s, want nil", wire, e.Name)
		}
	}
}

func TestLabelIsBounded(t *testing.T) {
	if got := Label("candle1m"); got != "candle1m" {
		t.Errorf("Label(candle1m) = %q", got)
	}
	for _, wire := range []string{"nosuch", "candle9x", "\x00"} {
		if got := Label(wire); got != Other {
			t.Errorf("Label(%q) = %q, want %q", wire, got, Other)
		}
	}
}

func TestValidate(t *testing.T) {
	if err := Validate([]string{"tickers", "candle1m", "books-l2-tbt"}); err != nil {
		t.Fatal(err)
	}
	err := Validate([]string{"tickers", "nosuchchannel", "candle7m"})
	if err == nil {
		t.Fatal("unknown channels accepted")
	}
	for _, want := range []string{`"nosuchchannel"`, `"candle7m"`, "tickers", "candle<bar>", "12Hutc"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	if strings.Contains(err.Error(), `"tickers"`) {
		t.Errorf("error %q names a valid channel as unknown", err)
	}
}

// TestEntriesAreComplete checks every entry's own facts; the decoder, render, digest and simulator walks are
// in their packages' registry tests.
func TestEntriesAreComplete(t *testing.T) {
	wire := map[string]string{}
	for i, e := range All() {
		if e.ID() != i {
			t.Errorf("%s: ID %d at index %d", e.Name, e.ID(), i)
		}
		switch e.Endpoint {
		case schema.EndpointPublic, schema.EndpointBusiness:
		case schema.EndpointPrivate:
			if !e.Login {
				t.Errorf("%s: private channel without Login", e.Name)
			}
		default:
			t.Errorf("%s: endpoint %q", e.Name, e.Endpoint)
		}
		if e.Selector < ByInstID || e.Selector > ByNone {
			t.Errorf("%s: no selector", e.Name)
		}
		if len(e.Kinds) == 0 {
			t.Errorf("%s: no event kinds", e.Name)
		}
		for _, k := range e.AllKinds() {
			if schema.TableOf(k) == nil {
				t.Errorf("%s: kind %s has no table", e.Name, k)
			}
		}
		if len(e.Tables()) != len(e.AllKinds()) {
			t.Errorf("%s: %d tables for %d kinds", e.Name, len(e.Tables()), len(e.AllKinds()))
		}
		if e.Digest != DigestHash && e.Digest != DigestCount {
			t.Errorf("%s: no digest role", e.Name)
		}
		if e.Render != RenderRows && e.Render != RenderRawOnly {
			t.Errorf("%s: no render flag", e.Name)
		}
		if e.Doc == "" {
			t.Errorf("%s: no Doc", e.Name)
		}
		isBook := false
		for _, k := range e.Kinds {
			isBook = isBook || k == schema.KindBook
		}
		if isBook != (e.Book != nil) {
			t.Errorf("%s: emits books %v but has book rules %v", e.Name, isBook, e.Book != nil)
		}
		if e.Book != nil && e.Book.MaxLevels <= 0 {
			t.Errorf("%s: book without MaxLevels", e.Name)
		}
		// The book manager recovers an incremental book by joining a REST snapshot's seqId to the buffered
		// updates: that holds only for a chain shared with the instrument's other depth channels.
		if e.IsDepth() && !e.Book.SharedChain {
			t.Errorf("%s: incremental book without a shared seqId chain: ingest/book's REST join cannot recover it", e.Name)
		}
		for _, w := range e.WireNames() {
			if prev, dup := wire[w]; dup {
				t.Errorf("wire name %q in both %s and %s", w, prev, e.Name)
			}
			wire[w] = e.Name
			if Lookup(w) != e {
				t.Errorf("Lookup(%q) does not find %s", w, e.Name)
			}
		}
	}
}

func TestValidateInstType(t *testing.T) {
	if err := ValidateInstType([]string{"tickers", "liquidation-orders", "instruments", "nosuch"}, "SWAP"); err != nil {
		t.Fatal(err)
	}
	err := ValidateInstType([]string{"tickers", "liquidation-orders"}, "SPOT")
	if err == nil || !strings.Contains(err.Error(), "liquidation-orders") || !strings.Contains(err.Error(), "SWAP") {
		t.Fatalf("SPOT liquidations: %v", err)
	}
	if err := ValidateInstType([]string{"instruments"}, "ANY"); err == nil {
		t.Fatal("instruments accepted ANY")
	}
}

// FuzzLookup: any wire name either finds the entry that lists it among its wire names or nothing, and its
// label is itself or Other.
func FuzzLookup(f *testing.F) {
	for _, w := range []string{"tickers", "candle1m", "candle", "mark-price-candle1s", "", "\xff"} {
		f.Add(w)
	}
	f.Fuzz(func(t *testing.T, wire string) {
		e := Lookup(wire)
		if l := Label(wire); (e == nil) != (l == Other) || (e != nil && l != wire) {
			t.Fatalf("Label(%q) = %q with entry %v", wire, l, e)
		}
		if e == nil {
			return
		}
		for _, w := range e.WireNames() {
			if w == wire {
				return
			}
		}
		t.Fatalf("Lookup(%q) = %s, which does not list it", wire, e.Name)
	})
}
