package e2ee

import (
	"encoding/binary"
	"fmt"
)

// The TLS presentation language as MLS uses it (RFC 9420 §2.1): big-endian
// integers, and vectors whose length is a variable-size header (§2.1.2): the
// top two bits of its first byte say whether it is 1, 2 or 4 bytes long
// (0b00, 0b01, 0b10; 0b11 is not used), the rest is the length in bytes, and
// it must be written in the fewest bytes that hold it, so that every value
// has exactly one encoding.

// maxVectorLength is the largest length a 4-byte header holds.
const maxVectorLength = 1<<30 - 1

// reader reads one structure. The first problem sticks: later reads
// return zero values, and err says what and where.
type reader struct {
	b   []byte
	off int // bytes of b already read
	// base is where b starts in the whole message, for error offsets.
	base int
	err  error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%s at byte %d", fmt.Sprintf(format, args...), r.base+r.off)
	}
}

// take returns the next n bytes, or nil after a failure.
func (r *reader) take(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.b)-r.off {
		r.fail("%s: %d bytes needed, %d left", what, n, len(r.b)-r.off)
		return nil
	}
	p := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return p
}

func (r *reader) u8(what string) uint8 {
	if p := r.take(1, what); p != nil {
		return p[0]
	}
	return 0
}

func (r *reader) u16(what string) uint16 {
	if p := r.take(2, what); p != nil {
		return binary.BigEndian.Uint16(p)
	}
	return 0
}

func (r *reader) u64(what string) uint64 {
	if p := r.take(8, what); p != nil {
		return binary.BigEndian.Uint64(p)
	}
	return 0
}

// length reads a vector's length header.
func (r *reader) length(what string) int {
	start := r.off
	first := r.u8(what)
	if r.err != nil {
		return 0
	}
	var n, least int
	switch first >> 6 {
	case 0:
		return int(first & 0x3f)
	case 1:
		p := r.take(1, what)
		if p == nil {
			return 0
		}
		n, least = int(first&0x3f)<<8|int(p[0]), 1<<6
	case 2:
		p := r.take(3, what)
		if p == nil {
			return 0
		}
		n, least = int(first&0x3f)<<24|int(p[0])<<16|int(p[1])<<8|int(p[2]), 1<<14
	default:
		r.off = start
		r.fail("%s: a vector length header starting 0b11", what)
		return 0
	}
	if n < least {
		r.off = start
		r.fail("%s: a vector length of %d not written in the fewest bytes", what, n)
		return 0
	}
	return n
}

// opaque reads opaque<V>: the bytes, a slice of the input.
func (r *reader) opaque(what string) []byte {
	n := r.length(what)
	return r.take(n, what)
}

// vector reads a vector's length and returns a reader for its contents.
// The caller reads them all, then calls r.done(sub).
func (r *reader) vector(what string) *reader {
	p := r.opaque(what)
	if r.err != nil {
		return &reader{err: r.err}
	}
	return &reader{b: p, base: r.base + r.off - len(p)}
}

// done ends a vector read with vector: any problem inside is r's.
func (r *reader) done(sub *reader, what string) {
	if r.err != nil {
		return
	}
	if sub.err != nil {
		r.err = sub.err
		return
	}
	if sub.off != len(sub.b) {
		sub.fail("%s: %d bytes left over", what, len(sub.b)-sub.off)
		r.err = sub.err
	}
}

// more reports whether a vector's reader has elements left.
func (r *reader) more() bool { return r.err == nil && r.off < len(r.b) }

// u16s reads a vector of uint16.
func (r *reader) u16s(what string) []uint16 {
	v := r.vector(what)
	var out []uint16
	for v.more() {
		out = append(out, v.u16(what))
	}
	r.done(v, what)
	return out
}

// writer writes the encoding a reader reads.
type writer struct{ b []byte }

func (w *writer) u8(v uint8)   { w.b = append(w.b, v) }
func (w *writer) u16(v uint16) { w.b = binary.BigEndian.AppendUint16(w.b, v) }
func (w *writer) u64(v uint64) { w.b = binary.BigEndian.AppendUint64(w.b, v) }

func (w *writer) length(n int) {
	switch {
	case n < 1<<6:
		w.b = append(w.b, byte(n))
	case n < 1<<14:
		w.b = append(w.b, 0x40|byte(n>>8), byte(n))
	case n <= maxVectorLength:
		w.b = append(w.b, 0x80|byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	default:
		panic(fmt.Sprintf("e2ee: a vector of %d bytes is longer than MLS can encode", n))
	}
}

func (w *writer) opaque(p []byte) {
	w.length(len(p))
	w.b = append(w.b, p...)
}

// vector writes what fill writes, as a vector.
func (w *writer) vector(fill func(*writer)) {
	var inner writer
	fill(&inner)
	w.opaque(inner.b)
}

func (w *writer) u16s(vs []uint16) {
	w.vector(func(w *writer) {
		for _, v := range vs {
			w.u16(v)
		}
	})
}
