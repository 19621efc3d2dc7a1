package uplink

import (
	"context"
	"time"
)

// Clock is the time the Publisher reads and waits on; tests pass a fake one.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now is time.Now.
func (SystemClock) Now() time.Time { return time.Now() }

// After is time.After.
func (SystemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// bucket is a token bucket: rate tokens per second, at most burst saved up. A backlog of weeks then
// drains at the configured rate instead of saturating a slow uplink; live traffic stays smooth.
// It is used by one goroutine only.
type bucket struct {
	clk    Clock
	rate   float64 // tokens per second; <= 0 means no limit
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket(clk Clock, perSec int) *bucket {
	b := &bucket{clk: clk, rate: float64(perSec), last: clk.Now()}
	// A tenth of a second's worth, at least one: short bursts pass, a long backlog is paced.
	b.burst = max(1, b.rate/10)
	b.tokens = b.burst
	return b
}

// take reserves one token and returns how long to wait before using it (0: now).
func (b *bucket) take() time.Duration {
	if b.rate <= 0 {
		return 0
	}
	now := b.clk.Now()
	if el := now.Sub(b.last); el > 0 {
		b.tokens = min(b.burst, b.tokens+el.Seconds()*b.rate)
	}
	b.last = now
	b.tokens--
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / b.rate * float64(time.Second))
}

// wait takes a token and sleeps until it is usable, or until ctx or stop ends.
func (b *bucket) wait(ctx context.Context, stop <-chan struct{}) bool {
	d := b.take()
	if d <= 0 {
		return true
	}
	select {
	case <-b.clk.After(d):
		return true
	case <-ctx.Done():
	case <-stop:
	}
	return false
}

// backoff is the wait before reconnect attempt n (0-based): exponential from lo, capped at hi, with
// "equal jitter" (half fixed, half random, r in [0,1)) so a fleet of boxes that lost the same
// broker does not come back in lock step, yet never retries faster than half the step.
func backoff(n int, lo, hi time.Duration, r float64) time.Duration {
	d := lo
	for i := 0; i < n && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	return d/2 + time.Duration(r*float64(d/2))
}
