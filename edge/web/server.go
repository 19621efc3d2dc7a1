package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"iter"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/ringside/ringside/edge/call"
	"github.com/ringside/ringside/edge/config"
	"github.com/ringside/ringside/edge/live"
	"github.com/ringside/ringside/edge/metrics"
	"github.com/ringside/ringside/edge/store"
)

//go:embed static templates
var assets embed.FS

// Calls is the part of the store the API reads. *store.Store implements it.
type Calls interface {
	Call(ctx context.Context, id string) (call.Record, error)
	Journal(ctx context.Context, id string) ([]call.Event, error)
	QueryCalls(ctx context.Context, q store.CallQuery) ([]call.Record, int, error)
	EachCall(ctx context.Context, q store.CallQuery) iter.Seq2[call.Record, error]
}

// Tracker is what the web page needs of the call tracker. *tracker.Tracker implements it.
type Tracker interface {
	Tag(ctx context.Context, id string, tags call.Tags, by string) error
	Live() []call.Record
}

// Metrics computes reports. *metrics.Engine implements it.
type Metrics interface {
	Report(ctx context.Context, p metrics.Period, f metrics.Filter) (*metrics.Report, error)
	Location() *time.Location
}

// Bus is the live event bus. *live.Bus implements it.
type Bus interface {
	Subscribe(buffer int) (<-chan live.Event, func())
}

// Recordings opens a call's recording as a WAV the browser can play (16-bit PCM), with its
// modification time. An error wrapping fs.ErrNotExist means the call has no recording.
type Recordings interface {
	Open(rec call.Record) (io.ReadSeekCloser, time.Time, error)
}

// RecordingsFunc adapts a function to Recordings.
type RecordingsFunc func(rec call.Record) (io.ReadSeekCloser, time.Time, error)

// Open calls f.
func (f RecordingsFunc) Open(rec call.Record) (io.ReadSeekCloser, time.Time, error) { return f(rec) }

// Clock tells the time.
type Clock interface{ Now() time.Time }

// Deps is everything the server uses. Recordings and LEDs may be nil (no recordings, no LEDs).
type Deps struct {
	Config     *config.Config
	Calls      Calls
	Tracker    Tracker
	Metrics    Metrics
	Bus        Bus
	Recordings Recordings
	// LEDs returns each status LED's current pattern by name (e.g. from hw.Panel.Snapshot).
	LEDs func() map[string]string
	// Problems returns the conditions the page must show (nil: none); a Failing one also fails
	// /healthz.
	Problems func() []Problem
	Clock    Clock
	Log      *slog.Logger
}

// Problem is a condition the appliance needs a person to know about, shown on the wallboard. A
// Failing one means the box cannot do its job (its call records cannot be saved, say): /healthz
// answers 503 with its text while it lasts.
type Problem struct {
	Text    string `json:"text"`
	Failing bool   `json:"failing"`
}

func (s *Server) problems() []Problem {
	if s.probs == nil {
		return nil
	}
	return s.probs()
}

// Server is the local web page, JSON API, event stream and Prometheus endpoint.
type Server struct {
	cfg   *config.Config
	calls Calls
	track Tracker
	eng   Metrics
	bus   Bus
	recs  Recordings
	leds  func() map[string]string
	probs func() []Problem
	clock Clock
	log   *slog.Logger

	auth *auth
	// loopback decides whether a connection's remote address is this machine's (first-run setup
	// needs no code from there): netip.Addr.IsLoopback, narrowed in tests so that a second
	// loopback address can play another machine.
	loopback func(netip.Addr) bool
	tmpl     *template.Template
	static   fs.FS
	routes   []route
	mux      *http.ServeMux
	prom     *promState

	done     chan struct{} // closed when Run returns: event streams end
	doneOnce sync.Once

	reports reportCache

	mu     sync.Mutex
	agents map[string]live.AgentState // from the bus
	status live.Status
}

