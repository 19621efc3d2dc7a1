package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ringside/ringside/edge/call"
	"github.com/ringside/ringside/edge/config"
	"github.com/ringside/ringside/edge/metrics"
)

// page is what every template gets.
type page struct {
	Title    string
	Page     string // body data-page: which script part runs
	User     string
	CSRF     string
	Token    string // the wallboard token, when the page was opened with it
	Site     string
	Currency string
	Query    string // the request's query string, for the script's API calls
	Data     any
}

var templateFuncs = template.FuncMap{
	"dur": func(ms int64) string {
		if ms < 0 {
			ms = 0
		}
		s := ms / 1000
		if s >= 3600 {
			return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
		}
		return fmt.Sprintf("%d:%02d", s/60, s%60)
	},
	"durNs": func(d time.Duration) string {
		s := metrics.Whole(d, time.Second)
		return fmt.Sprintf("%d:%02d", s/60, s%60)
	},
	"pct": func(v *float64) string {
		if v == nil {
			return "–"
		}
		return strconv.FormatFloat(*v, 'f', 1, 64) + "%"
	},
	"money": func(c int64) string { return config.Money(c).String() },
	"clock": func(t time.Time, loc *time.Location) string {
		if t.IsZero() {
			return ""
		}
		return t.In(loc).Format("2006-01-02 15:04:05")
	},
	"caller":  callerText,
	"pathEsc": url.PathEscape,
	"leadSel": func(l *bool, want string) bool {
		switch want {
		case "yes":
			return l != nil && *l
		case "no":
			return l != nil && !*l
		}
		return l == nil
	},
	"add": func(a, b int) int { return a + b },
	// ledClass keeps the pattern's name (hw.Pattern.String: off, steady, blink, fast_blink,
	// heartbeat, waiting(n)) as a CSS class.
	"ledClass": func(p string) string {
		return strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r == '_' {
				return r
			}
			return -1
		}, p)
	},
	"sub": func(a, b int) int { return a - b },
}

func (s *Server) newPage(r *http.Request, title, name string, data any) page {
	p := who(r)
	pg := page{Title: title, Page: name, User: p.user, CSRF: p.csrf, Site: s.cfg.Site.Name, Currency: s.cfg.Site.Currency,
		Query: r.URL.RawQuery, Data: data}
	if p.viaToken {
		pg.Token = r.URL.Query().Get("token")
	}
	return pg
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, name string, pg page) {
	var buf bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&buf, name, pg); err != nil {
		s.log.Error("render page", "page", name, "err", err)
		s.fail(w, r, http.StatusInternalServerError, "internal error")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}

// ---- login, setup, logout ----

type loginData struct {
	Next, Error, User string
	Setup             bool
	// NeedCode: the setup page asks for the setup code (the visitor is on another machine).
	NeedCode bool
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if s.auth.needsSetup() {
		http.Redirect(w, r, "/setup", http.StatusSeeOther)
		return
	}
	s.render(w, r, "login.html", s.newPage(r, "Log in", "login", loginData{Next: safeNext(r.URL.Query().Get("next"))}))
}

func (s *Server) loginPost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	next := safeNext(r.PostFormValue("next"))
	addr := clientAddr(r)
	sess, err := s.auth.login(addr, r.PostFormValue("user"), r.PostFormValue("password"))
	var th *throttledError
	switch {
	case errors.As(err, &th):
		w.Header().Set("Retry-After", th.retryAfter())
		w.WriteHeader(http.StatusTooManyRequests)
		msg := "Too many logins at once. Try again in a moment."
		if th.lockedOut {
			msg = "Too many failed attempts. Try again in a few minutes."
		}
		s.log.Warn("login refused unchecked", "addr", addr, "locked_out", th.lockedOut)
		s.render(w, r, "login.html", s.newPage(r, "Log in", "login", loginData{Next: next, Error: msg}))
		return
	case err != nil:
		s.log.Warn("login failed", "addr", addr)
		w.WriteHeader(http.StatusUnauthorized)
		s.render(w, r, "login.html", s.newPage(r, "Log in", "login", loginData{Next: next, Error: "Wrong user or password."}))
		return
	}
	s.log.Info("login", "user", sess.user, "addr", addr)
	s.setSessionCookie(w, r, sess)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) setupPage(w http.ResponseWriter, r *http.Request) {
	if !s.auth.needsSetup() {
		s.fail(w, r, http.StatusNotFound, "setup is done: log in at /login")
		return
	}
	s.render(w, r, "setup.html", s.newPage(r, "First-run setup", "setup", s.setupData(r, "")))
}

