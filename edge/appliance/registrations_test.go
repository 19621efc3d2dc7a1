package appliance

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/ringside/ringside/edge/call"
	"github.com/ringside/ringside/edge/store"
)

// TestRegistrationSurvivesRestart: alice's phone registers once; the appliance stops and a new one
// starts on the same state folder (and another SIP port, so the phone could not re-register if it
// tried). A call to alice's queue rings her phone and connects: before registrations were kept,
// every agent was logged out after a restart and the call was refused with no_agent.
func TestRegistrationSurvivesRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	first := startApplianceIn(t, dir, "")
	alice := first.agent("alice", 0)
	first.stop()
	first.wg.Wait()

	e := startApplianceIn(t, dir, "")
	if !agentRegistered(e, "alice") {
		t.Fatal("alice is not registered after the restart")
	}
	c, err := e.dial(e.caller("+19175550011"), "+12125550101")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-alice.Incoming:
	case <-time.After(10 * time.Second):
		t.Fatal("alice's phone never answered a call after the restart")
	}
	hangup(c)
	if r := e.record("+19175550011"); r.Outcome != call.Connected || r.Agent != "alice" {
		t.Fatalf("record %s by %q, want connected by alice", r.Outcome, r.Agent)
	}
}

// TestLapsedRegistrationNotRestored: of the bindings found in the store at start, only those still
// within their granted interval come back. A lapsed one, and one of an account no longer in the
// config, are dropped and deleted; one stamped in the future (the clock was set back since) comes
// back, for no longer than it was granted (TestRemainingLife in telephony/pbx checks the bound).
func TestLapsedRegistrationNotRestored(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	ctx := context.Background()
	st, err := store.Open(ctx, dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, r := range []store.Registration{
		{User: "alice", Granted: now.Add(-2 * time.Hour), Expires: time.Hour},        // lapsed an hour ago
		{User: "bob", Granted: now.Add(-time.Minute), Expires: 10 * time.Minute},     // nine minutes left
		{User: "nobody", Granted: now.AddDate(1, 0, 0), Expires: 5 * time.Minute},    // stamped a year ahead
		{User: "mallory", Granted: now.Add(-time.Minute), Expires: 10 * time.Minute}, // not in the config
	} {
		r.Contact, r.Source, r.Transport = "sip:"+r.User+"@127.0.0.6:5999", "127.0.0.6:5999", "UDP"
		if err := st.SaveRegistration(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	e := startApplianceIn(t, dir, "")
	for user, want := range map[string]bool{"alice": false, "bob": true, "nobody": true} {
		if got := agentRegistered(e, user); got != want {
			t.Errorf("%s registered = %v after the restart, want %v", user, got, want)
		}
	}
	kept, err := e.a.Store.Registrations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var users []string
	for _, r := range kept {
		users = append(users, r.User)
	}
	if len(users) != 2 || users[0] != "bob" || users[1] != "nobody" {
		t.Errorf("stored registrations after the restart: %v, want [bob nobody]", users)
	}
}

func agentRegistered(e *e2e, id string) bool {
	for _, a := range e.a.PBX.Snapshot().Agents {
		if a.ID == id {
			return a.Registered
		}
	}
	return false
}
