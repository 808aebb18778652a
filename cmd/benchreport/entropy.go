package main

import (
	"math"
	"math/bits"
)

// Entropy estimators for the store-size floor (floor.go). A column is a sequence of symbols (exact values:
// integers, whole units of a decimal grid, float64 bit patterns, string dictionary ids) with a key per row
// (the instrument; every row group of the store holds one instrument, so a per-column coder may model each
// instrument on its own). Every estimate here is meant to lie below the true entropy: a floor.

// contextRows is how many rows an instrument needs per (two-symbol context, symbol) cell, k^3 of them for k
// distinct symbols, for entropyFloor to also look at the two symbols before each: with fewer, a plug-in
// estimate given a context is starved of samples and falls far below the entropy (about k^3 / (2 n ln 2)
// bits, here at most 0.09).
const contextRows = 8

// entropyFloor returns a lower-bound estimate of the bits per symbol a coder of sym pays, given key: the
// larger of the plug-in entropy and the collision bound (two estimates below the order-0 entropy), and
// for a small alphabet the smaller of that and the plug-in entropy given the two symbols before (a
// schedule such as the mix's trade times, 10, 10, 30 ms apart, is not independent draws; a coder that saw
// more than two symbols back could do better on longer patterns, which the mix's values do not have).
func entropyFloor(sym []uint64, key []int32) float64 {
	h := max(plugInBits(sym, key), collisionBits(sym, key))
	if k, rows := alphabet(sym, key); float64(k)*float64(k)*float64(k)*contextRows <= float64(rows) {
		h = min(h, contextBits(sym, key))
	}
	return h
}

type keySym struct {
	k int32
	s uint64
}

// counts returns how often each symbol occurs per key, and the rows per key.
func counts(sym []uint64, key []int32) (map[keySym]int, map[int32]int) {
	c, perKey := make(map[keySym]int, 1024), map[int32]int{}
	for i, s := range sym {
		c[keySym{key[i], s}]++
		perKey[key[i]]++
	}
	return c, perKey
}

// plugInBits returns the plug-in (empirical order-0) entropy of sym conditioned on key, in bits per symbol:
// sum over keys of n_k/n times the entropy of the empirical distribution of that key's symbols. The plug-in
// estimate is biased low: its expectation is below the true entropy and it never exceeds log2(n_k) bits,
// however many values the source can take, so a floor built from it is conservative (for columns of
// mostly distinct values, such as receive times in ns, it is the sample size that it measures).
func plugInBits(sym []uint64, key []int32) float64 {
	if len(sym) == 0 {
		return 0
	}
	c, perKey := counts(sym, key)
	var b float64
	for ks, n := range c {
		b += float64(n) * math.Log2(float64(perKey[ks.k])/float64(n))
	}
	return b / float64(len(sym))
}

// collisionBits returns a lower bound of the order-0 entropy of sym given key that the sample size does not
// cap: with a class T(x) (the bit length and the trailing decimal zeros of x), H(X|K) = H(T|K) + H(X|T,K),
// and H(X|T=t,K=k) is at least the collision entropy -log2(sum of p(x)^2), whose sum is estimated without
// bias by the share of equal pairs among a class's pairs of rows (per key; keys pooled within a class by
// Jensen's inequality, which only lowers it). The pair share is raised to an upper confidence limit (about
// 97.5 %, Poisson) so noise does not lift the bound; a class with no equal pair counts as 3 pairs.
// H(T|K) is a plug-in estimate over at most 65 x 16 classes.
func collisionBits(sym []uint64, key []int32) float64 {
	if len(sym) == 0 {
		return 0
	}
	c, _ := counts(sym, key)
	type kt struct {
		k int32
		t uint64
	}
	rows, equal := map[kt]float64{}, map[kt]float64{} // per key and class: rows, pairs of equal rows
	cls := make([]uint64, len(sym))
	for i, s := range sym {
		cls[i] = class(s)
	}
	for ks, n := range c {
		x := kt{ks.k, class(ks.s)}
		rows[x] += float64(n)
		equal[x] += float64(n) * float64(n-1) / 2
	}
	perClass := map[uint64]float64{}
	for x, n := range rows {
		perClass[x.t] += n
	}
	// Per class t, over its keys weighted by their rows n_kt/n_t: q the share of equal pairs, eq the equal
	// pairs, lone 1/pairs (for a class without an equal pair).
	q, eq, lone := map[uint64]float64{}, map[uint64]float64{}, map[uint64]float64{}
	for x, n := range rows {
		w := n / perClass[x.t]
		all := n * (n - 1) / 2
		if all == 0 { // a single row tells nothing: the class may hold one value
			q[x.t] += w
			lone[x.t] += w
			continue
		}
		q[x.t] += w * equal[x] / all
		eq[x.t] += equal[x]
		lone[x.t] += w / all
	}
	b := plugInBits(cls, key)
	for t, n := range perClass {
		up := lone[t] * 3
		if e := eq[t]; e > 0 {
			up = q[t] * ((math.Sqrt(e)+1)*(math.Sqrt(e)+1) + 1) / e
		}
		b += n / float64(len(sym)) * -math.Log2(min(up, 1))
	}
	return b
}