func (s *Server) setupData(r *http.Request, msg string) loginData {
	return loginData{User: s.auth.user, Setup: true, Error: msg, NeedCode: !s.fromThisMachine(r)}
}

func (s *Server) setupPost(w http.ResponseWriter, r *http.Request) {
	if !s.auth.needsSetup() {
		s.fail(w, r, http.StatusNotFound, "setup is done: log in at /login")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	pw := r.PostFormValue("password")
	if pw != r.PostFormValue("confirm") {
		w.WriteHeader(http.StatusBadRequest)
		s.render(w, r, "setup.html", s.newPage(r, "First-run setup", "setup", s.setupData(r, "The two passwords differ.")))
		return
	}
	if err := s.auth.setup(pw, r.PostFormValue("code"), s.fromThisMachine(r)); err != nil {
		code := http.StatusBadRequest
		if errors.Is(err, ErrSetupCode) {
			code = http.StatusForbidden
			s.log.Warn("first-run setup refused: wrong or missing setup code", "addr", clientAddr(r))
		}
		w.WriteHeader(code)
		s.render(w, r, "setup.html", s.newPage(r, "First-run setup", "setup", s.setupData(r, err.Error())))
		return
	}
	s.log.Info("admin password set by the first-run setup", "addr", clientAddr(r))
	sess, err := s.auth.login(clientAddr(r), s.auth.user, pw)
	if err != nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	s.setSessionCookie(w, r, sess)
	http.Redirect(w, r, "/wallboard", http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	s.auth.logout(who(r).token)
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// ---- pages ----

func (s *Server) wallboardPage(w http.ResponseWriter, r *http.Request) {
	if _, err := newQuery(r.URL.Query()); err != nil {
		s.failErr(w, r, err)
		return
	}
	st, err := s.liveStatus(r.Context(), who(r).viaToken)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.render(w, r, "wallboard.html", s.newPage(r, "Wallboard", "wallboard", st))
}

// shownFigure is one figure of the metrics view; the page carries the exact value in
// data-value so the page, the API and the engine can be compared figure by figure.
type shownFigure struct {
	Name, Label, Text string
	Value             string // exact, as metrics.Figure.String writes it ("null" for no value)
}

// statsFigures are the figures the metrics view shows, in order, with how each is written.
var statsFigures = []struct{ name, label, kind string }{
	{"volume", "Calls", "n"},
	{"outcome.connected", "Connected", "n"},
	{"blocked.pct", "Blocked", "pct"},
	{"busy.pct", "Busy signal", "pct"},
	{"completion.pct", "Completion rate", "pct"},
	{"abandon.pct", "Abandon rate", "pct"},
	{"abandon_ex_short.pct", "Abandon rate (excl. short)", "pct"},
	{"service_level.pct", "Service level", "pct"},
	{"asa_ms", "Average speed of answer", "ms"},
	{"wait.connected.median_ms", "Median wait", "ms"},
	{"wait.connected.p90_ms", "90th percentile wait", "ms"},
	{"wait.connected.max_ms", "Longest wait", "ms"},
	{"acd_ms", "Average call duration", "ms"},
	{"hold.count", "Holds", "n"},
	{"callers.first_time", "First-time callers", "n"},
	{"callers.repeat", "Repeat callers", "n"},
	{"callers.withheld", "Withheld numbers", "n"},
	{"leads.total", "Leads", "n"},
	{"leads.converted", "Converted", "n"},
	{"lead_conversion.pct", "Lead conversion", "pct"},
	{"revenue.cents", "Revenue", "cents"},
	{"revenue_per_call.value", "Revenue per successful call", "cents"},
	{"cost.total_cents", "Cost", "cents"},
	{"cost_per_call.value", "Cost per call", "cents"},
	{"cost_per_lead.value", "Cost per lead", "cents"},
}

func formatFigure(v float64, kind string) string {
	switch kind {
	case "pct":
		return strconv.FormatFloat(v, 'f', 1, 64) + "%"
	case "ms":
		s := metrics.Whole(time.Duration(math.Round(v*float64(time.Millisecond))), time.Second)
		return fmt.Sprintf("%d:%02d", s/60, s%60)
	case "cents":
		return config.Money(int64(math.Round(v))).String()
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

type statsData struct {
	Label   string
	Period  string
	From    string
	To      string
	Filter  map[string]string
	Figures []shownFigure
	Sources any
	// Report is the report the cards come from, given to the script for the charts: the view
	// draws everything from this one snapshot and asks for nothing more.
	Report *metrics.Report
}

func (s *Server) statsPage(w http.ResponseWriter, r *http.Request) {
	a, q, err := s.metricsAnswer(r)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	d := statsData{Label: a.Label, Period: q.str("period"), From: q.str("from"), To: q.str("to"), Filter: map[string]string{},
		Sources: a.Report.Sources, Report: a.Report}
	for _, k := range filterParams[3:] {
		d.Filter[k] = q.str(k)
	}
	byName := map[string]string{}
	for _, f := range a.Report.Figures() {
		byName[f.Name] = f.String()
	}
	for _, f := range statsFigures {
		sf := shownFigure{Name: f.name, Label: f.label, Value: byName[f.name], Text: "–"}
		if v := a.Figures[f.name]; v != nil {
			sf.Text = formatFigure(*v, f.kind)
		}
		d.Figures = append(d.Figures, sf)
	}
	s.render(w, r, "stats.html", s.newPage(r, "Metrics", "stats", d))
}

type callsData struct {
	*CallPage
	Loc              *time.Location
	Q                map[string]string
	PrevURL, NextURL string
	CSVURL           string
	Outcomes         []call.Outcome
}

func (s *Server) callsPage(w http.ResponseWriter, r *http.Request) {
	p, q, err := s.callPage(r)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	d := callsData{CallPage: p, Loc: s.eng.Location(), Q: map[string]string{}, Outcomes: call.Outcomes}
	for _, k := range callParams {
		d.Q[k] = q.str(k)
	}
	link := func(off int) string {
		v := r.URL.Query()
		v.Set("offset", strconv.Itoa(off))
		return "/calls?" + v.Encode()
	}
	if p.Offset > 0 {
		d.PrevURL = link(max(p.Offset-p.Limit, 0))
	}
	if p.Offset+len(p.Calls) < p.Total {
		d.NextURL = link(p.Offset + p.Limit)
	}
	v := r.URL.Query()
	v.Del("limit")
	v.Del("offset")
	d.CSVURL = "/api/v1/calls.csv?" + v.Encode()
	s.render(w, r, "calls.html", s.newPage(r, "Calls", "calls", d))
}

type callData struct {
	CallDetail
	Loc          *time.Location
	HasRecording bool
}

func (s *Server) callDetailPage(w http.ResponseWriter, r *http.Request) {
	rec, ok := s.loadCall(w, r)
	if !ok {
		return
	}
	j, err := s.calls.Journal(r.Context(), rec.ID)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	d := callData{CallDetail: CallDetail{Call: callJSON(rec), Journal: j}, Loc: s.eng.Location(), HasRecording: s.recs != nil && rec.Recording != ""}
	s.render(w, r, "call.html", s.newPage(r, "Call", "call", d))
}

type lostData struct {
	*LostList
	Loc    *time.Location
	Period string
}

func (s *Server) lostPage(w http.ResponseWriter, r *http.Request) {
	kind := lostKind(r)
	l, err := s.lostList(r, kind)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	title := "Abandoned calls"
	if kind == "blocked" {
		title = "Blocked calls"
	}
	s.render(w, r, "lost.html", s.newPage(r, title, "lost", lostData{LostList: l, Loc: s.eng.Location(), Period: r.URL.Query().Get("period")}))
}
