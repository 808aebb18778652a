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
