package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringside/ringside/edge/appliance"
	"github.com/ringside/ringside/edge/call"
	"github.com/ringside/ringside/edge/store"
	"github.com/ringside/ringside/edge/tracker"
	"github.com/ringside/ringside/telephony/sdp"
	"github.com/ringside/ringside/telephony/siptest"
	"github.com/ringside/ringside/telephony/softphone"
)

const lockConfig = `
site: {name: Lock Test, time_zone: UTC, region: US}
state_dir: %s
sip: {listen: ["udp:127.0.0.1:%d"], rtp_port_min: 43000, rtp_port_max: 43200, media_timeout: 10m}
lines: [{id: trunk, kind: sip_trunk, addresses: ["127.0.0.5/32"]}]
tracking_numbers: [{number: "+1 212 555 0101", source: direct, queue: desk}]
queues: [{name: desk, members: [{agent: alice}], max_wait: 10m, ring_timeout: 10m}]
agents: [{id: alice, username: alice, password: sip-secret-alice}]
web: {listen: "127.0.0.1:0"}
leds: {simulated: true}
`

// unfinished reads the calls without an outcome straight from the database file, beside the
// daemon that may be running on it.
func unfinished(t *testing.T, stateDir string) []call.Record {
	t.Helper()
	st, err := store.Open(context.Background(), stateDir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs, err := st.Unfinished(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestSecondInstanceLeavesLiveCallsAlone starts a second daemon on the state folder of one that has
// a call waiting in its queue. The second one must fail at once, naming the lock and the first
// one's pid, and leave the live call's record open (before the lock it closed it as interrupted,
// then failed on its ports). After the first daemon is killed with SIGKILL, the lock is gone with
// it: a third daemon starts and closes the call as interrupted.
func TestSecondInstanceLeavesLiveCallsAlone(t *testing.T) {
	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	port := freeUDPPort(t)
	path := filepath.Join(dir, "ringside.yaml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(lockConfig, stateDir, port)), 0o600); err != nil {
		t.Fatal(err)
	}
	target := "127.0.0.1:" + strconv.Itoa(port)
	first := startDaemon(t, path)
	waitReady(t, first)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	agent, err := softphone.New("127.0.0.6", "alice", "sip-secret-alice", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer agent.Close()
	agent.AnswerAfter = -1 // logged in, never answers: the caller waits in the queue
	agent.MediaAddr = siptest.NewRTPPeer(t, "127.0.0.6").Addr()
	if code, err := agent.Register(ctx, target, 600); err != nil || code != 200 {
		t.Fatalf("register: %d %v", code, err)
	}
	caller, err := softphone.New("127.0.0.5", "+19175550100", "", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Close()
	caller.MediaAddr = siptest.NewRTPPeer(t, "127.0.0.5").Addr()
	if _, err := caller.Call(ctx, "sip:+12125550101@"+target, caller.Offer(sdp.SendRecv, 1)); err != nil {
		t.Fatal(err)
	}
	var live []call.Record
	for deadline := time.Now().Add(10 * time.Second); len(live) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the live call has no record")
		}
		live = unfinished(t, stateDir)
	}

	second := startDaemon(t, path)
	err = second.cmd.Wait()
	if exitCode(err) != 1 {
		t.Fatalf("second instance: exit %d, want 1\n%s", exitCode(err), second.logString())
	}
	out := second.logString()
	lock := filepath.Join(stateDir, appliance.LockFileName)
	for _, want := range []string{lock, "pid " + strconv.Itoa(first.cmd.Process.Pid), "in use by another ringside"} {
		if !strings.Contains(out, want) {
			t.Errorf("second instance's error lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "interrupted") {
		t.Errorf("second instance touched the calls:\n%s", out)
	}
	after := unfinished(t, stateDir)
	if len(after) != 1 || after[0].ID != live[0].ID {
		t.Fatalf("live calls after the second instance: %d, want the one call %s still open", len(after), live[0].ID)
	}

	// flock dies with its process: SIGKILL must not leave the folder locked.
	first.kill()
	third := startDaemon(t, path)
	waitReady(t, third)
	if n := len(unfinished(t, stateDir)); n != 0 {
		t.Fatalf("%d calls still open after the restart", n)
	}
	st, err := store.Open(context.Background(), stateDir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r, err := st.Call(context.Background(), live[0].ID)
	if err != nil || r.Reason != tracker.ReasonInterrupted {
		t.Fatalf("the killed daemon's call: %+v, %v; want closed as interrupted", r.Reason, err)
	}
}
