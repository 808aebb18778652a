package decode

import (
	"errors"
	"math"
	"testing"

	"github.com/okxtape/okxtape/schema"
)

// FuzzRESTBooks: the REST snapshot parser never panics, and what it accepts is a usable snapshot: levels
// with a price above 0 and a size not below 0 (both finite), strings aligned with the levels, an exchange
// ts; what it refuses is an ErrMalformed, ErrBadValue or *APIError.
func FuzzRESTBooks(f *testing.F) {
	addSeeds(f)
	for _, s := range []string{
		`{"code":"0","msg":"","data":[{"asks":[["41006.8","0.60038921","0","1"]],"bids":[["41006.3","0.30178218","0","2"]],"ts":"1629966436396","seqId":"3"}]}`,
		`{"code":"0","data":[{"asks":[["Inf","1","0","1"]],"bids":[],"ts":"5"}]}`,
		`{"code":"51001","msg":"Instrument ID does not exist","data":[]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		b, raw, err := ParseRESTBooks(body)
		if err != nil {
			var api *APIError
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrBadValue) && !errors.As(err, &api) {
				t.Fatalf("error of no known kind: %v", err)
			}
			return
		}
		if b.Action != schema.ActionSnapshot || b.PrevSeqID != -1 || b.Ts <= 0 {
			t.Fatalf("not a snapshot: %+v", b)
		}
		if len(raw.Bids) != len(b.Bids) || len(raw.Asks) != len(b.Asks) {
			t.Fatal("strings not aligned with levels")
		}
		for _, side := range [][]schema.Level{b.Bids, b.Asks} {
			for _, l := range side {
				if !(l.Px > 0) || math.IsInf(l.Px, 0) || !(l.Sz >= 0) || math.IsInf(l.Sz, 0) {
					t.Fatalf("bad level accepted: %+v", l)
				}
			}
		}
	})
}
