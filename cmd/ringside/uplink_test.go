package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ringside/ringside/edge/appliance"
	"github.com/ringside/ringside/edge/call"
	"github.com/ringside/ringside/edge/config"
	"github.com/ringside/ringside/uplink/uplinktest"
)

const uplinkConfig = `
site: {name: Uplink Dental, device: box1, time_zone: Europe/London, region: GB}
state_dir: %s
sip: {listen: ["udp:127.0.0.1:%d"]}
tracking_numbers:
  - {number: "020 7946 0001", source: paid_search}
queues: [{name: desk}]
uplink:
  enabled: true
  broker: %s
  client_id: ringside-box1
  caller_number: masked
  rate_per_sec: 150
web: {listen: "127.0.0.1:%d"}
leds: {simulated: true}
`

// seedCalls runs the appliance in-process, with the broker down, and posts n finished calls
// through the tracker: each is committed with its summary in the outbox, as live calls are.
func seedCalls(t *testing.T, cfg *config.Config, n int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a, err := appliance.New(ctx, cfg, slog.New(slog.DiscardHandler), appliance.SystemClock, "test")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, nil) }()
	t0 := time.Now().Add(-20 * time.Minute) // 1,000 calls a second apart, all in the past
	for i := range n {
		id := call.NewID()
		at := t0.Add(time.Duration(i) * time.Second)
		a.Tracker.Post(call.Event{CallID: id, Kind: call.KindArrived, At: at, Arrival: &call.Arrival{
			Line: "trunk", TrackingNumber: "+442079460001", CallerNumber: fmt.Sprintf("+4477009%05d", i)}})
		a.Tracker.Post(call.Event{CallID: id, Kind: call.KindRefused, At: at.Add(time.Second), Mono: time.Second, Outcome: call.Busy})
	}
	pctx, pcancel := context.WithTimeout(ctx, 60*time.Second)
	defer pcancel()
	if err := a.Tracker.Ping(pctx); err != nil {
		t.Fatal(err)
	}
	backlog, _, err := a.Store.OutboxBacklog(ctx)
	if err != nil || backlog != int64(n) {
		t.Fatalf("outbox backlog %d, %v; want %d", backlog, err, n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

type daemon struct {
	t    *testing.T
	cmd  *exec.Cmd
	logs *syncBuffer
}

// syncBuffer is a bytes.Buffer the child's output goroutine and the test can share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (d *daemon) logString() string { return d.logs.String() }

func startDaemon(t *testing.T, path string) *daemon {
	t.Helper()
	d := &daemon{t: t, cmd: exec.Command(binary, "run", "--config", path), logs: &syncBuffer{}}
	d.cmd.Stderr = d.logs
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.cmd.Process.Kill(); d.cmd.Wait() })
	return d
}

func (d *daemon) kill() {
	d.t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		d.t.Fatal(err)
	}
	d.cmd.Wait()
}

// statusState reads the retained status topic's state field.
func statusState(msgs []uplinktest.Received, topic string) string {
	state := ""
	for _, m := range msgs {
		if m.Topic == topic {
			var p struct {
				State string `json:"state"`
			}
			if json.Unmarshal(m.Payload, &p) == nil {
				state = p.State
			}
		}
	}
	return state
}

