package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"golang.org/x/crypto/bcrypt"

	"github.com/ringside/ringside/edge/config"
)

// Session and login limits.
const (
	// SessionCookie is the session cookie's name.
	SessionCookie = "ringside_session"
	// sessionIdle: a session unused this long ends (a shift's length, so a desk stays logged in).
	sessionIdle = 12 * time.Hour
	// sessionMax: a session ends this long after login whatever its use.
	sessionMax = 7 * 24 * time.Hour
	// maxSessions bounds the session table; the oldest session goes first.
	maxSessions = 64
	// loginFailures failed logins from one address within loginWindow lock it out until the
	// oldest of them leaves the window: 5 guesses per 10 minutes, with bcrypt's cost on top.
	loginFailures = 5
	loginWindow   = 10 * time.Minute
	// maxTrackedAddrs bounds the failure table; beyond it the stalest addresses are forgotten.
	maxTrackedAddrs = 4096
	// maxHashes bounds the password checks running at once, whoever asks: a bcrypt check at the
	// default cost takes about 0.1 s of a Pi 4 core, so a burst of guesses holds at most 4 such
	// checks in flight and the rest are refused at once (429) instead of queueing for the CPU
	// the calls' media need.
	maxHashes = 4
	// maxHashesPerAddr bounds them per address: one address cannot take every slot, and a
	// double-clicked login button still gets through.
	maxHashesPerAddr = 2
	// minPassword is the shortest admin password the setup page accepts.
	minPassword = 10
	// HashFile is the file in the state folder that holds the admin password hash set at first run.
	HashFile = "web-admin.bcrypt"
	// SetupCodeFile is the file in the state folder that holds the first-run setup code (0600,
	// the service user's) until the admin password is set.
	SetupCodeFile = "web-setup-code"
)

type session struct {
	token, csrf, user string
	created, seen     time.Time
}

type auth struct {
	clock    Clock
	user     string
	token    string // wallboard token; "" disables it
	hashPath string // where the first-run hash is stored; "" when the config holds it
	codePath string // where the setup code is written; "" when no setup is pending
	// codeFileErr is why the setup code could not be written to codePath (a full disk): the box
	// still starts, and the code is in the journal only.
	codeFileErr error
	// compare checks a password against a bcrypt hash: bcrypt.CompareHashAndPassword, or a
	// counting wrapper in tests.
	compare func(hash, password []byte) error

	mu         sync.Mutex
	hash       []byte
	setupCode  string // the first-run setup code, normalised; "" once the password is set
	sessions   map[string]*session
	failures   map[string][]time.Time // failed (and in-flight) attempts by address, oldest first
	hashing    map[string]int         // password checks running, by address
	hashingAll int                    // password checks running in all
}

func newAuth(cfg *config.Config, clock Clock) (*auth, error) {
	a := &auth{clock: clock, user: cfg.Web.AdminUser, token: cfg.Web.WallboardToken, compare: bcrypt.CompareHashAndPassword,
		sessions: map[string]*session{}, failures: map[string][]time.Time{}, hashing: map[string]int{}}
	if a.user == "" {
		a.user = config.DefaultAdminUser
	}
	codePath := ""
	if cfg.StateDir != "" {
		codePath = filepath.Join(cfg.StateDir, SetupCodeFile)
	}
	if h := cfg.Web.AdminPasswordHash; h != "" {
		if _, err := bcrypt.Cost([]byte(h)); err != nil {
			return nil, fmt.Errorf("web.admin_password_hash is not a bcrypt hash: %w", err)
		}
		a.hash = []byte(h)
		removeSetupCode(codePath)
		return a, nil
	}
	if cfg.StateDir == "" {
		return a, nil // setup cannot store a hash: nobody can log in
	}
	a.hashPath = filepath.Join(cfg.StateDir, HashFile)
	b, err := os.ReadFile(a.hashPath)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("read the admin password hash: %w", err)
	default:
		h := []byte(strings.TrimSpace(string(b)))
		if _, err := bcrypt.Cost(h); err != nil {
			return nil, fmt.Errorf("%s is not a bcrypt hash: %w", a.hashPath, err)
		}
		a.hash = h
	}
	if a.hash != nil {
		removeSetupCode(codePath)
		return a, nil
	}
	code := newSetupCode()
	a.codeFileErr = writeSetupCode(codePath, code)
	a.codePath, a.setupCode = codePath, code
	return a, nil
}

