package web

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ringside/ringside/edge/call"
	"github.com/ringside/ringside/edge/metrics"
)

// routePath turns a route pattern into a concrete path.
func routePath(pattern, id string) string {
	p := strings.ReplaceAll(pattern, "{id}", id)
	p = strings.ReplaceAll(p, "{$}", "")
	if p == "/static/" {
		p = "/static/app.css"
	}
	return p
}

func noRedirect(req *http.Request, via []*http.Request) error { return http.ErrUseLastResponse }

// TestRouteTable walks every route: without credentials everything but the public routes is
// refused; the wallboard token opens the wallboard routes and nothing else.
func TestRouteTable(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	id := h.post(testCall{at: time.Now().Add(-time.Hour), number: "+12125550101", caller: "+12125550111", outcome: call.Connected, wait: 5 * time.Second, talk: time.Minute, agent: "alice", recording: "r.wav"})
	h.sync()
	makeWAV(t, filepath.Join(h.recDir, "r.wav"), 1)
	anon := &http.Client{CheckRedirect: noRedirect, Timeout: 10 * time.Second}
	public := map[string]bool{"/healthz": true, "/static/": true, "/login": true, "/setup": true}
	for _, rt := range h.srv.Routes() {
		path := routePath(rt.Pattern, id)
		if rt.Public != public[rt.Pattern] {
			t.Errorf("%s %s: public=%v, want %v", rt.Method, rt.Pattern, rt.Public, public[rt.Pattern])
		}
		for _, variant := range []string{"none", "badtoken", "token"} {
			u := h.ts.URL + path
			if variant == "badtoken" {
				u += "?token=wrong"
			} else if variant == "token" {
				u += "?token=" + testToken
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			req, _ := http.NewRequestWithContext(ctx, rt.Method, u, strings.NewReader(""))
			resp, err := anon.Do(req)
			if err != nil {
				cancel()
				t.Fatalf("%s %s: %v", rt.Method, u, err)
			}
			code, loc := resp.StatusCode, resp.Header.Get("Location")
			resp.Body.Close()
			cancel()
			ok := code >= 200 && code < 300
			switch {
			case rt.Pattern == "/healthz":
				if code != 200 {
					t.Errorf("healthz: %d", code)
				}
			case rt.Public:
				// login, setup (404 once a password exists) and static assets: never a data leak.
				if rt.Pattern == "/setup" && code != http.StatusNotFound {
					t.Errorf("%s /setup with a password set: %d, want 404", rt.Method, code)
				}
			case variant == "token" && rt.TokenOK:
				if !ok {
					t.Errorf("%s %s with the wallboard token: %d, want 2xx", rt.Method, path, code)
				}
			default:
				if ok {
					t.Errorf("%s %s (%s): %d without auth", rt.Method, path, variant, code)
				}
				if code == http.StatusSeeOther && !strings.HasPrefix(loc, "/login") {
					t.Errorf("%s %s: redirected to %q, want the login page", rt.Method, path, loc)
				}
				if code != http.StatusSeeOther && code != http.StatusUnauthorized && code != http.StatusForbidden {
					t.Errorf("%s %s (%s): %d, want 303, 401 or 403", rt.Method, path, variant, code)
				}
			}
		}
	}
}

func TestCSRFAndOrigin(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	id := h.post(testCall{at: time.Now().Add(-time.Hour), number: "+12125550101", caller: "+12125550111", outcome: call.Connected, wait: 5 * time.Second, talk: time.Minute, agent: "alice"})
	h.sync()
	c := h.login()
	body := `{"converted":true,"revenue":"10.00"}`
	for _, r := range h.srv.Routes() {
		if !r.StateChanging {
			continue
		}
		code, msg := c.do(t, r.Method, routePath(r.Pattern, id), body, map[string]string{"Content-Type": "application/json"})
		if code != http.StatusForbidden || !strings.Contains(msg, "CSRF") {
			t.Errorf("%s %s without CSRF token: %d %q, want 403 naming CSRF", r.Method, r.Pattern, code, msg)
		}
		code, _ = c.do(t, r.Method, routePath(r.Pattern, id), body, map[string]string{"X-CSRF-Token": "not-the-token"})
		if code != http.StatusForbidden {
			t.Errorf("%s %s with a wrong CSRF token: %d", r.Method, r.Pattern, code)
		}
	}
	code, _ := c.do(t, "PUT", "/api/v1/calls/"+id+"/tags", body, map[string]string{"X-CSRF-Token": c.csrf, "Origin": "http://evil.example"})
	if code != http.StatusForbidden {
		t.Errorf("cross-origin PUT: %d, want 403", code)
	}
	code, resp := c.do(t, "PUT", "/api/v1/calls/"+id+"/tags", body, map[string]string{"X-CSRF-Token": c.csrf})
	if code != 200 {
		t.Fatalf("tag with the CSRF token: %d %s", code, resp)
	}
	var rec call.Record
	if err := json.Unmarshal([]byte(resp), &rec); err != nil {
		t.Fatal(err)
	}
	if !rec.Tags.Converted || rec.Tags.RevenueCents != 1000 || rec.Tags.By != testUser || rec.Tags.At.IsZero() {
		t.Errorf("tags after PUT: %+v", rec.Tags)
	}
	// The journal holds who tagged and when.
	_, j := c.get(t, "/api/v1/calls/"+id)
	var d CallDetail
	json.Unmarshal([]byte(j), &d)
	last := d.Journal[len(d.Journal)-1]
	if last.Kind != call.KindTagged || last.Tags == nil || last.Tags.By != testUser {
		t.Errorf("journal does not end with the tag event by %s: %+v", testUser, last)
	}
}

func TestBadParameters(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	id := h.post(testCall{at: time.Now().Add(-time.Hour), number: "+12125550101", caller: "+12125550111", outcome: call.Connected, wait: 5 * time.Second, talk: time.Minute, agent: "alice"})
	h.sync()
	c := h.login()
	cases := []struct{ path, want string }{
		{"/api/v1/calls?limit=0", "limit"},
		{"/api/v1/calls?limit=abc", "limit"},
		{"/api/v1/calls?offset=-1", "offset"},
		{"/api/v1/calls?sort=colour", "sort"},
		{"/api/v1/calls?order=sideways", "order"},
		{"/api/v1/calls?outcome=lost", "outcome"},
		{"/api/v1/calls?from=2026-13-01", "from"},
		{"/api/v1/calls?to=yesterday", "to"},
		{"/api/v1/calls?period=fortnight", "period"},
		{"/api/v1/calls?period=today&from=2026-01-01", "period or from/to"},
		{"/api/v1/calls?caller=abc", "caller"},
		{"/api/v1/calls?bogus=1", "unknown parameter \\\"bogus\\\""},
		{"/api/v1/calls?source=a&source=b", "source given 2 times"},
		{"/api/v1/calls.csv?limit=5", "unknown parameter"},
		{"/api/v1/metrics?from=2026-03-10&to=2026-03-01", "from/to"},
		{"/api/v1/metrics?outcome=busy", "unknown parameter"},
		{"/api/v1/metrics/waits?period=x", "period"},
		{"/api/v1/abandoned?agent=alice", "unknown parameter"},
		{"/api/v1/live?x=1", "unknown parameter"},
		{"/api/v1/calls/" + id + "/recording?download=yes", "download"},
		{"/stats?from=2026-02-30", "from"},
		{"/calls?limit=100000", "limit"},
	}
	for _, tc := range cases {
		code, body := c.get(t, tc.path)
		if code != http.StatusBadRequest || !strings.Contains(body, tc.want) {
			t.Errorf("GET %s: %d %q, want 400 mentioning %q", tc.path, code, strings.TrimSpace(body), tc.want)
		}
	}
	bodies := []struct{ body, want string }{
		{`{"revenue":"12.345"}`, "revenue"},
		{`{"revenue":"-3"}`, "revenue"},
		{`{"revenue_cents":-1}`, "revenue_cents"},
		{`{"converted":"yes"}`, "body"},
		{`{"colour":"red"}`, "body"},
		{`{"notes":"` + strings.Repeat("x", 2001) + `"}`, "notes"},
		{`not json`, "body"},
	}
	for _, tc := range bodies {
		code, body := c.do(t, "PUT", "/api/v1/calls/"+id+"/tags", tc.body, map[string]string{"X-CSRF-Token": c.csrf})
		if code != http.StatusBadRequest || !strings.Contains(body, tc.want) {
			t.Errorf("PUT tags %.40s: %d %q, want 400 mentioning %q", tc.body, code, strings.TrimSpace(body), tc.want)
		}
	}
	if code, _ := c.get(t, "/api/v1/calls/no-such-call"); code != http.StatusNotFound {
		t.Errorf("unknown call: %d, want 404", code)
	}
}

func TestLoginRateLimitAndCookies(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	anon := &http.Client{CheckRedirect: noRedirect, Timeout: 10 * time.Second}
	post := func(pw string) *http.Response {
		resp, err := anon.PostForm(h.ts.URL+"/login", url.Values{"user": {testUser}, "password": {pw}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := post(testPassword)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("good login: %d", resp.StatusCode)
	}
	var sess *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == SessionCookie {
			sess = c
		}
	}
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Path != "/" {
		t.Errorf("session cookie: %+v, want HttpOnly, SameSite=Strict, Path=/", sess)
	}
	for i := range loginFailures {
		if r := post("wrong password"); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("bad login %d: %d, want 401", i, r.StatusCode)
		}
	}
	r := post(testPassword)
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Errorf("login after %d failures: %d (Retry-After %q), want 429 with Retry-After", loginFailures, r.StatusCode, r.Header.Get("Retry-After"))
	}
	h.clock.Set(time.Now().Add(loginWindow + time.Second))
	if r := post(testPassword); r.StatusCode != http.StatusSeeOther {
		t.Errorf("login after the window: %d, want 303", r.StatusCode)
	}
}

