package uplink_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ringside/ringside/uplink"
)

// recordingClock fires every wait shorter than an hour at once and records it; longer waits (the
// backlog count) never fire.
type recordingClock struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (c *recordingClock) Now() time.Time { return time.Now() }

func (c *recordingClock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	if d < time.Hour {
		c.mu.Lock()
		c.waits = append(c.waits, d)
		c.mu.Unlock()
		ch <- time.Now()
	}
	return ch
}

func (c *recordingClock) recorded() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

// TestReconnectBackoffUsesClockAndJitter: against a port where nobody listens, Run waits on the
// injected clock between attempts, doubling from BackoffMin to BackoffMax with jitter, and keeps
// the status offline with ErrConnect.
func TestReconnectBackoffUsesClockAndJitter(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nobody listens there now

	clk := &recordingClock{}
	cfg := uplink.Config{Broker: "tcp://" + addr, ClientID: "box", Topics: testTopics,
		BackoffMin: time.Second, BackoffMax: 30 * time.Second, StatusInterval: 2 * time.Hour, ConnectTimeout: time.Second}
	p, err := uplink.New(cfg, openOutbox(t), slog.New(slog.NewTextHandler(io.Discard, nil)), clk, mrand.New(mrand.NewPCG(9, 9)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	deadline := time.Now().Add(20 * time.Second)
	for len(clk.recorded()) < 10 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	st := p.Status()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waits := clk.recorded()
	if len(waits) < 10 {
		t.Fatalf("only %d reconnect waits in 20 s", len(waits))
	}
	distinct := map[time.Duration]bool{}
	for k, d := range waits[:10] {
		step := min(cfg.BackoffMax, cfg.BackoffMin<<k)
		if d < step/2 || d > step {
			t.Errorf("wait %d = %v, want within [%v, %v]", k, d, step/2, step)
		}
		distinct[d] = true
	}
	if len(distinct) < 8 {
		t.Errorf("waits look unjittered: %v", waits[:10])
	}
	if st.State != uplink.StateOffline && st.State != uplink.StateConnecting || (st.State == uplink.StateOffline && !errors.Is(st.Err, uplink.ErrConnect)) {
		t.Errorf("status while the broker is absent: %+v", st)
	}
}
