package appliance

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ringside/ringside/edge/call"
	"github.com/ringside/ringside/telephony/siptest"
)

// TestWallboardDuringALiveSippCall: the TV wallboard (read-only token) in headless Chromium shows
// a sipp caller waiting in the queue, then connected to the agent who answered, without a reload,
// while a real call goes through the whole appliance (SIP, queue, tracker, store, live events).
func TestWallboardDuringALiveSippCall(t *testing.T) {
	exe := siptest.NeedTool(t, "chromium")
	e := startAppliance(t)
	e.agent("alice", 4*time.Second)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	ctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	defer cancelT()

	base := "http://" + e.a.WebAddr()
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/wallboard?token=tv-token-e2e"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-page="wallboard"]`))); err != nil {
		t.Fatalf("open the wallboard: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.__noReload = 42`)); err != nil {
		t.Fatal(err)
	}
	shots := os.Getenv("RINGSIDE_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	shoot := func(name string) {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		p := filepath.Join(shots, name+".png")
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot %s", p)
	}
	waitFor := func(what, expr string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
			shoot("wallboard-failed")
			t.Fatalf("wallboard never showed %s: %v", what, err)
		}
	}

	// A sipp caller on the trunk's address dials the desk's number and stays 9 s after the answer.
	sc, err := filepath.Abs("../../telephony/pbx/testdata/sipp/caller.xml")
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	sp := siptest.StartSipp(t, t.TempDir(), 60*time.Second, e.sip.String(), "-sf", sc, "-i", callerIP.String(),
		"-p", strconv.Itoa(port), "-mp", strconv.Itoa(port+2), "-m", "1", "-s", "+12125550101", "-d", "9000",
		"-nostdin", "-timeout", "50s", "-timeout_error")

	waitFor("the waiting caller", `document.querySelector('#waiting-count').textContent.trim() === '1' &&
		document.querySelector('#waiting tr[data-id] td:nth-child(2)').textContent.includes('desk')`)
	shoot("wallboard-waiting")
	waitFor("the connected call", `document.querySelector('#waiting-count').textContent.trim() === '0' &&
		document.querySelector('#connected tr[data-id] td:nth-child(2)').textContent.includes('alice')`)
	shoot("wallboard-connected")
	if marker, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.__noReload`)); err != nil || marker != 42 {
		t.Fatalf("the page reloaded (marker %d, %v)", marker, err)
	}
	if err, out := sp.Wait(); err != nil {
		t.Fatalf("sipp: %v\n%s", err, out)
	}
	r := e.record("+15551234567")
	if r.Outcome != call.Connected || r.Agent != "alice" {
		t.Fatalf("record %s agent %q", r.Outcome, r.Agent)
	}
}
