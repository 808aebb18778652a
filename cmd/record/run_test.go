package main

import (
	"reflect"
	"testing"

	"github.com/okxtape/okxtape/ingest/decode"
)

// TestSubscriptionsFollowTheRegistrySelector: instId channels get one arg per instrument, instType channels
// one with --inst-type, selector-less ones a bare arg; a private channel asks for login.
func TestSubscriptionsFollowTheRegistrySelector(t *testing.T) {
	subs, login := subscriptions([]string{"tickers", "orders", "balance_and_position", "account"},
		[]string{"BTC-USDT", "ETH-USDT"}, "SWAP")
	want := []decode.Arg{{Channel: "tickers", InstID: "BTC-USDT"}, {Channel: "tickers", InstID: "ETH-USDT"},
		{Channel: "orders", InstType: "SWAP"}, {Channel: "balance_and_position"}, {Channel: "account"}}
	if !reflect.DeepEqual(subs, want) || !login {
		t.Fatalf("subscriptions = %+v, login %v", subs, login)
	}
	if _, login := subscriptions([]string{"books-l2-tbt", "candle1m"}, []string{"BTC-USDT"}, "SPOT"); login {
		t.Fatal("public channels asked for login")
	}
}

// TestWithListings: --all-instruments adds the instruments channel once (for validation and subscription).
func TestWithListings(t *testing.T) {
	names := []string{"tickers", "books"}
	if got := withListings(names, false); !reflect.DeepEqual(got, names) {
		t.Fatalf("without --all-instruments: %v", got)
	}
	if got := withListings(names, true); !reflect.DeepEqual(got, []string{"tickers", "books", "instruments"}) ||
		len(names) != 2 {
		t.Fatalf("with --all-instruments: %v (input %v)", got, names)
	}
	if got := withListings([]string{"instruments"}, true); len(got) != 1 {
		t.Fatalf("instruments twice: %v", got)
	}
	subs, l := followListings([]string{"tickers", "liquidation-orders"}, []string{"A-SWAP"}, nil, "SWAP", nil)
	if !reflect.DeepEqual(subs, []decode.Arg{{Channel: "instruments", InstType: "SWAP"}}) ||
		!reflect.DeepEqual(l.perInst, []string{"tickers"}) || !l.live["A-SWAP"] {
		t.Fatalf("followListings: %+v, %+v", subs, l)
	}
}
