package replay

import (
	"math"
	"testing"
)

// FuzzParseSpeed: never panics; an accepted speed is 0 (max) or a finite factor within [MinSpeed, MaxSpeed].
func FuzzParseSpeed(f *testing.F) {
	for _, s := range []string{"max", "1", "10x", "0.5", "1e-300", "NaN", "-1", "Inf", "0", " 2 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseSpeed(s)
		if err != nil {
			return
		}
		if v != 0 && !(v >= MinSpeed && v <= MaxSpeed) || math.IsNaN(v) {
			t.Fatalf("ParseSpeed(%q) = %v", s, v)
		}
	})
}
