package replay

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/okxtape/okxtape/internal/testenv"
)

// ccxtDir holds scripts/ccxt (scripts/ccxt-install.sh puts ccxt in its node_modules).
const ccxtDir = "../scripts/ccxt"

// ccxtReq is the ccxt requirement (CI sets OKXTAPE_REQUIRE_CCXT=1).
var ccxtReq = testenv.Requirement{Name: "ccxt", Env: "OKXTAPE_REQUIRE_CCXT", Install: "scripts/ccxt-install.sh"}

// TestCCXTWatchTickerThenOrderBook runs ccxt's usual order against replay serve: watchTicker, then
// watchOrderBook a few seconds into playback (a late books subscription), then order-book updates, which
// ccxt rejects with InvalidNonce if the seqId chain breaks. The data has no seqIds (served re-rendered with a
// synthetic chain).
func TestCCXTWatchTickerThenOrderBook(t *testing.T) {
	node, err := exec.LookPath("node")
	ccxtReq.Check(t, err)
	_, err = os.Stat(ccxtDir + "/node_modules/ccxt/package.json")
	ccxtReq.Check(t, err)
	url := startServer(t, ServeOptions{Source: NewParquetSource(depthStore(t, false)), Speed: 2})
	cmd := exec.Command(node, "serve_check.mjs", url, "BTC-USDT", "20", "10")
	cmd.Dir = ccxtDir
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("ccxt: %v\n%s%s", err, out, stderr)
	}
	var r struct {
		TickerTs, BookTs  int64
		FirstNonce, Nonce int64
		Bids, Asks        int
		BestBid, BestAsk  float64
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(string(out))), &r); err != nil {
		t.Fatalf("ccxt output %q: %v", out, err)
	}
	// 20 tickers are 2 s of playback: the book joined there, at a rebuilt snapshot, and kept 10 updates.
	if r.TickerTs < day0+1900 || r.BookTs < r.TickerTs || r.Nonce != r.FirstNonce+10 || r.Bids == 0 || r.Asks == 0 ||
		r.BestBid >= r.BestAsk {
		t.Fatalf("ccxt saw %+v", r)
	}
}
