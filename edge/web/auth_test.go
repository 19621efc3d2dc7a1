package web

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// hashGate stands in for bcrypt's comparison (the lowest layer of a login): it counts the
// comparisons and holds each one until release is closed, so a test can see how many guesses
// reach hashing while all of them are in flight at once.
type hashGate struct {
	mu       sync.Mutex
	changed  *sync.Cond
	compares int // comparisons started
	answered int // requests answered
	release  chan struct{}
}

func newHashGate() *hashGate {
	g := &hashGate{release: make(chan struct{})}
	g.changed = sync.NewCond(&g.mu)
	return g
}

func (g *hashGate) compare(hash, password []byte) error {
	g.mu.Lock()
	g.compares++
	g.changed.Broadcast()
	g.mu.Unlock()
	<-g.release
	return bcrypt.CompareHashAndPassword(hash, password)
}

func (g *hashGate) answer() {
	g.mu.Lock()
	g.answered++
	g.changed.Broadcast()
	g.mu.Unlock()
}

// settle waits until each of n requests has either been answered or is hashing.
func (g *hashGate) settle(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for g.compares+g.answered < n {
		g.changed.Wait()
	}
}

func (g *hashGate) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.compares
}

// Issue 15 item 7: 100 parallel wrong guesses from one address, on the login form and on the
// basic auth of /metrics, make at most loginFailures bcrypt comparisons; the right password is
// then refused until the lockout ends.
func TestConcurrentGuessesHashAtMostTheLimit(t *testing.T) {
	const guesses = 100
	for _, tc := range []struct {
		name string
		ok   int // status of the right password
		req  func(base, password string) *http.Request
	}{
		{"login", http.StatusSeeOther, func(base, password string) *http.Request {
			form := url.Values{"user": {testUser}, "password": {password}}
			req, _ := http.NewRequest("POST", base+"/login", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return req
		}},
		{"metrics", http.StatusOK, func(base, password string) *http.Request {
			req, _ := http.NewRequest("GET", base+"/metrics", nil)
			req.SetBasicAuth(testUser, password)
			return req
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, harnessOpts{})
			g := newHashGate()
			h.srv.auth.compare = g.compare
			client := &http.Client{CheckRedirect: noRedirect, Timeout: 60 * time.Second,
				Transport: &http.Transport{MaxIdleConnsPerHost: guesses}}
			defer client.CloseIdleConnections()
			send := func(password string) *http.Response {
				resp, err := client.Do(tc.req(h.ts.URL, password))
				if err != nil {
					t.Error(err)
					return nil
				}
				resp.Body.Close()
				return resp
			}
			var wg sync.WaitGroup
			codes := make([]int, guesses)
			for i := range guesses {
				wg.Go(func() {
					defer g.answer()
					if resp := send("wrong guess"); resp != nil {
						codes[i] = resp.StatusCode
					}
				})
			}
			g.settle(guesses)
			close(g.release)
			wg.Wait()
			for i, c := range codes {
				if c != http.StatusUnauthorized && c != http.StatusTooManyRequests {
					t.Errorf("guess %d: %d, want 401 or 429", i, c)
				}
			}
			if n := g.count(); n > loginFailures {
				t.Fatalf("%d parallel guesses made %d bcrypt comparisons, want at most %d", guesses, n, loginFailures)
			}
			// Whatever the burst left of the allowance, a few more guesses use it up.
			for range loginFailures {
				send("wrong guess")
			}
			if n := g.count(); n > loginFailures {
				t.Errorf("%d bcrypt comparisons in all, want at most %d", n, loginFailures)
			}
			resp := send(testPassword)
			if resp == nil || resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("right password during the lockout: %v, want 429 with Retry-After", resp)
			}
			h.clock.Set(time.Now().Add(loginWindow + time.Second))
			if resp := send(testPassword); resp == nil || resp.StatusCode != tc.ok {
				t.Errorf("right password after the lockout: %v, want %d", resp, tc.ok)
			}
		})
	}
}

// fromAddr is an HTTP client whose connections come from the local address ip.
func fromAddr(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{CheckRedirect: noRedirect, Timeout: 30 * time.Second,
		Transport: &http.Transport{DialContext: d.DialContext}}
}

