// Package hwtest holds a fake clock for driving hw's panel and button in
// tests, step by step.
package hwtest

import (
	"sync"
	"time"

	"github.com/ringside/ringside/hw"
)

// DeliverTimeout bounds how long Advance waits for a ticker's receiver to
// take a tick; like a real ticker, a tick nobody takes is dropped.
const DeliverTimeout = 5 * time.Second

// Clock is a fake [hw.Clock]. Time stands still until Advance moves it.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	tickers []*ticker
}

// NewClock returns a fake clock reading start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now implements hw.Clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTicker implements hw.Clock. Its channel is unbuffered: Advance returns
// only after the receiver has taken each tick.
func (c *Clock) NewTicker(d time.Duration) hw.Ticker {
	if d <= 0 {
		panic("hwtest: non-positive ticker period")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &ticker{c: c, period: d, next: c.now.Add(d), ch: make(chan time.Time)}
	c.tickers = append(c.tickers, t)
	return t
}

// Tickers returns how many tickers are running (not stopped).
func (c *Clock) Tickers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.tickers)
}

// Advance moves the clock forward by d, delivering every tick that falls due
// on the way, in time order, each with the clock reading that tick's time.
// It reports false if some tick was dropped because nobody took it within
// DeliverTimeout.
func (c *Clock) Advance(d time.Duration) bool {
	c.mu.Lock()
	target := c.now.Add(d)
	c.mu.Unlock()
	ok := true
	for {
		c.mu.Lock()
		var due *ticker
		for _, t := range c.tickers {
			if !t.next.After(target) && (due == nil || t.next.Before(due.next)) {
				due = t
			}
		}
		if due == nil {
			c.now = target
			c.mu.Unlock()
			return ok
		}
		at := due.next
		c.now = at
		due.next = at.Add(due.period)
		ch := due.ch
		c.mu.Unlock()

		timer := time.NewTimer(DeliverTimeout)
		select {
		case ch <- at:
		case <-timer.C:
			ok = false
		}
		timer.Stop()
	}
}

type ticker struct {
	c      *Clock
	period time.Duration
	next   time.Time
	ch     chan time.Time
}

func (t *ticker) C() <-chan time.Time { return t.ch }

func (t *ticker) Stop() {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	for i, x := range t.c.tickers {
		if x == t {
			t.c.tickers = append(t.c.tickers[:i], t.c.tickers[i+1:]...)
			return
		}
	}
}
