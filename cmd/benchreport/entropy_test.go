package main

import (
	"math"
	"math/rand/v2"
	"testing"
)

// uniform returns n symbols drawn uniformly at random from k values (spread over a wide range), one key.
func uniform(rng *rand.Rand, k, n int) ([]uint64, []int32) {
	sym, key := make([]uint64, n), make([]int32, n)
	for i := range sym {
		sym[i] = uint64(rng.IntN(k)) * 7919
	}
	return sym, key
}

// TestEntropyFloor checks the estimators on sequences whose entropy is known.
func TestEntropyFloor(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	one := func(n int) []int32 { return make([]int32, n) }
	arith := make([]int64, 500)
	for i := range arith {
		arith[i] = 1_000_000 + 7*int64(i)
	}
	arithD, arithK := keyedDeltas(arith, one(len(arith)))
	sched := make([]uint64, 600) // the mix's trade times: 10, 10, 30 ms apart
	for i := range sched {
		sched[i] = []uint64{10, 10, 30}[i%3]
	}
	for _, tc := range []struct {
		name     string
		sym      []uint64
		key      []int32
		want     float64 // bits per symbol
		tol      float64 // entropyFloor may lie this far below want (never above)
		plugWant float64 // plugInBits' exact value, when it is known (-1: not checked)
	}{
		{"constant", make([]uint64, 1000), one(1000), 0, 0, 0},
		{"uniform 2", first(uniform(rng, 2, 4000)), one(4000), 1, 0.02, -1},
		{"uniform 8", first(uniform(rng, 8, 8000)), one(8000), 3, 0.05, -1},
		{"uniform 1000", first(uniform(rng, 1000, 20000)), one(20000), math.Log2(1000), 0.1, -1},
		// 2^16 values, as many rows: the plug-in estimate sees about 15.2 bits, the collision bound nearly 16.
		{"uniform 65536 (undersampled)", first(uniform(rng, 1<<16, 1<<16)), one(1 << 16), 16, 0.1, -1},
		{"exact counts, 8 values", cycle(8, 800), one(800), 3, 3, 3},
		{"arithmetic sequence, differences", arithD, arithK, 0, 0, 0},
		{"periodic schedule", sched, one(len(sched)), 0, 0, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := entropyFloor(tc.sym, tc.key)
			if got > tc.want+1e-9 || got < tc.want-tc.tol {
				t.Errorf("entropyFloor = %.4f bits, want %.4f (at most %.2f below)", got, tc.want, tc.tol)
			}
			if p := plugInBits(tc.sym, tc.key); tc.plugWant >= 0 && math.Abs(p-tc.plugWant) > 1e-9 {
				t.Errorf("plugInBits = %.6f, want %.6f", p, tc.plugWant)
			}
		})
	}
	// The plug-in estimate is capped by the sample (log2 n bits); the collision bound is not.
	sym, key := uniform(rng, 1<<16, 1<<16)
	if p, f := plugInBits(sym, key), entropyFloor(sym, key); p > 16 || f < p+0.5 {
		t.Errorf("2^16 values: plug-in %.2f bits, floor %.2f: want the floor well above the plug-in", p, f)
	}
}

func first(s []uint64, _ []int32) []uint64 { return s }

// cycle returns n symbols cycling through k values (each value exactly n/k times).
func cycle(k, n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = uint64(i % k)
	}
	return out
}

// TestEntropyPerInstrument interleaves two instruments by row group (192 rows of A, 192 of B, then A and B
// again) and checks that values are measured given the instrument and differences within it: the result
// equals the weighted per-instrument results, and no difference spans two instruments.
func TestEntropyPerInstrument(t *testing.T) {
	var vals []int64
	var sym []uint64
	var key []int32
	next := [2]int64{1_000, 5_000_000}
	step := [2]int64{7, 3}
	for g := range 4 {
		k := int32(g % 2)
		for i := range 192 {
			vals = append(vals, next[k])
			next[k] += step[k]
			// A: 4 values, B: 16 values, each equally often; B's values overlap A's.
			sym = append(sym, uint64(i%(4+12*int(k))))
			key = append(key, k)
		}
	}
	want := (384*2.0 + 384*4.0) / 768
	if got := plugInBits(sym, key); math.Abs(got-want) > 1e-9 {
		t.Errorf("plugInBits = %.6f, want %.6f (A 2 bits, B 4 bits, equally many rows)", got, want)
	}
	if pooled := plugInBits(sym, make([]int32, len(sym))); pooled <= want {
		t.Errorf("pooled %.4f bits not above the per-instrument %.4f: the key is not used", pooled, want)
	}
	d, dk := keyedDeltas(vals, key)
	if len(d) != len(vals)-2 {
		t.Fatalf("%d differences of %d rows of 2 instruments", len(d), len(vals))
	}
	for i := range d {
		if int64(d[i]) != step[dk[i]] {
			t.Fatalf("difference %d of instrument %d is %d, want %d", i, dk[i], int64(d[i]), step[dk[i]])
		}
	}
	if h := entropyFloor(d, dk); h != 0 {
		t.Errorf("differences within each instrument are constant, entropy %.4f", h)
	}
}

// TestLengthCode checks the integer code's cost: it lies above the entropy, and for values of one bit
// length it is the bits below the leading one.
func TestLengthCode(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	sym := make([]uint64, 5000)
	for i := range sym {
		sym[i] = uint64(math.Exp(10 + 1.5*rng.NormFloat64()))
	}
	key := make([]int32, len(sym))
	if c, h := lengthCodeBits(sym, key), entropyFloor(sym, key); c < h {
		t.Errorf("log-normal: code %.2f bits below the entropy floor %.2f", c, h)
	}
	same := []uint64{64, 100, 127, 90} // zigzag 128..254: 8 bits, 7 below the leading one
	if c := lengthCodeBits(same, make([]int32, 4)); c != 7 {
		t.Errorf("code of 8-bit values = %v bits, want 7", c)
	}
}