// newSetupCode makes a new first-run setup code, 80 random bits as 16 base32 characters. Each
// start makes a new one.
func newSetupCode() string {
	b := make([]byte, 10)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
}

// writeSetupCode writes code to path, readable by the service user only.
func writeSetupCode(path, code string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write the setup code: %w", err)
	}
	// A temporary file (created 0600) renamed over the old code: never readable by others, even
	// for a moment, whatever the old file's mode was.
	f, err := os.CreateTemp(filepath.Dir(path), "."+SetupCodeFile+"-*")
	if err != nil {
		return fmt.Errorf("write the setup code: %w", err)
	}
	_, err = f.WriteString(formatSetupCode(code) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write the setup code: %w", err)
	}
	return nil
}

// removeSetupCode removes a setup code file left from an earlier first run. The code in it no
// longer opens anything (setup is done), so a failure to remove it is ignored.
func removeSetupCode(path string) {
	if path != "" {
		os.Remove(path)
	}
}

// formatSetupCode groups a code by four characters for reading aloud and typing.
func formatSetupCode(code string) string {
	var b strings.Builder
	for i, r := range code {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// normalizeSetupCode undoes formatSetupCode and what people do when typing a code: lower case,
// spaces, dashes.
func normalizeSetupCode(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return -1
		}
		return unicode.ToUpper(r)
	}, s)
}

// pendingSetupCode returns the setup code as shown to the owner, or "" when no setup is pending.
func (a *auth) pendingSetupCode() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.hash != nil || a.setupCode == "" {
		return ""
	}
	return formatSetupCode(a.setupCode)
}

// needsSetup reports whether no admin password exists yet and one can be stored.
func (a *auth) needsSetup() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.hash == nil && a.hashPath != ""
}

