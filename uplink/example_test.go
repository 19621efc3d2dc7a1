package uplink_test

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"os"
	"time"

	"github.com/ringside/ringside/uplink"
	"github.com/ringside/ringside/uplink/uplinktest"
)

// The edge's wiring, in short: one Encoder for writing summaries into the outbox (in the call
// record's transaction), one Publisher draining it.
func Example() {
	topics := uplink.Topics{Prefix: "ringside/v1", Site: "clinic", Device: "box1"}
	enc, err := uplink.NewEncoder(topics, uplink.Privacy{Mode: uplink.CallerMasked})
	if err != nil {
		panic(err)
	}
	ob, err := uplinktest.OpenOutbox(os.TempDir() + "/example-outbox.db") // the edge passes its store (adapted)
	if err != nil {
		panic(err)
	}
	defer ob.Close()

	pub, err := uplink.New(uplink.Config{
		Broker: "tcp://127.0.0.1:1", ClientID: "ringside-box1", Topics: topics, RatePerSec: 200,
	}, ob, slog.Default(), uplink.SystemClock{}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- pub.Run(ctx) }() // the edge runs it for the appliance's lifetime
	defer func() { cancel(); <-done }()  // and stops it and waits for it at shutdown

	// When a call ends: encode, store in the same transaction as the call record, then Kick.
	msg, err := enc.Call(uplink.Summary{CallID: "0193f0c2", Outcome: "busy", Arrived: time.Now(), Ended: time.Now()}, "+441632960123")
	if err != nil {
		panic(err)
	}
	_ = ob.Write(ctx, time.Now(), msg)
	pub.Kick()

	// For the LEDs and the web page:
	_ = pub.Status().State
}
