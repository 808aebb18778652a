package book

import "hash/crc32"

// ChecksumDepth is the number of levels per side that OKX's checksum covers.
const ChecksumDepth = 25

// Checksum returns OKX's order-book checksum of b (docs §6.3): the signed CRC32 (IEEE) of
// "bid1px:bid1sz:ask1px:ask1sz:bid2px:..." over the best 25 levels of each side, using the strings as
// received; a side with fewer levels simply contributes fewer fields. The string is built in a buffer kept
// in b, so Checksum allocates nothing in steady state (and, like every Book method, is not concurrency-safe).
func Checksum(b *Book) int32 {
	buf := b.ck[:0]
	n := min(max(len(b.bids), len(b.asks)), ChecksumDepth)
	for i := 0; i < n; i++ {
		if i < len(b.bids) {
			buf = b.appendLevel(buf, &b.bids[i])
		}
		if i < len(b.asks) {
			buf = b.appendLevel(buf, &b.asks[i])
		}
	}
	if len(buf) > 0 {
		buf = buf[:len(buf)-1] // trailing ':'
	}
	b.ck = buf
	return int32(crc32.ChecksumIEEE(buf))
}

func (b *Book) appendLevel(buf []byte, l *Level) []byte {
	buf = append(buf, b.str(l.pxOff, l.pxLen)...)
	buf = append(buf, ':')
	buf = append(buf, b.str(l.szOff, l.szLen)...)
	return append(buf, ':')
}
