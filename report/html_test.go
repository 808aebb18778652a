package report

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/okxtape/okxtape/internal/browsertest"
)

// CheckPage asserts what every report page must do in a real browser: its scripts ran to the end, no
// script error, nothing loaded from anywhere, the verdict grid shows each instrument, and at least one chart
// is drawn. It returns the dumped DOM.
func CheckPage(t *testing.T, page string, insts ...string) string {
	t.Helper()
	src, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`(?i)(src|href)\s*=\s*"(https?:)?//`).Find(src); m != nil {
		t.Errorf("the page references an outside resource: %s", m)
	}
	dom := browsertest.DumpDOM(t, page)
	if !strings.Contains(dom, `data-ready="1"`) {
		t.Errorf("the page's script did not finish (no data-ready on <html>):\n%s", head(dom))
	}
	if m := regexp.MustCompile(`data-js-errors="\d+"`).FindString(dom); m != "" {
		t.Errorf("script errors: %s\n%s", m, regexp.MustCompile(`(?s)<ul id="js-errors".*?</ul>`).FindString(dom))
	}
	if !strings.Contains(dom, `data-resources="0"`) {
		t.Errorf("the page loaded resources: %s", regexp.MustCompile(`data-resources="[^"]*"`).FindString(dom))
	}
	grid := regexp.MustCompile(`(?s)<section id="verdicts">.*?</section>`).FindString(dom)
	for _, i := range insts {
		if !strings.Contains(grid, `<th class="inst">`+i+`</th>`) {
			t.Errorf("verdict grid lacks %s", i)
		}
		if !strings.Contains(dom, `data-inst="`+i+`"`) {
			t.Errorf("no coverage timeline for %s", i)
		}
	}
	if n := strings.Count(dom, `<path class="series"`); n == 0 || !strings.Contains(dom, `<svg class="chart rate"`) {
		t.Errorf("no rate chart with series drawn (%d series paths)", n)
	}
	if !strings.Contains(dom, `id="gap-table" data-sortable="ready"`) {
		t.Error("the gap table's sorting was not set up")
	}
	return dom
}

func head(s string) string {
	if len(s) > 1500 {
		return s[:1500]
	}
	return s
}

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
	dom := CheckPage(t, page, "BTC-USDT", "ETH-USDT")
	if n := strings.Count(dom, `<tr class="r-`); n != len(r.Gaps) {
		t.Errorf("gap table rows %d, want %d", n, len(r.Gaps))
	}
	for _, cls := range []string{`class="gaps"`, `class="nodata"`, `<rect class="gap"`, `<rect class="rec"`, `<rect class="cov"`, `<svg class="chart lag"`} {
		if !strings.Contains(dom, cls) {
			t.Errorf("page lacks %s", cls)
		}
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
