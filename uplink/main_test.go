package uplink_test

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ringside/ringside/uplink"
	"github.com/ringside/ringside/uplink/uplinktest"
)

// TestMain doubles as the "appliance" child process the tests kill with SIGKILL: with
// UPLINK_CHILD_OUTBOX set it runs a Publisher on that outbox until SIGTERM.
func TestMain(m *testing.M) {
	if path := os.Getenv("UPLINK_CHILD_OUTBOX"); path != "" {
		os.Exit(runChild(path))
	}
	os.Exit(m.Run())
}

func runChild(path string) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ob, err := uplinktest.OpenOutbox(path)
	if err != nil {
		log.Error("child: open outbox", "err", err)
		return 2
	}
	defer ob.Close()
	rate, _ := strconv.Atoi(os.Getenv("UPLINK_CHILD_RATE"))
	p, err := uplink.New(childConfig(os.Getenv("UPLINK_CHILD_BROKER"), rate), ob, log, uplink.SystemClock{}, rand.New(rand.NewPCG(uint64(os.Getpid()), 1)))
	if err != nil {
		log.Error("child: config", "err", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := p.Run(ctx); err != nil {
		return 1
	}
	return 0
}

var testTopics = uplink.Topics{Prefix: "ringside/v1", Site: "clinic", Device: "box1"}

// childConfig is the appliance's uplink config in these tests: quick reconnects, short intervals.
func childConfig(broker string, rate int) uplink.Config {
	return uplink.Config{
		Broker: broker, ClientID: "ringside-box1", Topics: testTopics, SiteName: "Clinic",
		RatePerSec: rate, InFlight: 32,
		Keepalive: 5 * time.Second, ConnectTimeout: 3 * time.Second,
		BackoffMin: 100 * time.Millisecond, BackoffMax: 400 * time.Millisecond,
		PollInterval: 100 * time.Millisecond, StatusInterval: 200 * time.Millisecond, LiveInterval: 100 * time.Millisecond,
		AckDelay: 50 * time.Millisecond,
	}
}