func TestSecurityHeaders(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c := h.login()
	for _, p := range []string{"/wallboard", "/stats", "/api/v1/live", "/login", "/healthz", "/static/app.js"} {
		resp, err := c.Get(h.ts.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP %q", p, csp)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Referrer-Policy") != "same-origin" {
			t.Errorf("%s: missing nosniff or Referrer-Policy", p)
		}
	}
	// No inline script or style anywhere in the templates: the CSP would block it.
	for _, p := range []string{"/wallboard", "/stats", "/calls", "/abandoned", "/login"} {
		_, body := c.get(t, p)
		if strings.Contains(body, "<script>") || strings.Contains(body, " style=") || strings.Contains(body, "onclick=") {
			t.Errorf("%s has inline script or style", p)
		}
	}
}

func TestFirstRunSetup(t *testing.T) {
	h := newHarness(t, harnessOpts{noHash: true})
	anon := &http.Client{CheckRedirect: noRedirect, Timeout: 10 * time.Second}
	resp, err := anon.Get(h.ts.URL + "/wallboard")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/setup" {
		t.Fatalf("before setup: %d to %q, want the setup page", resp.StatusCode, resp.Header.Get("Location"))
	}
	form := url.Values{"password": {"short"}, "confirm": {"short"}}
	if resp, _ = anon.PostForm(h.ts.URL+"/setup", form); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("short password: %d, want 400", resp.StatusCode)
	}
	form = url.Values{"password": {"a long enough password"}, "confirm": {"a long enough password"}}
	resp, err = anon.PostForm(h.ts.URL+"/setup", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) == 0 {
		t.Fatalf("setup: %d, want 303 with a session", resp.StatusCode)
	}
	fi, err := os.Stat(filepath.Join(h.cfg.StateDir, HashFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("hash file: %v mode %v, want 0600", err, fi.Mode())
	}
	resp, _ = anon.PostForm(h.ts.URL+"/setup", url.Values{"password": {"another password!"}, "confirm": {"another password!"}})
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("second setup: %d, want 404", resp.StatusCode)
	}
	resp, _ = anon.PostForm(h.ts.URL+"/login", url.Values{"user": {"admin"}, "password": {"a long enough password"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("login with the new password: %d", resp.StatusCode)
	}
	// A restart reads the stored hash.
	if _, err := newAuth(h.cfg, h.clock); err != nil {
		t.Fatal(err)
	}
}

func TestPrometheus(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	anon := &http.Client{Timeout: 10 * time.Second}
	resp, err := anon.Get(h.ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/metrics without auth: %d", resp.StatusCode)
	}
	h.post(testCall{at: time.Now().Add(-time.Minute), number: "+12125550101", caller: "+12125550111", outcome: call.Busy})
	h.post(testCall{at: time.Now().Add(-time.Minute), number: "+12125550101", caller: "+12125550112", outcome: call.Connected, wait: time.Second, talk: time.Second, agent: "bob"})
	h.sync()
	// One call waiting now.
	id := call.NewID()
	h.tr.Post(call.Event{CallID: id, Kind: call.KindArrived, At: time.Now(), Arrival: &call.Arrival{Line: "trunk", TrackingNumber: "+12125550100", CallerNumber: "+12125550113"}})
	h.tr.Post(call.Event{CallID: id, Kind: call.KindQueued, At: time.Now(), Queue: "front-desk"})
	h.sync()
	want := []string{`ringside_calls_total{outcome="busy",source="paid_search"} 1`, `ringside_calls_total{outcome="connected",source="paid_search"} 1`,
		`ringside_queue_waiting{queue="front-desk"} 1`, `ringside_calls_live{state="waiting"} 1`, `ringside_agents{state="offline"} 2`, "go_goroutines", "process_resident_memory_bytes"}
	deadline := time.Now().Add(5 * time.Second) // the counters follow the bus asynchronously
	var body string
	for {
		req, _ := http.NewRequest("GET", h.ts.URL+"/metrics", nil)
		req.SetBasicAuth(testUser, testPassword)
		resp, err := anon.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		if resp.StatusCode != 200 {
			t.Fatalf("/metrics with basic auth: %d", resp.StatusCode)
		}
		missing := ""
		for _, w := range want {
			if !strings.Contains(body, w) {
				missing = w
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics lacks %q", missing)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if strings.Contains(body, "+12125550113") {
		t.Error("/metrics shows a caller number")
	}
	// metrics_auth: false opens it.
	h2 := newHarness(t, harnessOpts{extra: ", metrics_auth: false"})
	resp, err = anon.Get(h2.ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/metrics with metrics_auth false: %d", resp.StatusCode)
	}
}

func TestCallsListCSVAndLost(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	base := time.Now().Add(-3 * time.Hour)
	ids := map[string]bool{}
	for i, o := range []call.Outcome{call.Connected, call.Abandoned, call.Busy, call.Connected, call.Abandoned} {
		caller := "+1212555020" + string(rune('0'+i))
		c := testCall{at: base.Add(time.Duration(i) * time.Minute), number: "+12125550101", caller: caller, outcome: o, wait: time.Duration(10+i) * time.Second}
		if o == call.Connected {
			c.talk, c.agent = time.Minute, "alice"
		}
		ids[h.post(c)] = true
	}
	// +12125550201 abandoned, then got through later.
	h.post(testCall{at: base.Add(30 * time.Minute), number: "+12125550100", caller: "+12125550201", outcome: call.Connected, wait: time.Second, talk: time.Minute, agent: "bob"})
	h.post(testCall{at: base.Add(31 * time.Minute), number: "+12125550100", caller: "=HYPERLINK(1)", outcome: call.Failed})
	h.sync()
	c := h.login()
	code, body := c.get(t, "/api/v1/calls?period=last7&source=paid_search&sort=wait&order=asc&limit=2")
	var page CallPage
	if err := json.Unmarshal([]byte(body), &page); code != 200 || err != nil {
		t.Fatalf("calls: %d %v", code, err)
	}
	if page.Total != 5 || len(page.Calls) != 2 || page.Calls[0].Wait > page.Calls[1].Wait {
		t.Errorf("page: total %d, %d calls, want 5 and 2 sorted by wait", page.Total, len(page.Calls))
	}
	code, body = c.get(t, "/api/v1/calls?period=last7&outcome=abandoned&caller=%2B12125550201")
	json.Unmarshal([]byte(body), &page)
	if page.Total != 1 || page.Calls[0].CallerNumber != "+12125550201" {
		t.Errorf("caller+outcome filter: %d calls", page.Total)
	}
	code, body = c.get(t, "/api/v1/calls.csv?period=last7&source=paid_search")
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if code != 200 || err != nil {
		t.Fatalf("csv: %d %v", code, err)
	}
	if len(rows) != 6 || rows[0][0] != "id" {
		t.Fatalf("csv: %d rows, want a header and 5 calls", len(rows))
	}
	for _, r := range rows[1:] {
		if !ids[r[0]] {
			t.Errorf("csv row for unknown call %s", r[0])
		}
		if !strings.HasPrefix(r[5], "+1212555020") {
			t.Errorf("csv caller %q", r[5])
		}
	}
	_, body = c.get(t, "/api/v1/calls.csv?period=last7&outcome=failed")
	if !strings.Contains(body, "'=HYPERLINK") {
		t.Errorf("a formula in the CSV is not neutralised: %s", body)
	}
	_, body = c.get(t, "/api/v1/abandoned?period=last7")
	var lost LostList
	json.Unmarshal([]byte(body), &lost)
	if lost.Calls != 2 || len(lost.Callers) != 2 {
		t.Fatalf("abandoned: %d calls %d callers, want 2 and 2", lost.Calls, len(lost.Callers))
	}
	reached := map[string]bool{}
	for _, l := range lost.Callers {
		reached[l.Caller] = l.ReachedLater
	}
	if !reached["+12125550201"] || reached["+12125550204"] {
		t.Errorf("reached later: %v, want +12125550201 only", reached)
	}
	_, body = c.get(t, "/api/v1/metrics/waits?period=last7")
	var wh WaitHistogram
	json.Unmarshal([]byte(body), &wh)
	// Waits: 10..14 s for the first five calls (bar [10 s, 20 s)), 1 s and 0 s for the last two.
	if len(wh.Connected) != len(metrics.WaitBounds)+1 || wh.Connected[1]+wh.NotConnected[1] != 5 || wh.Connected[0]+wh.NotConnected[0] != 2 {
		t.Errorf("wait histogram %+v, want 2 calls under 10 s and 5 in [10 s, 20 s)", wh)
	}
	_, body = c.get(t, "/api/v1/blocked?period=last7")
	json.Unmarshal([]byte(body), &lost)
	if lost.Calls != 4 {
		t.Errorf("blocked: %d calls, want 4 (2 abandoned, 1 busy, 1 failed)", lost.Calls)
	}
}

// TestQueryNumbersNormalised: caller and tracking_number are read as the config's numbers are
// (E.164, national numbers in the site's region), so any usual spelling finds the call; an
// extension is matched as written; anything else is a 400 that names the parameter.
func TestQueryNumbersNormalised(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	at := time.Now().Add(-time.Hour)
	h.post(testCall{at: at, number: "+12125550101", caller: "+15551240001", outcome: call.Connected, wait: 5 * time.Second, talk: time.Minute, agent: "alice"})
	h.post(testCall{at: at.Add(time.Minute), number: "+12125550100", caller: "201", outcome: call.Abandoned, wait: 3 * time.Second})
	h.sync()
	c := h.login()
	total := func(path string) int {
		t.Helper()
		code, body := c.get(t, path)
		var page CallPage
		if err := json.Unmarshal([]byte(body), &page); code != 200 || err != nil {
			t.Fatalf("GET %s: %d %v %s", path, code, err, body)
		}
		return page.Total
	}
	for _, q := range []string{"caller=15551240001", "caller=5551240001", "caller=%2B15551240001", "caller=" + url.QueryEscape("(555) 124-0001"),
		"caller=" + url.QueryEscape("+1 555-124-0001"), "caller=201", "tracking_number=2125550101", "tracking_number=12125550101"} {
		if n := total("/api/v1/calls?period=last7&" + q); n != 1 {
			t.Errorf("/api/v1/calls?period=last7&%s: %d calls, want 1", q, n)
		}
	}
	if n := total("/api/v1/calls?period=last7&caller=5551240002"); n != 0 {
		t.Errorf("another number: %d calls, want 0", n)
	}
	_, body := c.get(t, "/api/v1/metrics?period=last7&tracking_number=2125550101")
	var a struct{ Figures map[string]*float64 }
	if err := json.Unmarshal([]byte(body), &a); err != nil || a.Figures["volume"] == nil || *a.Figures["volume"] != 1 {
		t.Errorf("metrics for tracking_number=2125550101: %s", body)
	}
	_, body = c.get(t, "/api/v1/abandoned?period=last7&tracking_number=2125550100")
	var lost LostList
	if err := json.Unmarshal([]byte(body), &lost); err != nil || lost.Calls != 1 {
		t.Errorf("abandoned for tracking_number=2125550100: %s", body)
	}
	for _, path := range []string{"/api/v1/calls?caller=abc", "/api/v1/calls?caller=anonymous", "/api/v1/calls?tracking_number=201",
		"/api/v1/metrics?tracking_number=x", "/api/v1/metrics/waits?tracking_number=x", "/api/v1/blocked?tracking_number=x", "/api/v1/calls.csv?caller=12ab"} {
		name := "caller"
		if strings.Contains(path, "tracking_number") {
			name = "tracking_number"
		}
		code, body := c.get(t, path)
		if code != http.StatusBadRequest || !strings.Contains(body, name+": want a phone number") {
			t.Errorf("GET %s: %d %s, want 400 naming %s", path, code, strings.TrimSpace(body), name)
		}
	}
}

// TestDurationsOneUnit: the API's unit is the millisecond: a call's wait, talk and hold come in
// whole milliseconds too (wait_ms beside the record's exact wait_ns), and the pages round their
// m:ss as every surface rounds (metrics.Whole: 61.5 s is 1:02, 1234.5678 ms is 0:01).
func TestDurationsOneUnit(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	wait, talk := 1235*time.Millisecond, 61500*time.Millisecond
	id := h.post(testCall{at: time.Now().Add(-time.Hour), number: "+12125550101", caller: "+12125550111", outcome: call.Connected, wait: wait, talk: talk, agent: "alice"})
	h.sync()
	c := h.login()
	check := func(what, body, path string) {
		t.Helper()
		var v map[string]any
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		for _, k := range strings.Split(path, ".") {
			if k == "0" {
				v = v["calls"].([]any)[0].(map[string]any)
				continue
			}
			if k != "" {
				v = v[k].(map[string]any)
			}
		}
		if v["wait_ms"] != 1235.0 || v["talk_ms"] != 61500.0 || v["hold_ms"] != 0.0 {
			t.Errorf("%s: wait_ms %v, talk_ms %v, hold_ms %v; want 1235, 61500 and 0", what, v["wait_ms"], v["talk_ms"], v["hold_ms"])
		}
	}
	_, body := c.get(t, "/api/v1/calls?period=last7")
	check("call list", body, "0")
	_, body = c.get(t, "/api/v1/calls/"+id)
	check("call", body, "call")
	_, body = c.get(t, "/calls/"+id)
	if !strings.Contains(body, "<dd>0:01</dd>") || !strings.Contains(body, "<dd>1:02</dd>") {
		t.Errorf("call page: want wait 0:01 and talk 1:02 (61.5 s rounds up)")
	}
	if got := formatFigure(1234.5678, "ms"); got != "0:01" {
		t.Errorf("formatFigure(1234.5678 ms) = %q", got)
	}
	if got := formatFigure(89500, "ms"); got != "1:30" {
		t.Errorf("formatFigure(89500 ms) = %q, want 1:30", got)
	}
}
