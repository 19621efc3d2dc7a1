package web

import (
	"net/http"
	"net/url"
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
