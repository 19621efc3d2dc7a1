package appliance

import (
	"context"
	"testing"
	"time"

	"github.com/ringside/ringside/edge/call"
)

// TestSimulatedAnalogLine: a simulated FXO line rings with Bell 202 caller ID; the port answers
// after two rings and the call goes through the queue to an agent's phone; the caller's busy
// tone ends it. The record has the analog port as its line, the decoded caller number, its
// tracking number's source, and a wait that counts from the first ring.
func TestSimulatedAnalogLine(t *testing.T) {
	// A trunk admits the loopback address the port calls from, as the demo's does: the port's
	// INVITE must still be taken as its own internal line, not as the trunk's.
	e := startApplianceWithLines(t, `
  - {id: fxo1, kind: fxo, tracking_number: "+1 212 555 0101", fxo: {simulated: true, country: US, caller_id: bell202, rings_before_answer: 2}}
  - {id: loopback-trunk, kind: sip_trunk, addresses: ["127.0.0.1/32"]}
`)
	e.agent("alice", time.Second)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		for r, err := range e.a.Store.CallsArrived(context.Background(), time.Now().Add(-time.Hour), time.Now().Add(time.Hour)) {
			if err != nil {
				t.Fatal(err)
			}
			if r.Line != "fxo1" || !r.Finished() {
				continue
			}
			if r.Outcome != call.Connected || r.Agent != "alice" {
				t.Fatalf("analog call: %s (%s), agent %q", r.Outcome, r.Reason, r.Agent)
			}
			if len(r.CallerNumber) != 12 || r.CallerNumber[:8] != "+1212555" || r.CallerName != "SIMULATED CALLER" {
				t.Errorf("caller %q %q, want the decoded +1212555xxxx and its name", r.CallerNumber, r.CallerName)
			}
			if r.TrackingNumber != "+12125550101" || r.Attribution.Source != "paid_search" {
				t.Errorf("tracking %s source %s", r.TrackingNumber, r.Attribution.Source)
			}
			// Two US rings (2 s on, 4 s off) pass before the line answers: the wait includes them.
			if r.Wait < 6*time.Second || r.Wait > 12*time.Second {
				t.Errorf("wait %v, want the rings (about 6-8 s) plus the agent's second", r.Wait)
			}
			if r.Talk <= 0 || r.Answered.IsZero() {
				t.Errorf("talk %v, answered %v", r.Talk, r.Answered)
			}
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("no finished call on the analog line within 60 s")
}
