package simulate

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/ringside/ringside/telephony/acd"
	"github.com/ringside/ringside/telephony/pbx"
)

type wall struct{}

func (wall) Now() time.Time { return time.Now() }

type sink struct {
	mu sync.Mutex
	ev []pbx.Event
}

func (s *sink) Publish(e pbx.Event) { s.mu.Lock(); s.ev = append(s.ev, e); s.mu.Unlock() }

type route struct{}

func (route) Route(in pbx.Inbound) (pbx.Route, error) {
	return pbx.Route{TrackingNumber: in.Dialed[0], Queue: "main"}, nil
}

func TestSimulatedDayProducesCalls(t *testing.T) {
	cfg := pbx.Config{
		Listeners:  []pbx.Listener{{Network: "udp", Addr: "127.0.0.1:15170"}},
		PublicAddr: netip.MustParseAddr("127.0.0.1"),
		Trunks:     []pbx.Trunk{{ID: "demo", Sources: []netip.Prefix{netip.MustParsePrefix("127.0.0.12/32")}}},
		Agents:     []pbx.AgentAccount{{ID: "s1", Username: "s1", Password: "p1"}, {ID: "s2", Username: "s2", Password: "p2"}},
		Queues: []pbx.Queue{{Name: "main", Strategy: acd.LongestIdle, RingTimeout: 10 * time.Second,
			Members: []acd.Member{{Agent: "s1"}, {Agent: "s2"}}}},
		RTPPortMin: 38000, RTPPortMax: 38999,
	}
	ev := &sink{}
	srv, err := pbx.New(cfg, route{}, ev, slog.New(slog.DiscardHandler), wall{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	<-srv.Ready()
	defer func() { cancel(); <-done }()

	sctx, scancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer scancel()
	st, err := Run(sctx, Config{
		Target: "127.0.0.1:15170", Numbers: []string{"5550100", "5550101"}, CallerIP: "127.0.0.12", AgentIP: "127.0.0.13",
		Agents: []Agent{{"s1", "p1"}, {"s2", "p2"}}, DayLength: 6 * time.Second, CallsPerDay: 30, Seed: 1,
		Hold: 0.5, Abandon: 0.2,
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if st.Placed.Load() == 0 || st.Queued.Load() == 0 {
		t.Fatalf("placed %d queued %d", st.Placed.Load(), st.Queued.Load())
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		ev.mu.Lock()
		arrived, terminal, connected := 0, 0, 0
		for _, e := range ev.ev {
			switch e.Kind {
			case pbx.CallArrived:
				arrived++
			case pbx.CallEnded, pbx.CallRefused:
				terminal++
			case pbx.CallConnected:
				connected++
			}
		}
		ev.mu.Unlock()
		if arrived > 0 && terminal == arrived && connected > 0 {
			t.Logf("placed %d, arrived %d, connected %d, holds %d", st.Placed.Load(), arrived, connected, st.Holds.Load())
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("arrived %d, terminal %d, connected %d", arrived, terminal, connected)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
