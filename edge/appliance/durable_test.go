package appliance

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ringside/ringside/edge/call"
	"github.com/ringside/ringside/edge/config"
	"github.com/ringside/ringside/edge/store"
	"github.com/ringside/ringside/edge/store/storetest"
	"github.com/ringside/ringside/edge/tracker"
	"github.com/ringside/ringside/hw"
)

// waitUntil polls cond until it holds, failing the test with what after d.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting after %v: %s", d, what)
		}
	}
}

// health returns /healthz's status code and body.
func health(t *testing.T, a *Appliance) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + a.WebAddr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// fullDiskConfig records every call and keeps 2 MiB free for the database.
const fullDiskConfig = `
recording: {enabled: true, low_disk_mb: 2}
`

// TestFullDiskRefusesCallsUntilRecordsCanBeSaved runs the appliance with its whole state folder
// (database and recordings) on a real 8 MiB tmpfs.
//
// Below the recordings' floor a call is answered and recorded in the database, and its record says
// why its recording did not start. With the disk full to the last byte, every call the caller saw
// answered either gets a durable record or the box stops answering: new calls are refused 503 (a
// trunk fails over), the alarm LED and /healthz say so, and so does the page. Once the disk has
// room again the box recovers by itself: the records flush, the alarm clears, calls are answered.
func TestFullDiskRefusesCallsUntilRecordsCanBeSaved(t *testing.T) {
	disk := storetest.SmallDisk(t, "8m")
	e := startApplianceIn(t, filepath.Join(disk, "state"), fullDiskConfig)
	waitUntil(t, 10*time.Second, "the web page", func() bool { return e.a.WebAddr() != "" })
	agent := e.agent("alice", 200*time.Millisecond)
	agent.MediaAddr = newSender(t, agentIP).addr()

	// Under the recordings' floor: the call is recorded in the database, its audio is not.
	freeFloor := storetest.Fill(t, filepath.Join(disk, "under-the-floor"), 1<<20)
	ph := e.caller("+19175550060")
	rtpOut := newSender(t, callerIP)
	ph.MediaAddr = rtpOut.addr()
	c, err := e.dial(ph, "+12125550101")
	if err != nil {
		t.Fatal(err)
	}
	rtpOut.send(c.Remote.Addr, 1, 100, nil, nil)
	hangup(c)
	r := e.record("+19175550060")
	if r.Outcome != call.Connected || r.RecordingStatus != RecordingNotStarted || !strings.Contains(r.RecordingReason, "disk low") {
		t.Fatalf("call under the floor: %s, recording %q (%s)", r.Outcome, r.RecordingStatus, r.RecordingReason)
	}

	// Full to the last byte: calls go on being answered only while their records can be saved.
	freeAll := storetest.Fill(t, filepath.Join(disk, "the-rest"), 0)
	var answered []string
	refused := ""
	for i := 0; refused == ""; i++ {
		if i == 300 {
			t.Fatalf("%d calls answered on a full disk, none refused", len(answered))
		}
		time.Sleep(100 * time.Millisecond) // a caller a tenth of a second: under the trunk's flood limit
		number := fmt.Sprintf("+1917555%04d", 1000+i)
		c, err := e.dial(e.caller(number), "+12125550101")
		switch {
		case err == nil:
			answered = append(answered, number)
			hangup(c)
		case strings.Contains(err.Error(), "503"):
			refused = number
		default:
			t.Fatalf("call %s: %v", number, err)
		}
	}
	t.Logf("%d calls answered on the full disk before the box refused one", len(answered))
	waitUntil(t, 5*time.Second, "the records-unsaved alarm", func() bool { return e.a.Status().Alarms&hw.AlarmRecordsUnsaved != 0 })
	waitUntil(t, 2*time.Second, "the alarm LED to blink fast", func() bool { return e.a.ledPatterns()["alarm"] == "fast_blink" })
	if code, body := health(t, e.a); code != http.StatusServiceUnavailable || !strings.Contains(body, "cannot be saved") {
		t.Fatalf("healthz while records cannot be saved: %d %q", code, body)
	}
	if ps := e.a.problems(); len(ps) == 0 || !ps[0].Failing {
		t.Fatalf("the page shows no problem: %+v", ps)
	}
	if c, err := e.dial(e.caller("+19175550061"), "+12125550101"); err == nil {
		hangup(c)
		t.Fatal("a call was answered while records cannot be saved")
	}

	// Room again: the box recovers by itself.
	freeAll()
	freeFloor()
	waitUntil(t, 30*time.Second, "records saved again", func() bool { return e.a.Tracker.Saving() == nil })
	waitUntil(t, 5*time.Second, "the alarm to clear", func() bool { return e.a.Status().Alarms&hw.AlarmRecordsUnsaved == 0 })
	if code, body := health(t, e.a); code != http.StatusOK {
		t.Fatalf("healthz after the disk was freed: %d %q", code, body)
	}
	c, err = e.dial(e.caller("+19175550062"), "+12125550101")
	if err != nil {
		t.Fatalf("a call after the disk was freed: %v", err)
	}
	hangup(c)
	for _, n := range append(answered, "+19175550062") {
		if r := e.record(n); r.Reason == tracker.ErrUnsaved.Error() {
			t.Fatalf("answered call %s recorded as refused: %+v", n, r)
		}
	}
	// The first call refused is either held at its answer until the save bound ran out, or refused
	// at once because the tracker already said records cannot be saved.
	if r := e.record(refused); r.Outcome != call.Failed || !r.Answered.IsZero() ||
		r.Reason != tracker.ErrUnsaved.Error() && !strings.HasPrefix(r.Reason, "call record not saved") {
		t.Fatalf("refused call: %s %q", r.Outcome, r.Reason)
	}
}

