package web

import (
	"context"
	"encoding/csv"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/ringside/ringside/edge/call"
	"github.com/ringside/ringside/edge/live"
	"github.com/ringside/ringside/telephony/siptest"
)

// chromiumPath is Debian's Chromium.
const chromiumPath = "/usr/bin/chromium"

// newBrowser starts headless Chromium with a fresh profile, or fails (CI) / skips without it.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	exe := chromiumPath
	if _, err := os.Stat(exe); err != nil {
		exe = siptest.NeedTool(t, "chromium")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelB(); cancelA() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// doT runs actions with a time limit (the browser outlives it).
func doT(ctx context.Context, steps ...chromedp.Action[chromedp.Void]) error {
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	return chromedp.Do(tctx, steps...)
}

// screenshotDir is $RINGSIDE_SCREENSHOTS, or a temporary folder.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("RINGSIDE_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

func shoot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
}

// waitJS polls a JavaScript expression until it is true.
func waitJS(ctx context.Context, expr string) error {
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(15*time.Second)))
	return err
}

func figureOnPage(t *testing.T, ctx context.Context, name string) float64 {
	t.Helper()
	res, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`[data-figure="`+name+`"]`), "data-value"))
	if err != nil {
		t.Fatalf("figure %s: %v", name, err)
	}
	v := res.Value
	if v == "null" {
		return math.NaN()
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		t.Fatalf("figure %s = %q", name, v)
	}
	return f
}

