package web

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/ringside/ringside/edge/live"
	"github.com/ringside/ringside/edge/metrics"
)

// TestServeStops: Serve answers on its listener and returns soon after its context ends, even
// with an event stream open.
func TestServeStops(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	log := slog.New(slog.DiscardHandler)
	srv, err := New(Deps{Config: h.cfg, Calls: h.st, Tracker: h.tr, Metrics: metrics.New(h.st, h.cfg, h.clock.Now, log),
		Bus: h.bus, Clock: h.clock, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "ok\n" {
		t.Fatalf("healthz: %d %q", resp.StatusCode, b)
	}
	stream, err := http.Get(base + "/api/v1/events?token=" + testToken)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	h.bus.Publish(live.Event{Type: live.TypeStatus, Status: &live.Status{Uplink: "up"}})
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(8 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("still answering after Serve returned")
	}
}