// diskFullChildEnv names the state folder of the appliance TestFullDiskThenSIGKILL runs in a child
// process (the test binary again) to kill it with SIGKILL.
const diskFullChildEnv = "RINGSIDE_DISKFULL_CHILD"

// diskFullChild runs the appliance on e2eConfig in dir, prints "READY <sip addr> <web addr>", and
// serves until it is killed (or its stdin closes: the parent is gone).
func diskFullChild(dir string) int {
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "disk-full appliance:", err); return 1 }
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()
	rtp := 30000 + (port%1000)*20
	cfg, err := config.Parse([]byte(fmt.Sprintf(e2eConfig, port, rtp, rtp+400, "", dir)+fullDiskConfig), "e2e.yaml", os.TempDir())
	if err != nil {
		return fail(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	a, err := New(context.Background(), cfg, log, SystemClock, "test")
	if err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, nil) }()
	select {
	case <-a.Ready():
	case err := <-done:
		return fail(err)
	}
	fmt.Printf("READY 127.0.0.1:%d %s\n", port, a.WebAddr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	cancel()
	if err := <-done; err != nil {
		return fail(err)
	}
	return 0
}

// TestFullDiskThenSIGKILL is the scenario: the appliance (a child process) runs with its
// state folder on a real 8 MiB tmpfs, the disk fills, calls keep coming, and the appliance is killed
// with SIGKILL. Before, it answered every call with their records only in memory, said ok on
// /healthz, and the kill lost them (4 answered calls, 1 record). Now every call answered before the
// disk filled has its record after the kill, and once the disk was full the box stopped answering
// (503) and failed /healthz, so no caller was answered for long without a durable record; after
// the kill, with room again, the appliance starts, closes what the kill cut off, and takes calls.
func TestFullDiskThenSIGKILL(t *testing.T) {
	disk := storetest.SmallDisk(t, "8m")
	state := filepath.Join(disk, "state")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), diskFullChildEnv+"="+state)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
		stdin.Close()
	})
	ready := make(chan []string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- strings.Fields(line)
	}()
	var f []string
	select {
	case f = <-ready:
	case <-time.After(30 * time.Second):
		t.Fatalf("the child appliance did not start; stderr:\n%s", stderr.String())
	}
	if len(f) != 3 || f[0] != "READY" {
		t.Fatalf("child said %q; stderr:\n%s", f, stderr.String())
	}
	e := &e2e{t: t, sip: netip.MustParseAddrPort(f[1])}
	web := "http://" + f[2]
	healthz := func() int {
		resp, err := http.Get(web + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	e.agent("alice", -1) // rings; the box answers callers and queues them

	// One call while the disk has room: its record must survive the kill.
	c, err := e.dial(e.caller("+19175550070"), "+12125550101")
	if err != nil {
		t.Fatal(err)
	}
	hangup(c)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(state, store.FileName)+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	waitUntil(t, 10*time.Second, "the first call's record", func() bool {
		var n int
		err := db.QueryRow(`SELECT COUNT(*) FROM calls WHERE caller_number = '+19175550070' AND outcome != ''`).Scan(&n)
		return err == nil && n == 1
	})

	freeAll := storetest.Fill(t, filepath.Join(disk, "the-rest"), 0)
	var answered []string
	for i := 0; ; i++ {
		if i == 300 {
			t.Fatalf("%d calls answered on a full disk, none refused", len(answered))
		}
		time.Sleep(100 * time.Millisecond) // a caller a tenth of a second: under the trunk's flood limit
		number := fmt.Sprintf("+1917555%04d", 2000+i)
		c, err := e.dial(e.caller(number), "+12125550101")
		if err != nil {
			if !strings.Contains(err.Error(), "503") {
				t.Fatalf("call %s: %v", number, err)
			}
			break
		}
		answered = append(answered, number)
		hangup(c)
	}
	waitUntil(t, 5*time.Second, "/healthz to fail", func() bool { return healthz() == http.StatusServiceUnavailable })
	for i := range 3 {
		if c, err := e.dial(e.caller(fmt.Sprintf("+1917555%04d", 3000+i)), "+12125550101"); err == nil {
			hangup(c)
			t.Fatal("a call was answered after the box said records cannot be saved")
		}
	}

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	werr := cmd.Wait()
	killed = true
	var ee *exec.ExitError
	if !errors.As(werr, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the child ended by itself (%v); stderr:\n%s", werr, stderr.String())
	}
	db.Close()
	freeAll()

	// The next start, with room again: the records that were durable are there, calls are taken.
	e2 := startApplianceIn(t, state, fullDiskConfig)
	if r := e2.record("+19175550070"); r.Outcome == "" || r.Reason == tracker.ReasonInterrupted {
		t.Fatalf("the call finished before the disk filled: %s %q", r.Outcome, r.Reason)
	}
	lost := 0
	for _, n := range answered {
		found := false
		for r, err := range e2.a.Store.CallsArrived(context.Background(), time.Now().Add(-time.Hour), time.Now().Add(time.Hour)) {
			if err != nil {
				t.Fatal(err)
			}
			found = found || r.CallerNumber == n
		}
		if !found {
			lost++
		}
	}
	t.Logf("%d calls answered on the full disk before the box refused; %d of them without a record after the kill", len(answered), lost)
	e2.agent("alice", -1)
	c, err = e2.dial(e2.caller("+19175550071"), "+12125550101")
	if err != nil {
		t.Fatalf("a call after the restart: %v", err)
	}
	hangup(c)
	if r := e2.record("+19175550071"); r.Reason == tracker.ErrUnsaved.Error() {
		t.Fatalf("call after the restart recorded as refused: %+v", r)
	}
}
