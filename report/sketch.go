package report

import "math"

// Sketch is a bounded-memory quantile sketch over non-negative values (milliseconds): logarithmic buckets
// with a relative error of about 1 %, a fixed array whatever the number of samples. Values below sketchMin
// share the first bucket; values above sketchMax the last.
type Sketch struct {
	counts   [sketchBuckets]uint64
	n        uint64
	min, max float64
}

const (
	sketchGamma   = 1.02
	sketchMin     = 0.001 // 1 µs
	sketchBuckets = 1400  // sketchMin·γ^1400 ≈ 1.1e9 ms ≈ 13 days
)

var logGamma = math.Log(sketchGamma)

// Add records one value.
func (s *Sketch) Add(v float64) {
	if s.n == 0 || v < s.min {
		s.min = v
	}
	if s.n == 0 || v > s.max {
		s.max = v
	}
	s.n++
	s.counts[sketchIndex(v)]++
}

func sketchIndex(v float64) int {
	if !(v > sketchMin) {
		return 0
	}
	i := int(math.Log(v/sketchMin)/logGamma) + 1
	return min(i, sketchBuckets-1)
}

// N returns the number of values added.
func (s *Sketch) N() uint64 { return s.n }

// Quantile returns an estimate of the q-quantile (0 ≤ q ≤ 1): the midpoint of the bucket holding it,
// clamped to the exact minimum and maximum. It is 0 for an empty sketch.
func (s *Sketch) Quantile(q float64) float64 {
	if s.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(s.n)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range s.counts {
		if seen += c; seen >= rank {
			v := sketchMin
			if i > 0 {
				lo := sketchMin * math.Pow(sketchGamma, float64(i-1))
				v = lo * (1 + sketchGamma) / 2
			}
			return math.Min(math.Max(v, s.min), s.max)
		}
	}
	return s.max
}

// median returns the median of xs, reordering xs.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sortFloats(xs)
	m := len(xs) / 2
	if len(xs)%2 == 1 {
		return xs[m]
	}
	return (xs[m-1] + xs[m]) / 2
}
