package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// route is one entry of the route table; tests walk it.
type route struct {
	Method  string
	Pattern string
	Access  access
	Handler http.Handler
}

// Route is the exported view of a route, for tests and documentation.
type Route struct {
	Method, Pattern string
	Public          bool // answers without any credentials
	TokenOK         bool // the wallboard token is enough
	StateChanging   bool // needs the CSRF token
}

// Routes lists the route table.
func (s *Server) Routes() []Route {
	out := make([]Route, len(s.routes))
	for i, r := range s.routes {
		out[i] = Route{Method: r.Method, Pattern: r.Pattern, Public: r.Access == accessPublic,
			TokenOK: r.Access == accessToken, StateChanging: r.Access == accessWrite}
	}
	return out
}

func (s *Server) routeTable() []route {
	h := func(f func(http.ResponseWriter, *http.Request)) http.Handler { return http.HandlerFunc(f) }
	return []route{
		{"GET", "/healthz", accessPublic, h(s.health)},
		{"GET", "/static/", accessPublic, http.StripPrefix("/static/", s.staticHandler())},
		{"GET", "/login", accessPublic, h(s.loginPage)},
		{"POST", "/login", accessPublic, h(s.loginPost)},
		{"GET", "/setup", accessPublic, h(s.setupPage)},
		{"POST", "/setup", accessPublic, h(s.setupPost)},
		{"POST", "/logout", accessWrite, h(s.logout)},

		{"GET", "/{$}", accessSession, h(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/wallboard", http.StatusSeeOther)
		})},
		{"GET", "/wallboard", accessToken, h(s.wallboardPage)},
		{"GET", "/stats", accessSession, h(s.statsPage)},
		{"GET", "/calls", accessSession, h(s.callsPage)},
		{"GET", "/calls/{id}", accessSession, h(s.callDetailPage)},
		{"GET", "/abandoned", accessSession, h(s.lostPage)},
		{"GET", "/blocked", accessSession, h(s.lostPage)},

		{"GET", "/api/v1/live", accessToken, h(s.apiLive)},
		{"GET", "/api/v1/events", accessToken, h(s.apiEvents)},
		{"GET", "/api/v1/calls", accessSession, h(s.apiCalls)},
		{"GET", "/api/v1/calls.csv", accessSession, h(s.apiCallsCSV)},
		{"GET", "/api/v1/calls/{id}", accessSession, h(s.apiCall)},
		{"PUT", "/api/v1/calls/{id}/tags", accessWrite, h(s.apiTag)},
		{"GET", "/api/v1/calls/{id}/recording", accessSession, h(s.apiRecording)},
		{"GET", "/api/v1/metrics", accessSession, h(s.apiMetrics)},
		{"GET", "/api/v1/metrics/waits", accessSession, h(s.apiWaits)},
		{"GET", "/api/v1/abandoned", accessSession, h(s.apiLost)},
		{"GET", "/api/v1/blocked", accessSession, h(s.apiLost)},

		{"GET", "/metrics", accessMetrics, s.prom.handler()},
	}
}

// health answers "ok", or 503 with each failing problem on a line of its own.
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	var failing []byte
	for _, p := range s.problems() {
		if p.Failing {
			failing = append(failing, p.Text+"\n"...)
		}
	}
	if failing != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write(failing)
		return
	}
	w.Write([]byte("ok\n"))
}

// securityHeaders sets the headers every answer carries. The CSP allows no inline script or
// style: every script and stylesheet is an embedded file.
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin") // not no-referrer: with it Chromium sends "Origin: null" on form posts
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) staticHandler() http.Handler {
	fsrv := http.FileServerFS(s.static)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || r.URL.Path[len(r.URL.Path)-1] == '/' {
			http.NotFound(w, r) // no directory listings
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fsrv.ServeHTTP(w, r)
	})
}

// fail writes an error: JSON for the API, text otherwise.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, code int, msg string) {
	if strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == "/metrics" {
		writeJSON(w, code, map[string]string{"error": msg})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	w.Write([]byte(msg + "\n"))
}

// failErr maps an error to a status: bad parameters are 400 with their message, the rest 500
// (logged, not shown).
func (s *Server) failErr(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrBadParam) {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	s.log.Error("web request failed", "path", r.URL.Path, "err", err)
	s.fail(w, r, http.StatusInternalServerError, "internal error")
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.Encode(v)
}
