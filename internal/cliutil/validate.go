package cliutil

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Flag checks. Each returns nil or an error that names the flag and says what is accepted; the commands
// turn it into exit status 2 (bad usage).

// CheckDuration refuses a duration below min; zeroOK also accepts exactly 0 (meaning "off" or "none").
func CheckDuration(flag string, d, min time.Duration, zeroOK bool) error {
	if d == 0 && zeroOK {
		return nil
	}
	if d < 0 || d < min || d == 0 {
		want := "at least " + min.String()
		if min <= 0 {
			want = "positive"
		}
		if zeroOK {
			want = "0 or " + want
		}
		return fmt.Errorf("--%s %s: must be %s", flag, d, want)
	}
	return nil
}

// CheckInt refuses an integer outside [min, max].
func CheckInt(flag string, v, min, max int) error {
	if v < min || v > max {
		return fmt.Errorf("--%s %d: must be from %d to %d", flag, v, min, max)
	}
	return nil
}

// CheckGC refuses --gc-percent below -1, a negative --memory-limit-mb, and turning the GC off (-1) with no
// memory limit (neither the flag nor GOMEMLIMIT): the heap would then grow without bound.
func CheckGC(gcPercent, memLimitMB int, envMemLimit string) error {
	if err := CheckInt("gc-percent", gcPercent, -1, 1<<20); err != nil {
		return err
	}
	if err := CheckInt("memory-limit-mb", memLimitMB, 0, 1<<30); err != nil {
		return err
	}
	if gcPercent == -1 && memLimitMB == 0 && envMemLimit == "" {
		return fmt.Errorf("--gc-percent -1 turns the garbage collector off; give it a --memory-limit-mb above 0 (or GOMEMLIMIT)")
	}
	return nil
}

var dbName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// CheckClickHouseDSN accepts clickhouse://[user[:password]@]host:port/database[?params] (or tcp://) and
// refuses another scheme, a missing host or a missing or malformed database name. The error never repeats
// the password.
func CheckClickHouseDSN(flag, dsn string) error {
	u, err := url.Parse(dsn)
	if err != nil {
		return fmt.Errorf("--%s: not a URL; want clickhouse://host:9000/database", flag)
	}
	shown := u.Redacted()
	if u.Scheme != "clickhouse" && u.Scheme != "tcp" {
		return fmt.Errorf("--%s %s: scheme %q is not supported; want clickhouse://host:9000/database (the native protocol, not HTTP)",
			flag, shown, u.Scheme)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("--%s %s: no host; want clickhouse://host:9000/database", flag, shown)
	}
	db := strings.Trim(u.Path, "/")
	if db == "" {
		return fmt.Errorf("--%s %s: names no database; add one, e.g. %s://%s/okxtape", flag, shown, u.Scheme, u.Host)
	}
	if !dbName.MatchString(db) {
		return fmt.Errorf("--%s %s: database name %q must match %s", flag, shown, db, dbName)
	}
	return nil
}

// CheckListen accepts host:port with a numeric port (0: any free port) or a service name; it does not bind.
func CheckListen(flag, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--%s %q: want host:port, e.g. 127.0.0.1:8443", flag, addr)
	}
	if n, err := strconv.Atoi(port); err == nil && (n < 0 || n > 65535) {
		return fmt.Errorf("--%s %q: port %d is out of range", flag, addr, n)
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return fmt.Errorf("--%s %q: unknown port %q", flag, addr, port)
	}
	return nil
}
