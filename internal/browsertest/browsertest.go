// Package browsertest opens pages in Debian's headless Chromium for tests: the dumped DOM after scripts ran, and screenshots.
package browsertest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/okxtape/okxtape/internal/testenv"
)

// Requirement is Chromium as a test requirement: CI sets OKXTAPE_REQUIRE_CHROMIUM=1.
var Requirement = testenv.Requirement{Name: "Chromium", Env: "OKXTAPE_REQUIRE_CHROMIUM", Install: "scripts/chromium-install.sh"}

// Chromium returns the browser's path (OKXTAPE_CHROMIUM, else chromium on PATH), or ends the test per
// Requirement when there is none.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{os.Getenv("OKXTAPE_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	Requirement.Missing(t, errors.New("no chromium on PATH"))
	return ""
}

// run starts headless Chromium on a local file with a fresh profile, no network (every host resolves to
// nothing) and the given extra flags, and returns its stdout.
func run(t testing.TB, page string, extra ...string) []byte {
	t.Helper()
	bin := Chromium(t)
	page, fragment, _ := strings.Cut(page, "#")
	if fragment != "" {
		fragment = "#" + fragment
	}
	abs, err := filepath.Abs(page)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--user-data-dir=" + t.TempDir(), "--host-resolver-rules=MAP * ~NOTFOUND",
		"--virtual-time-budget=5000", "--window-size=1100,1700"}, extra...)
	args = append(args, "file://"+abs+fragment)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, tail(errb.String()))
	}
	return out.Bytes()
}

func tail(s string) string {
	if len(s) > 3000 {
		return s[len(s)-3000:]
	}
	return s
}

// DumpDOM returns the page's DOM as serialised after its scripts ran (the load event has fired). page is a
// file path, optionally with a #fragment.
func DumpDOM(t testing.TB, page string) string {
	t.Helper()
	return string(run(t, page, "--dump-dom"))
}

// Screenshot renders the page to a PNG file.
func Screenshot(t testing.TB, page, png string) {
	t.Helper()
	abs, err := filepath.Abs(png)
	if err != nil {
		t.Fatal(err)
	}
	run(t, page, "--screenshot="+abs, "--hide-scrollbars")
	b, err := os.ReadFile(abs)
	if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Fatalf("no PNG screenshot at %s: %v", abs, err)
	}
}

// CheckReport asserts what every `replay report` page must do in a real browser: its scripts ran to the end, no
// script error, nothing loaded from anywhere, the verdict grid shows each instrument, and at least one chart
// is drawn. It returns the dumped DOM.
func CheckReport(t testing.TB, page string, insts ...string) string {
	t.Helper()
	src, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`(?i)(src|href)\s*=\s*"(https?:)?//`).Find(src); m != nil {
		t.Errorf("the page references an outside resource: %s", m)
	}
	dom := DumpDOM(t, page)
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
