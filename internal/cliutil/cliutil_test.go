package cliutil

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"", time.Time{}, false},
		{"2026-12-01", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), false},
		{"2026-12-01T10:00:00Z", time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), false},
		{"2026-12-01T10:00:00+02:00", time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC), false},
		{"2026-12-01T10:30", time.Date(2026, 12, 1, 10, 30, 0, 0, time.UTC), false},
		{"yesterday", time.Time{}, true},
	} {
		got, err := ParseTime(c.in)
		if (err != nil) != c.err || !got.Equal(c.want) {
			t.Errorf("ParseTime(%q) = %v, %v", c.in, got, err)
		}
	}
}

func TestSplitList(t *testing.T) {
	got := SplitList([]string{"a,b", " c ", "", "d,,e"})
	if strings.Join(got, "|") != "a|b|c|d|e" {
		t.Fatalf("got %v", got)
	}
}

func TestLoadCredentials(t *testing.T) {
	for _, k := range []string{"OKX_API_KEY", "OKX_API_SECRET", "OKX_API_PASSPHRASE"} {
		t.Setenv(k, "")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "okx.env")
	os.WriteFile(file, []byte("# demo account\nOKX_API_KEY=k1\nexport OKX_API_SECRET=\"s1\"\nOKX_API_PASSPHRASE=p1\n"), 0o600)

	c, err := LoadCredentials(file)
	if err != nil || c.APIKey != "k1" || c.Secret != "s1" || c.Passphrase != "p1" {
		t.Fatalf("file: %v %v", c.APIKey, err)
	}
	t.Setenv("OKX_API_SECRET", "s2")
	if c, _ = LoadCredentials(file); c.Secret != "s2" {
		t.Fatal("the environment does not win over the file")
	}
	if s := fmt.Sprintf("%v %+v %#v %s", c, c, c, c); strings.Contains(s, "s2") || strings.Contains(s, "p1") {
		t.Fatalf("credentials print their secrets: %s", s)
	}
	os.Chmod(file, 0o644)
	if _, err := LoadCredentials(file); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a world-readable file is accepted: %v", err)
	}
	t.Setenv("OKX_API_SECRET", "")
	t.Setenv("OKX_API_KEY", "only-key")
	if _, err := LoadCredentials(""); err == nil {
		t.Fatal("incomplete credentials accepted")
	}
	t.Setenv("OKX_API_KEY", "")
	if c, err := LoadCredentials(""); err != nil || !c.Empty() {
		t.Fatalf("no credentials: %v", err)
	}
}