// Issue 15 item 10: a first-run setup from another machine needs the one-time code from the
// state folder (or the journal); from this machine it does not. Every 127.x address is loopback,
// so the test narrows the server's idea of loopback to 127.0.0.1 and sends "another machine"'s
// requests from 127.0.0.2: the decision is still made on the real connection's remote address.
func TestSetupFromAnotherMachineNeedsTheCode(t *testing.T) {
	h := newHarness(t, harnessOpts{noHash: true})
	h.srv.loopback = func(a netip.Addr) bool { return a == netip.MustParseAddr("127.0.0.1") }
	codeFile := filepath.Join(h.cfg.StateDir, SetupCodeFile)
	fi, err := os.Stat(codeFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("setup code file: %v, want mode 0600", err)
	}
	b, err := os.ReadFile(codeFile)
	if err != nil {
		t.Fatal(err)
	}
	code := strings.TrimSpace(string(b))
	if code != h.srv.SetupCode() || len(normalizeSetupCode(code)) != 16 {
		t.Fatalf("setup code %q in the file, %q from the server, want the same 16 characters", code, h.srv.SetupCode())
	}

	remote := fromAddr("127.0.0.2")
	resp, err := remote.Get(h.ts.URL + "/setup")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), `name="code"`) || strings.Contains(string(page), code) {
		t.Errorf("setup page from another machine: want a field for the code, and not the code")
	}
	const pw = "a long enough password"
	post := func(c *http.Client, form url.Values, hdr ...string) int {
		req, _ := http.NewRequest("POST", h.ts.URL+"/setup", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []string{"", "AAAA-AAAA-AAAA-AAAA", code[:len(code)-1]} {
		if got := post(remote, url.Values{"password": {pw}, "confirm": {pw}, "code": {c}}); got != http.StatusForbidden {
			t.Errorf("setup from another machine with code %q: %d, want 403", c, got)
		}
	}
	// A reverse proxy on the box makes every visitor loopback: a forwarded request needs the code.
	local := fromAddr("127.0.0.1")
	if got := post(local, url.Values{"password": {pw}, "confirm": {pw}}, "X-Forwarded-For", "203.0.113.9"); got != http.StatusForbidden {
		t.Errorf("forwarded setup without the code: %d, want 403", got)
	}
	if _, err := os.Stat(filepath.Join(h.cfg.StateDir, HashFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused setup stored a password (%v)", err)
	}
	// Typed the way people type it: lower case, spaces for dashes.
	typed := strings.ToLower(strings.ReplaceAll(code, "-", " "))
	if got := post(remote, url.Values{"password": {pw}, "confirm": {pw}, "code": {typed}}); got != http.StatusSeeOther {
		t.Fatalf("setup with the code: %d, want 303", got)
	}
	if _, err := os.Stat(codeFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("setup code file after setup: %v, want it removed", err)
	}
	if h.srv.SetupCode() != "" {
		t.Errorf("setup code after setup: %q, want none", h.srv.SetupCode())
	}
	if got := post(remote, url.Values{"password": {"another password!"}, "confirm": {"another password!"}, "code": {code}}); got != http.StatusNotFound {
		t.Errorf("second setup with the old code: %d, want 404", got)
	}
}

// From this machine setup needs no code (the demo's first visit).
func TestSetupFromThisMachineNeedsNoCode(t *testing.T) {
	h := newHarness(t, harnessOpts{noHash: true})
	resp, err := fromAddr("127.0.0.1").PostForm(h.ts.URL+"/setup", url.Values{"password": {"a long enough password"}, "confirm": {"a long enough password"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("setup from loopback without a code: %d, want 303", resp.StatusCode)
	}
	if _, err := os.Stat(filepath.Join(h.cfg.StateDir, SetupCodeFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("setup code file after setup: %v, want it removed", err)
	}
}

// TestSetupCodeFileUnwritable: a setup code that cannot be written to its file (a full disk; here
// a folder stands where the file goes) does not stop the start: the code is still made and logged.
func TestSetupCodeFileUnwritable(t *testing.T) {
	h := newHarness(t, harnessOpts{noHash: true})
	cfg := *h.cfg
	cfg.StateDir = t.TempDir()
	if err := os.Mkdir(filepath.Join(cfg.StateDir, SetupCodeFile), 0o700); err != nil {
		t.Fatal(err)
	}
	a, err := newAuth(&cfg, h.clock)
	if err != nil {
		t.Fatalf("the start failed on the setup code's file: %v", err)
	}
	if a.codeFileErr == nil || a.pendingSetupCode() == "" {
		t.Fatalf("file error %v, code %q: want the error noted and a code all the same", a.codeFileErr, a.pendingSetupCode())
	}
}
