package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/ringside/ringside/edge/call"
	"github.com/ringside/ringside/edge/config"
	"github.com/ringside/ringside/edge/live"
	"github.com/ringside/ringside/edge/metrics"
	"github.com/ringside/ringside/edge/store"
	"github.com/ringside/ringside/edge/tracker"
	"github.com/ringside/ringside/telephony/siptest"
)

const (
	testUser     = "admin"
	testPassword = "correct horse battery"
	testToken    = "tv-wallboard-token-0123456789"
)

// testClock is a settable clock; zero means the real time.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.t.IsZero() {
		return time.Now()
	}
	return c.t
}

func (c *testClock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

const testConfigYAML = `
site: {name: Test Dental, time_zone: America/New_York, region: US, currency: USD}
lines:
  - {id: ata-1, kind: sip_account, username: ata1, password: secret-ata-line, tracking_number: "+12125550100"}
  - {id: trunk, kind: sip_trunk, addresses: [127.0.0.1/32]}
tracking_numbers:
  - {number: "+12125550100", source: direct, queue: front-desk}
  - {number: "+12125550101", source: paid_search, campaign: spring, medium: cpc, queue: front-desk, monthly_fee: "3.00", per_minute: "0.02"}
  - {number: "+12125550102", source: google_business_profile, queue: front-desk}
marketing_costs:
  - {source: paid_search, monthly: "300.00"}
queues:
  - {name: front-desk, strategy: ring_all, members: [{agent: alice}, {agent: bob}]}
agents:
  - {id: alice, name: Alice, username: alice, password: secret-alice}
  - {id: bob, name: Bob, username: bob, password: secret-bob-desk}
`

type harness struct {
	t      testing.TB
	cfg    *config.Config
	clock  *testClock
	st     *store.Store
	bus    *live.Bus
	tr     *tracker.Tracker
	eng    *metrics.Engine
	srv    *Server
	ts     *httptest.Server
	recDir string
	leds   map[string]string
	probs  atomic.Pointer[[]Problem] // what Deps.Problems returns
}

type harnessOpts struct {
	noHash  bool   // no admin hash: first-run setup
	extra   string // YAML appended to the web section
	storeAt string // an existing store folder
}

func newHarness(t testing.TB, o harnessOpts) *harness {
	t.Helper()
	web := fmt.Sprintf("web: {listen: \"127.0.0.1:0\", wallboard_token: %q%s", testToken, o.extra)
	if !o.noHash {
		h, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		web += fmt.Sprintf(", admin_password_hash: %q", h)
	}
	web += "}\n"
	state := t.TempDir()
	cfg, err := config.Parse([]byte(testConfigYAML+web+"state_dir: "+state+"\n"), "test.yaml", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("RINGSIDE_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	dir := o.storeAt
	if dir == "" {
		dir = t.TempDir()
	}
	st, err := store.Open(context.Background(), dir, log)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, cfg: cfg, clock: &testClock{}, st: st, bus: live.NewBus(), recDir: t.TempDir(),
		leds: map[string]string{"ready": "on", "calls": "off", "alarm": "off", "uplink": "blink"}}
	h.tr = tracker.New(st, cfg, h.bus, h.clock, log, nil)
	h.eng = metrics.New(st, cfg, h.clock.Now, log)
	h.srv, err = New(Deps{Config: cfg, Calls: st, Tracker: h.tr, Metrics: h.eng, Bus: h.bus, Clock: h.clock, Log: log,
		Recordings: RecordingsFunc(func(rec call.Record) (io.ReadSeekCloser, time.Time, error) {
			f, err := os.Open(filepath.Join(h.recDir, filepath.Clean("/"+rec.Recording)))
			if err != nil {
				return nil, time.Time{}, err
			}
			fi, err := f.Stat()
			if err != nil {
				f.Close()
				return nil, time.Time{}, err
			}
			return f, fi.ModTime(), nil
		}),
		LEDs: func() map[string]string { return h.leds },
		Problems: func() []Problem {
			if p := h.probs.Load(); p != nil {
				return *p
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := h.tr.Run(ctx); err != nil {
			t.Errorf("tracker: %v", err)
		}
	})
	wg.Go(func() { h.srv.Run(ctx) })
	h.ts = httptest.NewServer(h.srv.Handler())
	t.Cleanup(func() {
		cancel() // ends Run, which ends the event streams, so the test server can close
		h.ts.Close()
		wg.Wait()
		st.Close()
	})
	return h
}

// sync waits until the tracker has written everything posted so far.
func (h *harness) sync() {
	h.t.Helper()
	// A bound, not a speed check: 120 fsynced commits under -race on a loaded 2-core machine have
	// taken over 10 s.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := h.tr.Ping(ctx); err != nil {
		h.t.Fatal(err)
	}
}

// testCall describes a call to post through the tracker.
type testCall struct {
	at        time.Time
	number    string // tracking number
	caller    string // "" withheld
	outcome   call.Outcome
	wait      time.Duration
	talk      time.Duration
	agent     string
	recording string
}

// post posts a whole call's journal and returns its id.
func (h *harness) post(c testCall) string {
	id := call.NewID()
	ev := func(kind call.Kind, mono time.Duration) call.Event {
		return call.Event{CallID: id, Kind: kind, At: c.at.Add(mono), Mono: mono, Queue: "front-desk"}
	}
	h.tr.Post(call.Event{CallID: id, Kind: call.KindArrived, At: c.at, Arrival: &call.Arrival{Line: "trunk",
		TrackingNumber: c.number, DialedNumber: c.number, CallerNumber: c.caller, Withheld: c.caller == ""}})
	switch c.outcome {
	case call.Busy, call.Closed, call.NoAgent, call.Failed:
		e := ev(call.KindRefused, c.wait)
		e.Outcome = c.outcome
		h.tr.Post(e)
		return id
	}
	h.tr.Post(ev(call.KindAnswered, 0))
	h.tr.Post(ev(call.KindQueued, 0))
	if c.outcome == call.Connected {
		e := ev(call.KindConnected, c.wait)
		e.Agent = c.agent
		h.tr.Post(e)
	}
	if c.recording != "" { // the tracker takes recording references while the call is live
		e := ev(call.KindRecording, c.wait)
		e.Recording = &call.RecordingRef{Path: c.recording, Status: "complete"}
		h.tr.Post(e)
	}
	e := ev(call.KindEnded, c.wait+c.talk)
	e.Outcome = c.outcome
	h.tr.Post(e)
	return id
}

// client is a logged-in browser-like HTTP client.
type client struct {
	*http.Client
	base string
	csrf string
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf" content="([^"]*)">`)

func (h *harness) login() *client {
	h.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &client{Client: &http.Client{Jar: jar, Timeout: 30 * time.Second}, base: h.ts.URL}
	resp, err := c.PostForm(h.ts.URL+"/login", url.Values{"user": {testUser}, "password": {testPassword}, "next": {"/calls"}})
	if err != nil {
		h.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/calls" {
		h.t.Fatalf("login: %d at %s", resp.StatusCode, resp.Request.URL.Path)
	}
	m := csrfMeta.FindSubmatch(body)
	if m == nil || len(m[1]) < 20 {
		h.t.Fatalf("no CSRF token on the page after login")
	}
	c.csrf = string(m[1])
	return c
}

func (c *client) get(t testing.TB, path string) (int, string) {
	t.Helper()
	resp, err := c.Get(c.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (c *client) do(t testing.TB, method, path, body string, hdr map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// makeWAV writes a 16-bit PCM WAV of secs seconds of a 440 Hz tone with sox.
func makeWAV(t testing.TB, path string, secs int) {
	t.Helper()
	sox := siptest.NeedTool(t, "sox")
	out, err := exec.Command(sox, "-n", "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", path,
		"synth", fmt.Sprint(secs), "sine", "440", "vol", "0.3").CombinedOutput()
	if err != nil {
		t.Fatalf("sox: %v: %s", err, out)
	}
}
