package report

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// The sketch's quantiles stay within its relative error of the exact ones, for a skewed distribution.
func TestSketchQuantiles(t *testing.T) {
	var s Sketch
	r := rand.New(rand.NewPCG(1, 2))
	xs := make([]float64, 100000)
	for i := range xs {
		xs[i] = math.Exp(r.NormFloat64()*1.5 + 2) // lognormal, median e^2 ≈ 7.4 ms
		s.Add(xs[i])
	}
	slices.Sort(xs)
	for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.999} {
		exact := xs[int(math.Ceil(q*float64(len(xs))))-1]
		got := s.Quantile(q)
		if math.Abs(got-exact)/exact > 0.02 {
			t.Errorf("q%.3f: sketch %.4f, exact %.4f", q, got, exact)
		}
	}
	if s.Quantile(0) != xs[0] || s.Quantile(1) != xs[len(xs)-1] {
		t.Errorf("extremes: %v %v, want %v %v", s.Quantile(0), s.Quantile(1), xs[0], xs[len(xs)-1])
	}
	var empty Sketch
	if empty.Quantile(0.5) != 0 {
		t.Error("empty sketch")
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}