// TestBrowser drives the pages in headless Chromium: log in, watch a live call on the wallboard,
// tag a call and see the metrics change, play a recording, download the CSV.
func TestBrowser(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	shots := screenshotDir(t)
	now := time.Now()
	// Calls earlier today (or just before midnight, early in the day: still in the period below).
	at := now.Add(-2 * time.Hour)
	makeWAV(t, filepath.Join(h.recDir, "rec-1.wav"), 3)
	recorded := h.post(testCall{at: at, number: "+12125550101", caller: "+12125550301", outcome: call.Connected, wait: 8 * time.Second, talk: 3 * time.Second, agent: "alice", recording: "rec-1.wav"})
	toTag := h.post(testCall{at: at.Add(time.Minute), number: "+12125550102", caller: "+12125550302", outcome: call.Connected, wait: 3 * time.Second, talk: 2 * time.Minute, agent: "bob"})
	h.post(testCall{at: at.Add(2 * time.Minute), number: "+12125550100", caller: "+12125550303", outcome: call.Abandoned, wait: 40 * time.Second})
	h.post(testCall{at: at.Add(3 * time.Minute), number: "+12125550101", caller: "+12125550304", outcome: call.Busy})
	h.sync()
	period := "from=" + at.In(h.eng.Location()).Format(time.DateOnly) + "&to=" + now.In(h.eng.Location()).Format(time.DateOnly)

	ctx := newBrowser(t)
	base := h.ts.URL

	// Log in.
	if err := doT(ctx,
		chromedp.Navigate(base+"/wallboard"),
		chromedp.WaitVisible(chromedp.CSS(`#login`)),
	); err != nil {
		t.Fatal(err)
	}
	shoot(t, ctx, shots, "login")
	if err := doT(ctx,
		chromedp.SendKeys(chromedp.CSS(`#user`), testUser),
		chromedp.SendKeys(chromedp.CSS(`#password`), testPassword),
		chromedp.Click(chromedp.CSS(`#login`)),
		chromedp.WaitVisible(chromedp.CSS(`body[data-page="wallboard"]`)),
	); err != nil {
		shoot(t, ctx, shots, "login-failed")
		t.Fatalf("log in: %v", err)
	}

	// A live call: waiting, then connected, without a reload.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.__noReload = 42`)); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `document.getElementById("live-state").textContent === "Live."`); err != nil {
		t.Fatalf("wallboard never went live: %v", err)
	}
	id := call.NewID()
	arrived := time.Now()
	h.tr.Post(call.Event{CallID: id, Kind: call.KindArrived, At: arrived, Arrival: &call.Arrival{Line: "trunk",
		TrackingNumber: "+12125550101", DialedNumber: "+12125550101", CallerNumber: "+12125550399", Attribution: call.Attribution{Source: "paid_search"}}})
	h.tr.Post(call.Event{CallID: id, Kind: call.KindAnswered, At: arrived})
	h.tr.Post(call.Event{CallID: id, Kind: call.KindQueued, At: arrived, Queue: "front-desk"})
	h.bus.Publish(liveAgent("alice", "ringing", id))
	if err := waitJS(ctx, `!!document.querySelector('#waiting tr[data-id="`+id+`"]') && document.querySelector('#waiting').textContent.includes("+12125550399") && document.getElementById("waiting-count").textContent === "1"`); err != nil {
		t.Fatalf("the waiting caller never showed: %v", err)
	}
	shoot(t, ctx, shots, "wallboard-waiting")
	h.tr.Post(call.Event{CallID: id, Kind: call.KindConnected, At: arrived.Add(2 * time.Second), Mono: 2 * time.Second, Queue: "front-desk", Agent: "alice"})
	h.bus.Publish(liveAgent("alice", "on_call", id))
	if err := waitJS(ctx, `!!document.querySelector('#connected tr[data-id="`+id+`"]') && !document.querySelector('#waiting tr[data-id="`+id+`"]') && document.querySelector('#agents').textContent.includes("on_call")`); err != nil {
		t.Fatalf("the connected call never showed: %v", err)
	}
	if marker, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.__noReload`)); err != nil || marker != 42 {
		t.Fatalf("the page reloaded (marker %d, %v)", marker, err)
	}
	shoot(t, ctx, shots, "wallboard-connected")
	h.tr.Post(call.Event{CallID: id, Kind: call.KindEnded, At: arrived.Add(5 * time.Second), Mono: 5 * time.Second, Outcome: call.Connected})
	h.sync()

	// Tag a call as converted with revenue and see the metrics view change.
	if err := doT(ctx, chromedp.Navigate(base+"/stats?"+period), chromedp.WaitVisible(chromedp.CSS(`#figures`)),
		chromedp.WaitVisible(chromedp.CSS(`#chart-heatmap svg`))); err != nil {
		t.Fatal(err)
	}
	conv0, rev0 := figureOnPage(t, ctx, "leads.converted"), figureOnPage(t, ctx, "revenue.cents")
	shoot(t, ctx, shots, "metrics")
	if err := doT(ctx,
		chromedp.Navigate(base+"/calls/"+toTag), chromedp.WaitVisible(chromedp.CSS(`#tag-form`)),
		chromedp.Click(chromedp.CSS(`#tag-converted`)),
		chromedp.Clear(chromedp.CSS(`#tag-revenue`)),
		chromedp.SendKeys(chromedp.CSS(`#tag-revenue`), "125.50"),
		chromedp.SendKeys(chromedp.CSS(`#tag-notes`), "booked an implant consultation"),
		chromedp.Click(chromedp.CSS(`#tag-save`)),
	); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `document.getElementById("tag-status").dataset.saved === "1"`); err != nil {
		st, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#tag-status`)))
		t.Fatalf("tag not saved: %v (%s)", err, st)
	}
	shoot(t, ctx, shots, "call-tagged")
	if err := doT(ctx, chromedp.Navigate(base+"/stats?"+period), chromedp.WaitVisible(chromedp.CSS(`#figures`))); err != nil {
		t.Fatal(err)
	}
	conv1, rev1 := figureOnPage(t, ctx, "leads.converted"), figureOnPage(t, ctx, "revenue.cents")
	if conv1 != conv0+1 || rev1 != rev0+12550 {
		t.Errorf("metrics after tagging: converted %v -> %v, revenue %v -> %v; want +1 and +12550", conv0, conv1, rev0, rev1)
	}
	rec, err := h.st.Call(context.Background(), toTag)
	if err != nil || !rec.Tags.Converted || rec.Tags.RevenueCents != 12550 || rec.Tags.By != testUser {
		t.Errorf("stored tags: %+v (%v)", rec.Tags, err)
	}

	// A recording plays: the audio element loads and reports its duration.
	if err := doT(ctx, chromedp.Navigate(base+"/calls/"+recorded), chromedp.WaitVisible(chromedp.CSS(`#recording`))); err != nil {
		shoot(t, ctx, shots, "recording-failed")
		t.Fatal(err)
	}
	if err := waitJS(ctx, `document.getElementById("recording").readyState >= 1 && document.getElementById("recording").duration > 0`); err != nil {
		t.Fatalf("the recording never loaded: %v", err)
	}
	dur, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.getElementById("recording").duration`))
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(dur-3) > 0.05 {
		t.Errorf("recording duration %.3f s, want 3 s (the sox file)", dur)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("recording").play().then(() => true)`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatalf("play(): %v", err)
	}
	if err := waitJS(ctx, `document.getElementById("recording").currentTime > 0.2`); err != nil {
		t.Errorf("the recording does not advance when played: %v", err)
	}
	shoot(t, ctx, shots, "call-recording")

	// The call log and the CSV download.
	dl := t.TempDir()
	done := make(chan string, 1)
	chromedp.ListenBrowser(ctx, func(ev any) {
		if e, ok := ev.(*browser.EventDownloadProgress); ok && e.State == browser.DownloadProgressStateCompleted {
			select {
			case done <- e.GUID:
			default:
			}
		}
	})
	yes := true
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dl, EventsEnabled: &yes}); err != nil {
		t.Fatal(err)
	}
	if err := doT(ctx,
		chromedp.Navigate(base+"/calls?"+period), chromedp.WaitVisible(chromedp.CSS(`#csv`)),
	); err != nil {
		t.Fatal(err)
	}
	shoot(t, ctx, shots, "calls")
	if err := doT(ctx, chromedp.Click(chromedp.CSS(`#csv`))); err != nil {
		t.Fatal(err)
	}
	var guid string
	select {
	case guid = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the CSV download never completed")
	}
	b, err := os.ReadFile(filepath.Join(dl, guid))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, r := range rows[1:] {
		got[r[0]] = true
	}
	for _, want := range []string{recorded, toTag, id} {
		if !got[want] {
			t.Errorf("the CSV lacks call %s (%d rows)", want, len(rows)-1)
		}
	}
	if len(rows)-1 != 5 {
		t.Errorf("the CSV has %d calls, want 5", len(rows)-1)
	}

	for _, p := range []string{"abandoned", "blocked"} {
		if err := doT(ctx, chromedp.Navigate(base+"/"+p+"?period=last7"), chromedp.WaitVisible(chromedp.CSS(`table.lost`))); err != nil {
			t.Fatal(err)
		}
		text, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`table.lost`)))
		if !strings.Contains(text, "+12125550303") {
			t.Errorf("%s list lacks the abandoned caller", p)
		}
		shoot(t, ctx, shots, p)
	}

	// The TV wallboard with only the token: numbers masked.
	tv := newBrowser(t)
	id2 := call.NewID()
	h.tr.Post(call.Event{CallID: id2, Kind: call.KindArrived, At: time.Now(), Arrival: &call.Arrival{Line: "trunk", TrackingNumber: "+12125550100", CallerNumber: "+12125550477"}})
	h.tr.Post(call.Event{CallID: id2, Kind: call.KindQueued, At: time.Now(), Queue: "front-desk"})
	h.sync()
	if err := doT(tv, chromedp.Navigate(base+"/wallboard?token="+testToken), chromedp.WaitVisible(chromedp.CSS(`#waiting`))); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(tv, `document.querySelector('#waiting').textContent.includes("•••477")`); err != nil {
		t.Errorf("TV wallboard: masked caller not shown: %v", err)
	}
	html, _ := chromedp.Run(tv, chromedp.OuterHTML(chromedp.CSS(`html`)))
	if strings.Contains(html, "+12125550477") {
		t.Error("the token-only wallboard shows a full caller number")
	}
	shoot(t, tv, shots, "wallboard-tv")

	// On a phone screen the page fits the width (wide tables scroll inside their cards).
	if err := doT(tv, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#waiting`))); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(tv, `document.querySelector('#waiting').textContent.includes("•••477")`); err != nil {
		t.Fatal(err)
	}
	fits, err := chromedp.Run(tv, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth + 1`))
	if err != nil || !fits {
		t.Errorf("the wallboard is wider than a phone screen (%v)", err)
	}
	shoot(t, tv, shots, "wallboard-phone")
	fmt.Fprintf(os.Stderr, "browser test screenshots in %s\n", shots)
}

func liveAgent(agent, state, callID string) live.Event {
	return live.Event{At: time.Now(), Type: live.TypeAgent, Agent: &live.AgentState{Agent: agent, State: state, Call: callID}}
}

// TestMetricsViewOneSnapshot: the metrics view draws its cards and its charts from one report, so
// they agree while calls keep coming. A call is added after each /stats page is rendered and
// before the browser gets it (as a call ending at that moment would); the charts must still add
// up to the cards' volume, and the view must ask for no figures besides the page itself.
func TestMetricsViewOneSnapshot(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	at := time.Now().Add(-time.Hour)
	for i, o := range []call.Outcome{call.Connected, call.Abandoned, call.Busy, call.Connected} {
		h.post(testCall{at: at.Add(time.Duration(i) * time.Minute), number: "+12125550101", caller: fmt.Sprintf("+1212555060%d", i),
			outcome: o, wait: time.Duration(5+20*i) * time.Second, talk: time.Minute, agent: "alice"})
	}
	h.sync()
	var figureRequests, added atomic.Int32
	app := h.srv.Handler()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/v1/metrics") {
			figureRequests.Add(1)
		}
		if r.URL.Path != "/stats" {
			app.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, r)
		n := added.Add(1)
		h.post(testCall{at: at.Add(time.Duration(10+n) * time.Minute), number: "+12125550100", caller: fmt.Sprintf("+1212555070%d", n%10),
			outcome: call.Connected, wait: 15 * time.Second, talk: time.Minute, agent: "bob"})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.tr.Ping(ctx); err != nil {
			t.Errorf("tracker: %v", err)
		}
		maps.Copy(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	}))
	defer ts.Close()

	ctx := newBrowser(t)
	if err := doT(ctx,
		chromedp.Navigate(ts.URL+"/login?next=/stats"),
		chromedp.WaitVisible(chromedp.CSS(`#login`)),
		chromedp.SendKeys(chromedp.CSS(`#user`), testUser),
		chromedp.SendKeys(chromedp.CSS(`#password`), testPassword),
		chromedp.Click(chromedp.CSS(`#login`)),
		chromedp.WaitVisible(chromedp.CSS(`body[data-page="stats"]`)),
	); err != nil {
		t.Fatalf("log in: %v", err)
	}
	// The sum of a chart's bars, as their tooltips ("label: n") give them.
	sum := func(chart string) int {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[int](`Array.from(document.querySelectorAll("#`+chart+` rect title")).reduce(function (s, e) { return s + Number(e.textContent.split(": ").pop()); }, 0)`))
		if err != nil {
			t.Fatalf("%s: %v", chart, err)
		}
		return v
	}
	for view := range 3 {
		figureRequests.Store(0)
		before := int(added.Load()) // calls added so far: the store holds 4 + before when the page renders
		if err := doT(ctx, chromedp.Navigate(ts.URL+"/stats?period=last7"), chromedp.WaitVisible(chromedp.CSS(`#chart-hour svg`)),
			chromedp.WaitVisible(chromedp.CSS(`#chart-waits svg`)), chromedp.WaitVisible(chromedp.CSS(`#chart-source svg`))); err != nil {
			t.Fatal(err)
		}
		volume := int(figureOnPage(t, ctx, "volume"))
		if want := 4 + before; volume != want {
			t.Errorf("view %d: the cards show %d calls, want %d (the calls when the page was rendered)", view, volume, want)
		}
		for _, chart := range []string{"chart-hour", "chart-day", "chart-waits", "chart-source", "chart-callers"} {
			if n := sum(chart); n != volume {
				t.Errorf("view %d: %s adds up to %d calls, the cards show %d", view, chart, n, volume)
			}
		}
		if n := figureRequests.Load(); n != 0 {
			t.Errorf("view %d: the page asked for figures %d more times after rendering them", view, n)
		}
	}
}
