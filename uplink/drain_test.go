package uplink_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ringside/ringside/uplink"
	"github.com/ringside/ringside/uplink/uplinktest"
)

// child is the appliance process.
type child struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func startChild(t *testing.T, broker, outbox string, rate int) *child {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), "UPLINK_CHILD_OUTBOX="+outbox, "UPLINK_CHILD_BROKER="+broker, "UPLINK_CHILD_RATE="+strconv.Itoa(rate))
	logf, err := os.OpenFile(filepath.Join(filepath.Dir(outbox), "child.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr, cmd.Stdout = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, done: make(chan struct{})}
	go func() { // ends when the child exits; kill/stop wait for it
		_ = cmd.Wait()
		logf.Close()
		close(c.done)
	}()
	t.Cleanup(func() { c.stop(syscall.SIGKILL) })
	return c
}

func (c *child) stop(sig syscall.Signal) {
	select {
	case <-c.done:
		return
	default:
	}
	_ = c.cmd.Process.Signal(sig)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

func writeSummaries(t *testing.T, ob *uplinktest.SQLiteOutbox, n, perTx int) []string {
	t.Helper()
	enc, err := uplink.NewEncoder(testTopics, uplink.Privacy{Mode: uplink.CallerHashed, Secret: []byte("s3cret")})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	ids := make([]string, 0, n)
	var batch []uplink.Message
	for i := 0; i < n; i++ {
		arr := start.Add(time.Duration(i) * time.Minute)
		m, err := enc.Call(uplink.Summary{
			CallID: fmt.Sprintf("call-%05d", i), Arrived: arr, Connected: arr.Add(9 * time.Second), Ended: arr.Add(70 * time.Second),
			WaitMs: 9000, TalkMs: 61000, Outcome: "connected", Line: "ata1", TrackingNumber: "+441632960001",
			Attribution: uplink.Attribution{Source: "organic"}, Queue: "main", Agent: "alice", FirstTime: i%3 == 0,
		}, fmt.Sprintf("+4416329%05d", i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
		batch = append(batch, m)
		if len(batch) == perTx || i == n-1 {
			if err := ob.Write(context.Background(), time.Now(), batch...); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	return ids
}

type status struct {
	State  string `json:"state"`
	Uplink string `json:"uplink"`
}

// statusAfter reports whether a status message with the given state arrived after index from.
func statusAfter(msgs []uplinktest.Received, topic string, from int, state string) bool {
	for _, m := range msgs[min(from, len(msgs)):] {
		var s status
		if m.Topic == topic && json.Unmarshal(m.Payload, &s) == nil && s.State == state {
			return true
		}
	}
	return false
}

// TestDrainSurvivesBrokerRestartsAndKills is issue 6's "nothing lost": 1,000 summaries written while
// the broker is down; the broker restarted three times and the appliance killed with SIGKILL twice
// during the drain; a dashboard listening throughout gets every summary, no seq missing. The will
// marks the device offline at each kill (also as the retained status), and online when it returns.
func TestDrainSurvivesBrokerRestartsAndKills(t *testing.T) {
	const n = 1000
	dir := t.TempDir()
	m := uplinktest.StartMosquitto(t, uplinktest.BrokerOptions{})
	callTopic, statusTopic := testTopics.Abs(uplink.TopicCall), testTopics.Abs(uplink.TopicStatus)
	sub := uplinktest.Subscribe(t, m.URL(), "dashboard", uplinktest.SubscriberOptions{}, callTopic, statusTopic)
	m.Stop()

	obPath := filepath.Join(dir, "outbox.db")
	ob, err := uplinktest.OpenOutbox(obPath)
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	ids := writeSummaries(t, ob, n, 10)

	// 250/s: the drain takes seconds, so the restarts and kills land in the middle of it.
	const rate = 250
	app := startChild(t, m.URL(), obPath, rate)
	time.Sleep(300 * time.Millisecond) // the appliance starts against a dead broker
	m.Start()
	drainStart := time.Now()

	distinct := func(msgs []uplinktest.Received) int {
		seen := map[string]bool{}
		for _, r := range msgs {
			if r.Topic == callTopic {
				var s struct{ ID string }
				if json.Unmarshal(r.Payload, &s) == nil {
					seen[s.ID] = true
				}
			}
		}
		return len(seen)
	}
	waitDistinct := func(k int) {
		t.Helper()
		if !sub.WaitFor(60*time.Second, func(ms []uplinktest.Received) bool { return distinct(ms) >= k }) {
			t.Fatalf("only %d of %d summaries arrived; broker log:\n%s", distinct(sub.Messages()), k, m.Log())
		}
	}
	kill := func(checkRetained bool) {
		t.Helper()
		from := sub.Count()
		app.stop(syscall.SIGKILL)
		if !sub.WaitFor(20*time.Second, func(ms []uplinktest.Received) bool { return statusAfter(ms, statusTopic, from, "offline") }) {
			t.Fatal("no offline status (last will) after SIGKILL")
		}
		if checkRetained {
			fresh := uplinktest.Subscribe(t, m.URL(), "late-viewer", uplinktest.SubscriberOptions{}, statusTopic)
			if !fresh.WaitFor(5*time.Second, func(ms []uplinktest.Received) bool {
				return len(ms) > 0 && ms[0].Retained && statusAfter(ms[:1], statusTopic, 0, "offline")
			}) {
				t.Fatalf("retained status after the kill is not offline: %+v", fresh.Messages())
			}
		}
		from = sub.Count()
		app = startChild(t, m.URL(), obPath, rate)
		if !sub.WaitFor(20*time.Second, func(ms []uplinktest.Received) bool { return statusAfter(ms, statusTopic, from, "online") }) {
			t.Fatal("no online status after the appliance came back")
		}
	}
	waitDistinct(120)
	m.Restart()
	waitDistinct(250)
	kill(true)
	waitDistinct(400)
	m.Restart()
	waitDistinct(550)
	kill(false)
	waitDistinct(700)
	m.Restart()
	waitDistinct(n)
	// The rate cap held: 1,000 distinct summaries at 250/s cannot arrive in less than ~4 s (3.6 s
	// after the 25-message burst); restarts and duplicates only add to that.
	if el := time.Since(drainStart); el < 3500*time.Millisecond {
		t.Fatalf("1,000 summaries at a cap of %d/s took only %v", rate, el)
	}

	// every row acknowledged and deleted
	deadline := time.Now().Add(20 * time.Second)
	for {
		left, _, err := ob.OutboxBacklog(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d rows still in the outbox", left)
		}
		time.Sleep(50 * time.Millisecond)
	}

	got := map[string]int64{}
	total := 0
	for _, r := range sub.Messages() {
		if r.Topic != callTopic {
			continue
		}
		total++
		s, err := uplink.DecodeSummary(r.Payload)
		if err != nil {
			t.Fatalf("summary does not follow the contract: %v: %s", err, r.Payload)
		}
		if prev, dup := got[s.ID]; dup && prev != s.Seq {
			t.Fatalf("id %s arrived with seq %d and %d", s.ID, prev, s.Seq)
		}
		got[s.ID] = s.Seq
		if s.Caller.Privacy != uplink.CallerHashed || len(s.Caller.Number) != 64 {
			t.Fatalf("caller not hashed: %+v", s.Caller)
		}
	}
	if len(got) != n {
		t.Fatalf("%d distinct summaries, want %d", len(got), n)
	}
	seqs := make(map[int64]bool, n)
	for i, id := range ids {
		seq, ok := got[id]
		if !ok {
			t.Fatalf("summary %s never arrived", id)
		}
		if seq != int64(i+1) { // rows were inserted in order into a fresh table: seq = position
			t.Fatalf("summary %s has seq %d, want %d", id, seq, i+1)
		}
		seqs[seq] = true
	}
	for s := int64(1); s <= n; s++ {
		if !seqs[s] {
			t.Fatalf("gap at seq %d", s)
		}
	}
	t.Logf("%d summaries delivered as %d messages (%d duplicates dropped by id)", n, total, total-n)
	var mu sync.Mutex // the child log is only read here
	mu.Lock()
	defer mu.Unlock()
	if b, _ := os.ReadFile(filepath.Join(dir, "child.log")); testing.Verbose() {
		t.Logf("appliance log (tail):\n%s", tail(string(b), 3000))
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