// TestUplinkLosesNothing: 1,000 calls written while the broker is down reach a subscriber that
// listens throughout, although the broker restarts three times and the appliance is killed with
// SIGKILL twice during the drain. After dropping duplicates by id, the summaries are exactly the
// calls in the store, with no gap in the sequence numbers. The retained status turns offline
// through the last will when the appliance dies, and online when it returns.
func TestUplinkLosesNothing(t *testing.T) {
	const calls = 1000
	broker := uplinktest.StartMosquitto(t, uplinktest.BrokerOptions{})
	sub := uplinktest.Subscribe(t, broker.URL(), "dashboard", uplinktest.SubscriberOptions{},
		"ringside/v1/uplink-dental/box1/call", "ringside/v1/uplink-dental/box1/status", "ringside/v1/uplink-dental/box1/rollup/#")
	broker.Stop()

	dir := t.TempDir()
	body := fmt.Sprintf(uplinkConfig, filepath.Join(dir, "state"), freeUDPPort(t), broker.URL(), freeUDPPort(t))
	path := filepath.Join(dir, "ringside.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	seedCalls(t, cfg, calls)

	unique := func(msgs []uplinktest.Received) map[string]int64 {
		ids := map[string]int64{}
		for _, m := range msgs {
			if strings.HasSuffix(m.Topic, "/call") {
				var s struct {
					ID     string `json:"id"`
					CallID string `json:"call_id"`
					Seq    int64  `json:"seq"`
				}
				if err := json.Unmarshal(m.Payload, &s); err != nil {
					t.Errorf("bad summary payload: %v", err)
					continue
				}
				ids[s.CallID] = s.Seq
			}
		}
		return ids
	}
	received := func() int { return len(unique(sub.Messages())) }
	waitFor := func(what string, d time.Duration, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(d)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s (received %d)", what, received())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	d := startDaemon(t, path)
	broker.Start()
	statusTopic := "ringside/v1/uplink-dental/box1/status"
	waitFor("some summaries", 60*time.Second, func() bool { return received() >= 100 })
	d.kill() // 1st SIGKILL, mid-drain
	waitFor("the last will", 30*time.Second, func() bool { return statusState(sub.Messages(), statusTopic) == "offline" })
	broker.Restart() // 1st broker restart while the appliance is down
	d = startDaemon(t, path)
	waitFor("online again", 30*time.Second, func() bool { return statusState(sub.Messages(), statusTopic) == "online" })
	n := received()
	waitFor("more summaries", 60*time.Second, func() bool { return received() >= n+150 })
	broker.Restart() // 2nd broker restart mid-drain
	n = received()
	waitFor("more summaries", 60*time.Second, func() bool { return received() >= n+150 })
	d.kill() // 2nd SIGKILL
	d = startDaemon(t, path)
	n = received()
	waitFor("more summaries", 60*time.Second, func() bool { return received() >= min(n+100, calls) })
	broker.Restart() // 3rd broker restart
	waitFor("every summary", 120*time.Second, func() bool { return received() == calls })

	got := unique(sub.Messages())
	var seqs []int64
	for _, s := range got {
		seqs = append(seqs, s)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	for i, s := range seqs {
		if s != int64(i+1) {
			t.Fatalf("sequence gap: position %d holds seq %d", i, s)
		}
	}
	// Rollups come from the same records: the hours the calls fell in, and today's source.
	var hourAttempts, sourceAttempts int64
	for _, m := range sub.Messages() {
		var r struct {
			Kind     string `json:"kind"`
			Source   string `json:"source"`
			Attempts int64  `json:"attempts"`
			Start    string `json:"period_start"`
		}
		if strings.Contains(m.Topic, "/rollup/") && json.Unmarshal(m.Payload, &r) == nil {
			if r.Kind == "hour" {
				hourAttempts = max(hourAttempts, r.Attempts)
			}
			if r.Kind == "source" && r.Source == "paid_search" {
				sourceAttempts = max(sourceAttempts, r.Attempts)
			}
		}
	}
	london, _ := time.LoadLocation("Europe/London")
	now := time.Now().In(london)
	sinceMidnight := now.Sub(time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, london))
	if sinceMidnight < 25*time.Minute {
		sourceAttempts = max(sourceAttempts, 1) // the calls may have arrived yesterday
	}
	if hourAttempts == 0 || sourceAttempts == 0 {
		t.Errorf("rollups: largest hour %d attempts, paid_search today %d; want both > 0", hourAttempts, sourceAttempts)
	}

	// The set equals the calls in the store.
	d.cmd.Process.Signal(syscall.SIGTERM)
	d.cmd.Wait()
	a, err := appliance.New(context.Background(), cfg, slog.New(slog.DiscardHandler), appliance.SystemClock, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Store.Close()
	stored := 0
	for r, err := range a.Store.CallsArrived(context.Background(), time.Now().Add(-48*time.Hour), time.Now().Add(time.Hour)) {
		if err != nil {
			t.Fatal(err)
		}
		stored++
		if _, ok := got[r.ID]; !ok {
			t.Errorf("call %s in the store never reached the subscriber", r.ID)
		}
	}
	if stored != calls || len(got) != calls {
		t.Fatalf("store holds %d calls, subscriber %d unique summaries; want %d", stored, len(got), calls)
	}
	if backlog, _, _ := a.Store.OutboxBacklog(context.Background()); backlog != 0 {
		t.Errorf("outbox still holds %d rows after the drain", backlog)
	}
	total := 0
	for _, m := range sub.Messages() {
		if strings.HasSuffix(m.Topic, "/call") {
			total++
		}
	}
	t.Logf("%d summaries received for %d calls (%d duplicates dropped by id)", total, calls, total-calls)
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}
