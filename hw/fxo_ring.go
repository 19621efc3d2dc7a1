package hw

import "sync/atomic"

// sampleRing is a single-producer single-consumer ring of 16-bit samples without locks: the
// audio callback is one side, the line's goroutine the other. Writes that do not fit are dropped
// (and counted), reads take what is there; neither side ever waits.
type sampleRing struct {
	buf     []int16
	mask    uint64
	head    atomic.Uint64 // next write position (producer)
	tail    atomic.Uint64 // next read position (consumer)
	dropped atomic.Uint64
}

// newSampleRing returns a ring holding at least n samples (rounded up to a power of two).
func newSampleRing(n int) *sampleRing {
	size := 1
	for size < n {
		size <<= 1
	}
	return &sampleRing{buf: make([]int16, size), mask: uint64(size - 1)}
}

// write copies as much of src as fits and returns how many samples it wrote.
func (r *sampleRing) write(src []int16) int {
	h, t := r.head.Load(), r.tail.Load()
	free := uint64(len(r.buf)) - (h - t)
	n := min(uint64(len(src)), free)
	for i := uint64(0); i < n; i++ {
		r.buf[(h+i)&r.mask] = src[i]
	}
	r.head.Store(h + n)
	if d := uint64(len(src)) - n; d > 0 {
		r.dropped.Add(d)
	}
	return int(n)
}

// read copies up to len(dst) samples into dst and returns how many it read.
func (r *sampleRing) read(dst []int16) int {
	h, t := r.head.Load(), r.tail.Load()
	n := min(uint64(len(dst)), h-t)
	for i := uint64(0); i < n; i++ {
		dst[i] = r.buf[(t+i)&r.mask]
	}
	r.tail.Store(t + n)
	return int(n)
}

// len returns how many samples are waiting.
func (r *sampleRing) len() int { return int(r.head.Load() - r.tail.Load()) }
