package report

import (
	"bytes"
	"cmp"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/okxtape/okxtape/internal/browsertest"
)

func TestHTMLInChromium(t *testing.T) {
	browsertest.Chromium(t)
	f, _ := sessionsFixture()
	r := f.build(Options{FromMs: t0, ToMs: t0 + 600000, Source: "test"})
	var buf bytes.Buffer
	if err := WriteHTML(&buf, r); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	if err := os.WriteFile(page, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	dom := browsertest.CheckReport(t, page, "BTC-USDT", "ETH-USDT")
	if n := strings.Count(dom, `<tr class="r-`); n != len(r.Gaps) {
		t.Errorf("gap table rows %d, want %d", n, len(r.Gaps))
	}
	for _, cls := range []string{`class="gaps"`, `class="nodata"`, `<rect class="gap"`, `<rect class="rec"`, `<rect class="cov"`, `<svg class="chart lag"`} {
		if !strings.Contains(dom, cls) {
			t.Errorf("page lacks %s", cls)
		}
	}

	// Sorting runs in the browser: by duration, longest first.
	dom = browsertest.DumpDOM(t, page+"#sort=gap-table:2:desc")
	var secs []float64
	for _, m := range regexp.MustCompile(`<tr class="r-[^"]*"><td data-v="\d+">[^<]*</td><td data-v="\d+">[^<]*</td><td data-v="([^"]+)">`).FindAllStringSubmatch(dom, -1) {
		v, _ := strconv.ParseFloat(m[1], 64)
		secs = append(secs, v)
	}
	if len(secs) != len(r.Gaps) || !slices.IsSortedFunc(secs, func(a, b float64) int { return cmp.Compare(b, a) }) || secs[0] == secs[len(secs)-1] {
		t.Errorf("gap table sorted by seconds, descending: %v", secs)
	}

	// The checks can fail: a script error and an outside load in the same page are caught and shown.
	bad := filepath.Join(dir, "bad.html")
	broken := strings.Replace(buf.String(), "</body>", `<img src="http://203.0.113.1/x.png"><script>noSuchFunction()</script></body>`, 1)
	if err := os.WriteFile(bad, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	dom = browsertest.DumpDOM(t, bad)
	if !strings.Contains(dom, `data-js-errors="`) || !strings.Contains(dom, "noSuchFunction") || !strings.Contains(dom, "blocked load: http://203.0.113.1/x.png") {
		t.Errorf("a broken page was not caught:\n%s", regexp.MustCompile(`(?s)<ul id="js-errors".*?</ul>`).FindString(dom))
	}
}
