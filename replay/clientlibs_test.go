package replay

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/okxtape/okxtape/internal/testenv"
)

// wsClientsDir holds the client-library scripts (scripts/wsclients-install.sh puts the libraries in its
// node_modules).
const wsClientsDir = "../scripts/wsclients"

// wsClients is the client-library requirement (CI sets OKXTAPE_REQUIRE_WSCLIENTS=1).
var wsClients = testenv.Requirement{Name: "the OKX client libraries (ccxt, okx-api)", Env: "OKXTAPE_REQUIRE_WSCLIENTS",
	Install: "scripts/wsclients-install.sh"}

// runClientLib runs a script of scripts/wsclients against a server replaying depthStore (no seqIds, served
// re-rendered with a synthetic chain) and decodes its JSON line into out.
func runClientLib(t *testing.T, script, lib string, out any) {
	node, err := exec.LookPath("node")
	wsClients.Check(t, err)
	_, err = os.Stat(filepath.Join(wsClientsDir, "node_modules", lib, "package.json"))
	wsClients.Check(t, err)
	url := startServer(t, ServeOptions{Source: NewParquetSource(depthStore(t, false)), Speed: 2})
	cmd := exec.Command(node, script, url, "BTC-USDT", "20", "10")
	cmd.Dir = wsClientsDir
	stdout, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("%s: %v\n%s%s", lib, err, stdout, stderr)
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(string(stdout))), out); err != nil {
		t.Fatalf("%s output %q: %v", lib, stdout, err)
	}
}

// TestCCXTWatchTickerThenOrderBook: ccxt's usual order — watchTicker, then watchOrderBook a few seconds into
// playback (a late books subscription) — keeps a book through 10 updates (ccxt rejects a broken seqId chain
// with InvalidNonce).
func TestCCXTWatchTickerThenOrderBook(t *testing.T) {
	var r struct {
		TickerTs, BookTs  int64
		FirstNonce, Nonce int64
		Bids, Asks        int
		BestBid, BestAsk  float64
	}
	runClientLib(t, "ccxt_check.mjs", "ccxt", &r)
	// 20 tickers are 2 s of playback: the book joined there, at a rebuilt snapshot, and kept 10 updates.
	t.Logf("ccxt: %+v", r)
	if r.TickerTs < day0+1900 || r.BookTs < r.TickerTs || r.Nonce != r.FirstNonce+10 || r.Bids == 0 || r.Asks == 0 ||
		r.BestBid >= r.BestAsk {
		t.Fatalf("ccxt saw %+v", r)
	}
}

// TestOKXAPILateBooksSubscription: okx-api's WebsocketClient subscribing books after 20 tickers gets a
// snapshot at that playback time and 10 chained updates.
func TestOKXAPILateBooksSubscription(t *testing.T) {
	var r struct {
		TickerTs, BookTs   int64
		Snapshots, Updates int
		Bids, Asks         int
		BestBid, BestAsk   float64
	}
	runClientLib(t, "okxapi_check.mjs", "okx-api", &r)
	t.Logf("okx-api: %+v", r)
	if r.TickerTs < day0+1900 || r.BookTs < r.TickerTs || r.Snapshots != 1 || r.Updates != 10 || r.Bids == 0 ||
		r.Asks == 0 || r.BestBid >= r.BestAsk {
		t.Fatalf("okx-api saw %+v", r)
	}
}