// New builds the server. It loads the admin password hash from the config, or from the state
// folder when a first-run setup stored one there.
func New(d Deps) (*Server, error) {
	if d.Config == nil || d.Calls == nil || d.Tracker == nil || d.Metrics == nil || d.Bus == nil || d.Clock == nil || d.Log == nil {
		return nil, ErrMissingDependency
	}
	s := &Server{
		cfg: d.Config, calls: d.Calls, track: d.Tracker, eng: d.Metrics, bus: d.Bus, recs: d.Recordings,
		leds: d.LEDs, probs: d.Problems, clock: d.Clock, log: d.Log,
		done:     make(chan struct{}),
		agents:   map[string]live.AgentState{},
		loopback: netip.Addr.IsLoopback,
	}
	for _, a := range d.Config.Agents {
		s.agents[a.ID] = live.AgentState{Agent: a.ID, State: "offline"}
	}
	var err error
	if s.auth, err = newAuth(d.Config, d.Clock); err != nil {
		return nil, err
	}
	if err := s.auth.codeFileErr; err != nil {
		// A full disk must not keep the box from answering calls: the code below is still logged.
		s.log.Warn("the first-run setup code is in this log only", "err", err)
	}
	if code := s.auth.pendingSetupCode(); code != "" {
		// Logged at info on purpose: this code is for the owner, who reads the journal (root and
		// the adm and systemd-journal groups can). It is one-time, not a long-lived secret: it only
		// opens /setup, a new one is made at each start, and it dies when the password is set.
		s.log.Info("first-run setup: open /setup and set the admin password; from another machine it asks for this one-time code",
			"setup_code", code, "file", s.auth.codePath)
	}
	if s.tmpl, err = template.New("").Funcs(templateFuncs).ParseFS(assets, "templates/*.html"); err != nil {
		return nil, fmt.Errorf("web templates: %w", err)
	}
	if s.static, err = fs.Sub(assets, "static"); err != nil {
		return nil, fmt.Errorf("web assets: %w", err)
	}
	s.prom = newProm(s)
	s.routes = s.routeTable()
	s.mux = http.NewServeMux()
	for _, rt := range s.routes {
		s.mux.Handle(rt.Method+" "+rt.Pattern, s.guard(rt))
	}
	return s, nil
}

// SetupCode returns the one-time code that a first-run setup from another machine asks for
// (also in <state_dir>/web-setup-code), or "" when the admin password is set.
func (s *Server) SetupCode() string { return s.auth.pendingSetupCode() }

// Handler serves every route, with the security headers.
func (s *Server) Handler() http.Handler { return s.securityHeaders(s.mux) }

// Run follows the live bus (agents' states, LED status, the Prometheus call counters) until ctx
// ends; the wallboard needs it running. When it returns, open event streams end.
func (s *Server) Run(ctx context.Context) error {
	defer s.doneOnce.Do(func() { close(s.done) })
	ch, unsubscribe := s.bus.Subscribe(256)
	defer unsubscribe()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-ch:
			if !ok {
				return nil
			}
			s.observe(ev)
		}
	}
}

func (s *Server) observe(ev live.Event) {
	switch ev.Type {
	case live.TypeAgent:
		if ev.Agent != nil {
			s.mu.Lock()
			s.agents[ev.Agent.Agent] = *ev.Agent
			s.mu.Unlock()
		}
	case live.TypeStatus:
		if ev.Status != nil {
			s.mu.Lock()
			s.status = *ev.Status
			s.mu.Unlock()
		}
	case live.TypeCall:
		if ev.Call != nil && ev.Record != nil && (ev.Call.Kind == call.KindEnded || ev.Call.Kind == call.KindRefused) {
			s.prom.callEnded(ev.Record)
		}
	}
}

// Serve runs Run and an HTTP server on ln until ctx ends, then shuts the server down (waiting up
// to 5 s for requests in flight).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	wg.Go(func() { s.Run(runCtx) })
	errc := make(chan error, 1)
	wg.Go(func() { errc <- srv.Serve(ln) })
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	stop() // ends Run, which ends the event streams
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if serr := srv.Shutdown(sctx); serr != nil {
		srv.Close()
	}
	wg.Wait()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("web: %w", err)
	}
	return nil
}

// agentStates returns the agents' states in config order, then any agent the config lacks.
func (s *Server) agentStates() []live.AgentState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]live.AgentState, 0, len(s.agents))
	seen := map[string]bool{}
	for _, a := range s.cfg.Agents {
		out = append(out, s.agents[a.ID])
		seen[a.ID] = true
	}
	for id, a := range s.agents {
		if !seen[id] {
			out = append(out, a)
		}
	}
	return out
}

func (s *Server) ledStates() map[string]string {
	if s.leds != nil {
		return s.leds()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status.LEDs
}
