package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ringside/ringside/edge/appliance"
	"github.com/ringside/ringside/edge/call"
	"github.com/ringside/ringside/edge/config"
	"github.com/ringside/ringside/edge/tracker"
	"github.com/ringside/ringside/telephony/sdp"
	"github.com/ringside/ringside/telephony/siptest"
	"github.com/ringside/ringside/telephony/softphone"
)

const recordingKillConfig = `
site: {name: Kill Test, time_zone: UTC, region: US}
state_dir: %s
sip: {listen: ["udp:127.0.0.1:%d"], rtp_port_min: 42000, rtp_port_max: 42400}
lines: [{id: trunk, kind: sip_trunk, addresses: ["127.0.0.5/32"], max_calls: 20}]
tracking_numbers: [{number: "+1 212 555 0101", source: direct, queue: desk}]
queues: [{name: desk, members: [{agent: alice}], max_callers: 20, max_wait: 10m, ring_timeout: 10m}]
agents: [{id: alice, username: alice, password: sip-secret-alice}]
recording: {enabled: true, include_queue: true}
web: {listen: "127.0.0.1:0"}
leds: {simulated: true}
`

// TestKill9DuringRecordedCalls kills the daemon with SIGKILL while ten calls are being recorded.
// After the restart every partial recording is a valid WAV (soxi reads it) holding all but at most
// the last second of the audio sent, and every call's record exists, is closed as interrupted, and
// says its recording was interrupted.
func TestKill9DuringRecordedCalls(t *testing.T) {
	soxi := siptest.NeedTool(t, "soxi")
	const calls = 10
	dir := t.TempDir()
	port := freeUDPPort(t)
	path := filepath.Join(dir, "ringside.yaml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(recordingKillConfig, filepath.Join(dir, "state"), port)), 0o600); err != nil {
		t.Fatal(err)
	}
	target := "127.0.0.1:" + strconv.Itoa(port)
	d := startDaemon(t, path)
	waitReady(t, d)

	// alice is logged in but lets every call ring: the callers wait in the queue, recorded.
	agent, err := softphone.New("127.0.0.6", "alice", "sip-secret-alice", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer agent.Close()
	agent.AnswerAfter = -1
	agent.MediaAddr = siptest.NewRTPPeer(t, "127.0.0.6").Addr()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if code, err := agent.Register(ctx, target, 600); err != nil || code != 200 {
		t.Fatalf("register: %d %v", code, err)
	}

	started := make([]time.Time, calls)
	var wg sync.WaitGroup
	for i := range calls {
		ph, err := softphone.New("127.0.0.5", fmt.Sprintf("+1917555%04d", i), "", slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		defer ph.Close()
		peer := siptest.NewRTPPeer(t, "127.0.0.5")
		ph.MediaAddr = peer.Addr()
		oc, err := ph.Call(ctx, "sip:+12125550101@"+target, ph.Offer(sdp.SendRecv, 1))
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		started[i] = time.Now()
		wg.Go(func() { peer.SendStream(oc.Remote.Addr, 0, uint32(1000+i), 400, 20*time.Millisecond) })
	}
	time.Sleep(3 * time.Second)
	killedAt := time.Now()
	d.kill()

	// Restart: the calls are closed, the recordings repaired and their calls marked.
	d = startDaemon(t, path)
	waitReady(t, d)
	d.cmd.Process.Signal(syscall.SIGTERM)
	d.cmd.Wait()
	wg.Wait()

	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	a, err := appliance.New(context.Background(), cfg, slog.New(slog.DiscardHandler), appliance.SystemClock, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Store.Close()
	var recs []call.Record
	for r, err := range a.Store.CallsArrived(context.Background(), time.Now().Add(-time.Hour), time.Now().Add(time.Hour)) {
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if len(recs) != calls {
		t.Fatalf("%d call records after the restart, want %d", len(recs), calls)
	}
	for _, r := range recs {
		if r.Outcome != call.Failed || r.Reason != tracker.ReasonInterrupted {
			t.Errorf("call %s: %s (%s), want failed, interrupted", r.ID, r.Outcome, r.Reason)
		}
		if r.RecordingStatus != appliance.RecordingInterrupted || r.Recording == "" {
			t.Errorf("call %s: recording %q %s", r.ID, r.Recording, r.RecordingStatus)
			continue
		}
		file := filepath.Join(cfg.StateDir, "recordings", r.Recording)
		out, err := exec.Command(soxi, "-D", file).CombinedOutput()
		if err != nil {
			t.Errorf("soxi cannot read %s: %v %s", file, err, out)
			continue
		}
		secs, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
		i, _ := strconv.Atoi(strings.TrimPrefix(r.CallerNumber, "+1917555"))
		sent := killedAt.Sub(started[i]).Seconds()
		if err != nil || secs < sent-1 || secs > sent+0.1 {
			t.Errorf("call %d: recording holds %.2f s of %.2f s sent before the kill", i, secs, sent)
		}
	}
}

// waitReady waits for the daemon's "is ready" log line.
func waitReady(t *testing.T, d *daemon) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(d.logString(), "is ready") {
		if time.Now().After(deadline) {
			t.Fatalf("daemon not ready:\n%s", d.logString())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
