package cliutil

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// Credentials are OKX API credentials. They print as "[redacted]" in every format so they cannot leak
// into logs by accident.
type Credentials struct {
	APIKey, Secret, Passphrase string
}

// String redacts.
func (Credentials) String() string { return "[redacted]" }

// GoString redacts.
func (Credentials) GoString() string { return "[redacted]" }

// Empty reports whether no credential is set.
func (c Credentials) Empty() bool { return c.APIKey == "" && c.Secret == "" && c.Passphrase == "" }

// LoadCredentials reads OKX_API_KEY, OKX_API_SECRET and OKX_API_PASSPHRASE from the environment, or from
// file (lines KEY=VALUE with the same names) when file is set. The file must not be readable by group or
// others (chmod 600). Environment variables win over the file.
func LoadCredentials(file string) (Credentials, error) {
	vals := map[string]string{}
	if file != "" {
		st, err := os.Stat(file)
		if err != nil {
			return Credentials{}, fmt.Errorf("credentials file: %w", err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			return Credentials{}, fmt.Errorf("credentials file %s is readable by others (mode %v): chmod 600 it", file, st.Mode().Perm())
		}
		f, err := os.Open(file)
		if err != nil {
			return Credentials{}, fmt.Errorf("credentials file: %w", err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				return Credentials{}, fmt.Errorf("credentials file %s line %d: want KEY=VALUE", file, n)
			}
			vals[strings.TrimSpace(strings.TrimPrefix(k, "export "))] = strings.Trim(strings.TrimSpace(v), `"'`)
		}
		if err := sc.Err(); err != nil {
			return Credentials{}, fmt.Errorf("credentials file: %w", err)
		}
	}
	for _, k := range []string{"OKX_API_KEY", "OKX_API_SECRET", "OKX_API_PASSPHRASE"} {
		if v := os.Getenv(k); v != "" {
			vals[k] = v
		}
	}
	c := Credentials{APIKey: vals["OKX_API_KEY"], Secret: vals["OKX_API_SECRET"], Passphrase: vals["OKX_API_PASSPHRASE"]}
	if !c.Empty() && (c.APIKey == "" || c.Secret == "" || c.Passphrase == "") {
		return Credentials{}, fmt.Errorf("incomplete OKX credentials: set all of OKX_API_KEY, OKX_API_SECRET and OKX_API_PASSPHRASE")
	}
	return c, nil
}