// class is a symbol's bit length (zigzag, so small negative differences are short) and its trailing
// decimal zeros (up to 15): round sizes ("0.0002") fall in other classes than full-precision ones.
func class(s uint64) uint64 {
	v := int64(s)
	z := uint64(v<<1) ^ uint64(v>>63)
	tz := uint64(0)
	for a := v; a != 0 && a%10 == 0 && tz < 15; a /= 10 {
		tz++
	}
	return uint64(bits.Len64(z))<<4 | tz
}

// alphabet returns the most distinct symbols any key has and the fewest rows any key has.
func alphabet(sym []uint64, key []int32) (distinct, rows int) {
	c, perKey := counts(sym, key)
	per := map[int32]int{}
	rows = len(sym)
	for ks := range c {
		per[ks.k]++
		distinct = max(distinct, per[ks.k])
	}
	for _, n := range perKey {
		rows = min(rows, n)
	}
	return distinct, rows
}

// contextBits returns the plug-in entropy of each symbol given its key and the two symbols of that key
// before it (the first two of a key have shorter contexts).
func contextBits(sym []uint64, key []int32) float64 {
	type hist struct {
		a, b uint64
		n    int
	}
	last := map[int32]hist{}
	ctx := make([]int32, len(sym))
	ids := map[[4]uint64]int32{}
	for i, s := range sym {
		h := last[key[i]]
		c := [4]uint64{uint64(key[i]), uint64(min(h.n, 2)), h.a, h.b}
		id, ok := ids[c]
		if !ok {
			id = int32(len(ids))
			ids[c] = id
		}
		ctx[i] = id
		last[key[i]] = hist{a: h.b, b: s, n: h.n + 1}
	}
	return plugInBits(sym, ctx)
}

// keyedDeltas returns v[i] minus the previous value of the same key, for every row except each key's
// first (which is dropped: leaving it out only lowers the floor), with the key of each difference.
func keyedDeltas(v []int64, key []int32) (d []uint64, dkey []int32) {
	last := map[int32]int64{}
	d, dkey = make([]uint64, 0, len(v)), make([]int32, 0, len(v))
	for i, x := range v {
		if p, ok := last[key[i]]; ok {
			d, dkey = append(d, uint64(x-p)), append(dkey, key[i])
		}
		last[key[i]] = x
	}
	return d, dkey
}

// lengthCodeBits returns what a simple integer code pays per value, in bits: the bit length of each value
// (zigzag for signed) through an order-0 entropy code conditioned on key, then the bits below its leading
// one as they are. It is an achievable cost (a real code), so it lies above the entropy; its alphabet is at
// most 65 symbols, so unlike plugInBits it is not capped by the sample size.
func lengthCodeBits(v []uint64, key []int32) float64 {
	if len(v) == 0 {
		return 0
	}
	lens := make([]uint64, len(v))
	var raw float64
	for i, x := range v {
		z := (x << 1) ^ uint64(int64(x)>>63)
		lens[i] = uint64(bits.Len64(z))
		raw += float64(max(int(lens[i])-1, 0))
	}
	return plugInBits(lens, key) + raw/float64(len(v))
}