// setup stores the first admin password (0600 in the state folder). A request from another
// machine (local false) must bring the setup code, checked before any hashing; the code dies with
// the setup.
func (a *auth) setup(password, code string, local bool) error {
	if !local {
		a.mu.Lock()
		want := a.setupCode
		a.mu.Unlock()
		if want == "" || subtle.ConstantTimeCompare([]byte(normalizeSetupCode(code)), []byte(want)) != 1 {
			return ErrSetupCode
		}
	}
	if len(password) < minPassword {
		return fmt.Errorf("%w: at least %d characters", ErrWeakPassword, minPassword)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return fmt.Errorf("hash the password: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.hash != nil || a.hashPath == "" {
		return ErrSetupDone
	}
	if err := os.MkdirAll(filepath.Dir(a.hashPath), 0o700); err != nil {
		return fmt.Errorf("store the password hash: %w", err)
	}
	// O_EXCL: a second setup racing this one fails instead of replacing the password.
	f, err := os.OpenFile(a.hashPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("store the password hash: %w", err)
	}
	if _, err := f.Write(append(h, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("store the password hash: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("store the password hash: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("store the password hash: %w", err)
	}
	a.hash = h
	a.setupCode = ""
	removeSetupCode(a.codePath)
	return nil
}

// throttledError refuses a login attempt before its password is hashed: the address is locked
// out, or too many passwords are being checked at once. It wraps ErrThrottled.
type throttledError struct {
	retry     time.Duration // when the client may try again
	lockedOut bool          // too many failures, rather than too many attempts at once
}

func (e *throttledError) Error() string {
	if e.lockedOut {
		return fmt.Sprintf("%v: locked out for %v", ErrThrottled, e.retry)
	}
	return fmt.Sprintf("%v: too many at once", ErrThrottled)
}

func (e *throttledError) Unwrap() error { return ErrThrottled }

// retryAfter is the Retry-After header's value: whole seconds, at least 1.
func (e *throttledError) retryAfter() string {
	return strconv.Itoa(max(1, int(math.Ceil(e.retry.Seconds()))))
}

func (a *auth) recentLocked(addr string, now time.Time) []time.Time {
	fs := a.failures[addr]
	i := 0
	for i < len(fs) && now.Sub(fs[i]) >= loginWindow {
		i++
	}
	fs = fs[i:]
	if len(fs) == 0 {
		delete(a.failures, addr)
	} else {
		a.failures[addr] = fs
	}
	return fs
}

// reserve admits a login attempt from addr to the password check and returns the hash to check
// against. The attempt counts as a failure from now on (a success takes it back), so parallel
// guesses see each other and no more than loginFailures of them are ever hashed. An attempt over
// the limits is refused with a *throttledError, without hashing. Each admitted attempt must be
// followed by done.
func (a *auth) reserve(addr string) ([]byte, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.clock.Now()
	if fs := a.recentLocked(addr, now); len(fs) >= loginFailures {
		return nil, &throttledError{retry: fs[0].Add(loginWindow).Sub(now), lockedOut: true}
	}
	if a.hashing[addr] >= maxHashesPerAddr || a.hashingAll >= maxHashes {
		return nil, &throttledError{retry: time.Second}
	}
	if _, tracked := a.failures[addr]; !tracked && len(a.failures) >= maxTrackedAddrs {
		for k, v := range a.failures { // forget addresses whose failures are old
			if len(v) == 0 || now.Sub(v[len(v)-1]) >= loginWindow {
				delete(a.failures, k)
			}
		}
		if len(a.failures) >= maxTrackedAddrs {
			return nil, &throttledError{retry: time.Minute} // table full of live attackers
		}
	}
	a.failures[addr] = append(a.failures[addr], now)
	a.hashing[addr]++
	a.hashingAll++
	return a.hash, nil
}

// login checks the credentials; on success it opens a session. It fails with ErrLoginFailed, or
// with a *throttledError when the attempt was refused unchecked.
func (a *auth) login(addr, user, password string) (*session, error) {
	hash, err := a.reserve(addr)
	if err != nil {
		return nil, err
	}
	ok := hash != nil && a.compare(hash, []byte(password)) == nil
	ok = ok && subtle.ConstantTimeCompare([]byte(user), []byte(a.user)) == 1
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.hashing[addr]--; a.hashing[addr] <= 0 {
		delete(a.hashing, addr)
	}
	a.hashingAll--
	if !ok {
		return nil, ErrLoginFailed // counted by reserve
	}
	delete(a.failures, addr)
	now := a.clock.Now()
	if len(a.sessions) >= maxSessions {
		var oldest *session
		for _, s := range a.sessions {
			if oldest == nil || s.created.Before(oldest.created) {
				oldest = s
			}
		}
		delete(a.sessions, oldest.token)
	}
	s := &session{token: randomToken(), csrf: randomToken(), user: a.user, created: now, seen: now}
	a.sessions[s.token] = s
	return s, nil
}

// checkBasic checks HTTP basic credentials (for Prometheus scrapers), with the same limits as
// login; it returns what login does.
func (a *auth) checkBasic(addr, user, password string) error {
	s, err := a.login(addr, user, password)
	if err == nil {
		a.logout(s.token) // no session for a scraper
	}
	return err
}

func (a *auth) session(token string) *session {
	if token == "" {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.sessions[token]
	if s == nil {
		return nil
	}
	now := a.clock.Now()
	if now.Sub(s.seen) > sessionIdle || now.Sub(s.created) > sessionMax {
		delete(a.sessions, token)
		return nil
	}
	s.seen = now
	cp := *s
	return &cp
}

func (a *auth) logout(token string) {
	a.mu.Lock()
	delete(a.sessions, token)
	a.mu.Unlock()
}

func (a *auth) wallboardToken(t string) bool {
	return a.token != "" && t != "" && subtle.ConstantTimeCompare([]byte(t), []byte(a.token)) == 1
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// access is what a route requires.
type access int

const (
	accessPublic  access = iota // health, login, first-run setup, static assets
	accessToken                 // a session, or the wallboard token (read only)
	accessSession               // a logged-in session
	accessWrite                 // a session and its CSRF token
	accessMetrics               // Prometheus: a session or basic auth, unless web.metrics_auth is false
)

// principal is who is asking.
type principal struct {
	user     string
	csrf     string
	token    string // session token
	viaToken bool   // the wallboard token: read-only, caller numbers masked
}

type principalKey struct{}

func who(r *http.Request) principal {
	p, _ := r.Context().Value(principalKey{}).(principal)
	return p
}

// fromThisMachine reports whether r came straight from this machine: its connection's remote
// address is loopback (s.loopback) and it carries no forwarding header, since behind a reverse
// proxy on the box every visitor's connection comes from loopback.
func (s *Server) fromThisMachine(r *http.Request) bool {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	for _, h := range []string{"Forwarded", "X-Forwarded-For", "X-Real-Ip"} {
		if r.Header.Get(h) != "" {
			return false
		}
	}
	return s.loopback(ap.Addr().Unmap())
}

func clientAddr(r *http.Request) string {
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return h
}

// guard enforces a route's access level before its handler runs.
func (s *Server) guard(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !sameOrigin(r) {
			s.fail(w, r, http.StatusForbidden, "cross-origin request refused")
			return
		}
		var p principal
		if c, err := r.Cookie(SessionCookie); err == nil {
			if sess := s.auth.session(c.Value); sess != nil {
				p = principal{user: sess.user, csrf: sess.csrf, token: sess.token}
			}
		}
		switch rt.Access {
		case accessPublic:
		case accessToken:
			if p.user == "" {
				if !s.auth.wallboardToken(r.URL.Query().Get("token")) {
					s.refuse(w, r)
					return
				}
				p.viaToken = true
			}
		case accessSession, accessWrite:
			if p.user == "" {
				s.refuse(w, r)
				return
			}
			if rt.Access == accessWrite {
				got := r.Header.Get("X-CSRF-Token")
				if got == "" {
					got = r.PostFormValue("csrf")
				}
				if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(p.csrf)) != 1 {
					s.fail(w, r, http.StatusForbidden, "missing or wrong CSRF token (send the X-CSRF-Token header or the csrf form field)")
					return
				}
			}
		case accessMetrics:
			if p.user == "" && metricsAuth(s.cfg) {
				err := ErrLoginFailed
				if u, pw, ok := r.BasicAuth(); ok {
					err = s.auth.checkBasic(clientAddr(r), u, pw)
				}
				var th *throttledError
				if errors.As(err, &th) {
					w.Header().Set("Retry-After", th.retryAfter())
					s.fail(w, r, http.StatusTooManyRequests, "too many login attempts: try again later")
					return
				}
				if err != nil {
					w.Header().Set("WWW-Authenticate", `Basic realm="ringside metrics"`)
					s.fail(w, r, http.StatusUnauthorized, "authentication required")
					return
				}
			}
		}
		rt.Handler.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// metricsAuth: /metrics needs credentials unless web.metrics_auth is explicitly false.
func metricsAuth(cfg *config.Config) bool { return cfg.Web.MetricsAuth == nil || *cfg.Web.MetricsAuth }

// sameOrigin refuses state-changing requests whose Origin (sent by every current browser on
// POST) names another site: a second line behind SameSite=Strict and the CSRF token.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return o == ""
	}
	o = strings.TrimPrefix(strings.TrimPrefix(o, "http://"), "https://")
	return strings.EqualFold(o, r.Host)
}

// refuse answers an unauthenticated request: pages go to the login page, the API gets 401.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && !strings.HasPrefix(r.URL.Path, "/api/") {
		next := r.URL.Path
		if s.auth.needsSetup() {
			http.Redirect(w, r, "/setup", http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, "/login?next="+urlQueryEscape(next), http.StatusSeeOther)
		return
	}
	s.fail(w, r, http.StatusUnauthorized, "authentication required")
}

func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, sess *session) {
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: sess.token, Path: "/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: int(sessionMax / time.Second),
	})
}
