package appliance

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ringside/ringside/edge/call"
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
		if r := e.record(n); r.Answered.IsZero() {
			t.Fatalf("answered call %s recorded as not answered: %+v", n, r)
		}
	}
	if r := e.record(refused); r.Outcome != call.Failed || r.Reason != tracker.ErrUnsaved.Error() || !r.Answered.IsZero() {
		t.Fatalf("refused call: %s %q", r.Outcome, r.Reason)
	}
}
