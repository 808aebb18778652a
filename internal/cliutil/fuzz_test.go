package cliutil

import (
	"strings"
	"testing"
	"time"
)

// FuzzParseTime: never panics; an accepted time round-trips through RFC 3339 and is UTC.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"", "2026-12-01", "2026-12-01T10:00:00Z", "2026-12-01T10:00", "2026-02-30", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := ParseTime(s)
		if err != nil {
			if !strings.Contains(err.Error(), "bad time") {
				t.Fatalf("error %v", err)
			}
			return
		}
		if s == "" && !tm.IsZero() {
			t.Fatalf("%q gave %v", s, tm)
		}
		if tm.Location() != time.UTC {
			t.Fatalf("%q gave a non-UTC time %v", s, tm)
		}
	})
}

// FuzzCheckClickHouseDSN: never panics; never repeats a password; an accepted DSN has a database.
func FuzzCheckClickHouseDSN(f *testing.F) {
	for _, s := range []string{"clickhouse://127.0.0.1:9000/okx", "http://x", "clickhouse://u:pw@h:9000",
		"tcp://h/db?secure=true", "clickhouse://[::1]:9000/db", "%", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		err := CheckClickHouseDSN("clickhouse", dsn)
		if err == nil {
			if !strings.Contains(dsn, "/") {
				t.Fatalf("%q accepted without a database", dsn)
			}
			return
		}
		if !strings.HasPrefix(err.Error(), "--clickhouse") {
			t.Fatalf("error does not name the flag: %v", err)
		}
		if i := strings.Index(dsn, ":pw-secret@"); i >= 0 && strings.Contains(err.Error(), "pw-secret") {
			t.Fatalf("error repeats the password: %v", err)
		}
	})
}

// FuzzCheckListen: never panics; an accepted address splits into host and port.
func FuzzCheckListen(f *testing.F) {
	for _, s := range []string{"127.0.0.1:8443", "abc", ":0", "[::1]:80", "h:99999", "h:http"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		if err := CheckListen("listen", addr); err == nil && !strings.Contains(addr, ":") {
			t.Fatalf("%q accepted", addr)
		}
	})
}

// FuzzCheckDuration: the checks agree with their rule for every value.
func FuzzCheckDuration(f *testing.F) {
	f.Add(int64(0), int64(1), true)
	f.Add(int64(-5), int64(0), false)
	f.Fuzz(func(t *testing.T, d, min int64, zeroOK bool) {
		err := CheckDuration("x", time.Duration(d), time.Duration(min), zeroOK)
		ok := (d == 0 && zeroOK) || (d > 0 && d >= min)
		if (err == nil) != ok {
			t.Fatalf("CheckDuration(%d, min %d, zeroOK %v) = %v", d, min, zeroOK, err)
		}
	})
}
