package web

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ringside/ringside/edge/call"
	"github.com/ringside/ringside/edge/config"
	"github.com/ringside/ringside/edge/metrics"
	"github.com/ringside/ringside/edge/store"
)

// Limits of the API.
const (
	// maxCSVRows bounds one CSV export; narrow the period for more.
	maxCSVRows = 200_000
	// maxLostRows bounds the calls an abandoned/blocked list reads, and maxLostGroups the numbers it
	// looks up for a later successful call.
	maxLostRows   = 20_000
	maxLostGroups = 500
	// maxTagBody bounds a tag request; maxNotes the notes in it.
	maxTagBody = 16 << 10
	maxNotes   = 2000
)

func (s *Server) now() time.Time { return s.clock.Now() }

// ---- live status ----

// LiveStatus is the wallboard's data (GET /api/v1/live).
type LiveStatus struct {
	At            time.Time         `json:"at"`
	Lines         []LineStatus      `json:"lines"`
	Queues        []QueueStatus     `json:"queues"`
	Agents        []AgentStatus     `json:"agents"`
	Waiting       []LiveCall        `json:"waiting"`
	Connected     []LiveCall        `json:"connected"`
	Ringing       []LiveCall        `json:"other"` // live calls neither queued nor connected (greeting, IVR)
	LongestWaitMs int64             `json:"longest_wait_ms"`
	Today         TodayFigures      `json:"today"`
	LEDs          map[string]string `json:"leds,omitempty"`
	Problems      []Problem         `json:"problems"`
}

// LineStatus is one configured line and its live calls.
type LineStatus struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"`
	Calls int    `json:"calls"`
}

// QueueStatus is one queue's callers waiting.
type QueueStatus struct {
	Name          string `json:"name"`
	Waiting       int    `json:"waiting"`
	LongestWaitMs int64  `json:"longest_wait_ms"`
}

// AgentStatus is one agent's phone.
type AgentStatus struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	State string `json:"state"`
	Call  string `json:"call,omitempty"`
}

// LiveCall is a call in progress. Caller is masked on the token-only wallboard.
type LiveCall struct {
	ID      string    `json:"id"`
	Caller  string    `json:"caller"`
	Source  string    `json:"source"`
	Queue   string    `json:"queue"`
	Agent   string    `json:"agent,omitempty"`
	Arrived time.Time `json:"arrived"`
	WaitMs  int64     `json:"wait_ms"`
	TalkMs  int64     `json:"talk_ms,omitempty"`
	OnHold  bool      `json:"-"`
}

// TodayFigures are today's headline figures with their colours against the targets.
type TodayFigures struct {
	Volume             int      `json:"volume"`
	Connected          int      `json:"connected"`
	Live               int      `json:"live"`
	BlockedPct         *float64 `json:"blocked_pct"`
	BlockedTarget      float64  `json:"blocked_target_pct"`
	BlockedColour      string   `json:"blocked_colour"`
	ServiceLevelPct    *float64 `json:"service_level_pct"`
	ServiceLevelTarget float64  `json:"service_level_target_pct"`
	ServiceLevelColour string   `json:"service_level_colour"`
	ASAms              *float64 `json:"asa_ms"`
}

// slColour is green at or over the target, amber within 10 points under it, red below.
func slColour(v *float64, target float64) string {
	switch {
	case v == nil:
		return "none"
	case *v >= target:
		return "green"
	case *v >= target-10:
		return "amber"
	}
	return "red"
}

// blockedColour is green at or under the target, amber up to twice it, red above.
func blockedColour(v *float64, target float64) string {
	switch {
	case v == nil:
		return "none"
	case *v <= target:
		return "green"
	case *v <= 2*target:
		return "amber"
	}
	return "red"
}

func pctPtr(r metrics.Ratio) *float64 {
	if v, ok := r.Percent(); ok {
		return &v
	}
	return nil
}

// maskCaller keeps the last three digits: enough to tell two callers apart on a TV screen.
func maskCaller(r call.Record) string {
	if r.Withheld || r.CallerNumber == "" {
		return "withheld"
	}
	n := r.CallerNumber
	if len(n) <= 3 {
		return "•••"
	}
	return "•••" + n[len(n)-3:]
}

func callerText(r call.Record) string {
	if r.Withheld || r.CallerNumber == "" {
		return "withheld"
	}
	return r.CallerNumber
}

func (s *Server) liveStatus(ctx context.Context, masked bool) (*LiveStatus, error) {
	now := s.now()
	st := &LiveStatus{At: now, LEDs: s.ledStates(), Waiting: []LiveCall{}, Connected: []LiveCall{}, Ringing: []LiveCall{},
		Problems: append([]Problem{}, s.problems()...)}
	perLine := map[string]int{}
	perQueue := map[string]*QueueStatus{}
	for _, q := range s.cfg.Queues {
		perQueue[q.Name] = &QueueStatus{Name: q.Name}
	}
	for _, r := range s.track.Live() {
		if r.Finished() {
			continue
		}
		perLine[r.Line]++
		lc := LiveCall{ID: r.ID, Caller: callerText(r), Source: r.Attribution.Source, Queue: r.Queue, Agent: r.Agent, Arrived: r.Arrived}
		if masked {
			lc.Caller = maskCaller(r)
		}
		switch {
		case !r.Connected.IsZero():
			lc.WaitMs = r.Connected.Sub(r.Arrived).Milliseconds()
			lc.TalkMs = max(now.Sub(r.Connected).Milliseconds(), 0)
			st.Connected = append(st.Connected, lc)
		case r.Queue != "":
			lc.WaitMs = max(now.Sub(r.Arrived).Milliseconds(), 0)
			st.Waiting = append(st.Waiting, lc)
			q := perQueue[r.Queue]
			if q == nil {
				q = &QueueStatus{Name: r.Queue}
				perQueue[r.Queue] = q
			}
			q.Waiting++
			q.LongestWaitMs = max(q.LongestWaitMs, lc.WaitMs)
			st.LongestWaitMs = max(st.LongestWaitMs, lc.WaitMs)
		default:
			lc.WaitMs = max(now.Sub(r.Arrived).Milliseconds(), 0)
			st.Ringing = append(st.Ringing, lc)
		}
	}
	slices.SortFunc(st.Waiting, func(a, b LiveCall) int { return int(b.WaitMs - a.WaitMs) })
	for _, l := range s.cfg.Lines {
		st.Lines = append(st.Lines, LineStatus{ID: l.ID, Kind: l.Kind, Calls: perLine[l.ID]})
	}
	for _, q := range s.cfg.Queues {
		st.Queues = append(st.Queues, *perQueue[q.Name])
		delete(perQueue, q.Name)
	}
	for _, q := range perQueue {
		st.Queues = append(st.Queues, *q)
	}
	names := map[string]string{}
	for _, a := range s.cfg.Agents {
		names[a.ID] = a.Name
	}
	for _, a := range s.agentStates() {
		st.Agents = append(st.Agents, AgentStatus{ID: a.Agent, Name: names[a.Agent], State: a.State, Call: a.Call})
	}
	loc := s.eng.Location()
	today, _, _ := (&query{}).period(loc, now)
	rep, err := s.report(ctx, today, metrics.Filter{})
	if err != nil {
		return nil, fmt.Errorf("today's figures: %w", err)
	}
	t := &st.Today
	t.Volume, t.Connected, t.Live = rep.Volume, rep.Outcomes[call.Connected], rep.Live
	t.BlockedPct, t.BlockedTarget = pctPtr(rep.Blocked), rep.BlockedTarget
	t.ServiceLevelPct, t.ServiceLevelTarget = pctPtr(rep.ServiceLevel), rep.ServiceLevelTarget
	t.BlockedColour = blockedColour(t.BlockedPct, t.BlockedTarget)
	t.ServiceLevelColour = slColour(t.ServiceLevelPct, t.ServiceLevelTarget)
	if asa, ok := rep.ASA(); ok {
		v := float64(asa) / float64(time.Millisecond)
		t.ASAms = &v
	}
	return st, nil
}

func (s *Server) apiLive(w http.ResponseWriter, r *http.Request) {
	if _, err := newQuery(r.URL.Query()); err != nil {
		s.failErr(w, r, err)
		return
	}
	st, err := s.liveStatus(r.Context(), who(r).viaToken)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// ---- calls ----

// CallJSON is a call record as the API gives it: the record, with its durations also in whole
// milliseconds, the API's unit (rounded with metrics.Whole). The record's wait_ns, talk_ns and
// hold_ns stay: they are the exact values.
type CallJSON struct {
	call.Record
	WaitMs int64 `json:"wait_ms"`
	TalkMs int64 `json:"talk_ms"`
	HoldMs int64 `json:"hold_ms"`
}

func callJSON(r call.Record) CallJSON {
	ms := func(d time.Duration) int64 { return metrics.Whole(d, time.Millisecond) }
	return CallJSON{Record: r, WaitMs: ms(r.Wait), TalkMs: ms(r.Talk), HoldMs: ms(r.HoldTotal)}
}

// CallPage is one page of the call list (GET /api/v1/calls).
type CallPage struct {
	Total  int        `json:"total"`
	Limit  int        `json:"limit"`
	Offset int        `json:"offset"`
	Calls  []CallJSON `json:"calls"`
}

func (s *Server) callPage(r *http.Request) (*CallPage, *query, error) {
	q, err := newQuery(r.URL.Query(), callParams...)
	if err != nil {
		return nil, nil, err
	}
	cq, err := q.callQuery(s.eng.Location(), s.cfg.Site.Region, s.now(), true)
	if err != nil {
		return nil, nil, err
	}
	recs, total, err := s.calls.QueryCalls(r.Context(), cq)
	if err != nil {
		return nil, nil, err
	}
	page := &CallPage{Total: total, Limit: cq.Limit, Offset: cq.Offset, Calls: make([]CallJSON, len(recs))}
	for i, rec := range recs {
		page.Calls[i] = callJSON(rec)
	}
	return page, q, nil
}

func (s *Server) apiCalls(w http.ResponseWriter, r *http.Request) {
	p, _, err := s.callPage(r)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// CallDetail is one call with its journal (GET /api/v1/calls/{id}).
type CallDetail struct {
	Call    CallJSON     `json:"call"`
	Journal []call.Event `json:"journal"`
}

func (s *Server) loadCall(w http.ResponseWriter, r *http.Request) (call.Record, bool) {
	id := r.PathValue("id")
	if len(id) == 0 || len(id) > 64 {
		s.fail(w, r, http.StatusBadRequest, "id: want a call id")
		return call.Record{}, false
	}
	rec, err := s.calls.Call(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, http.StatusNotFound, "no such call")
		return rec, false
	}
	if err != nil {
		s.failErr(w, r, err)
		return rec, false
	}
	return rec, true
}

func (s *Server) apiCall(w http.ResponseWriter, r *http.Request) {
	if _, err := newQuery(r.URL.Query()); err != nil {
		s.failErr(w, r, err)
		return
	}
	rec, ok := s.loadCall(w, r)
	if !ok {
		return
	}
	j, err := s.calls.Journal(r.Context(), rec.ID)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	if j == nil {
		j = []call.Event{}
	}
	writeJSON(w, http.StatusOK, CallDetail{Call: callJSON(rec), Journal: j})
}

// TagRequest is the body of PUT /api/v1/calls/{id}/tags. Revenue is a decimal amount ("12.50");
// RevenueCents may be given instead.
type TagRequest struct {
	Lead         *bool  `json:"lead"`
	Converted    bool   `json:"converted"`
	Revenue      string `json:"revenue,omitempty"`
	RevenueCents *int64 `json:"revenue_cents,omitempty"`
	Notes        string `json:"notes"`
}

// parseTags reads and checks a tag request.
func parseTags(body io.Reader) (call.Tags, error) {
	var req TagRequest
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return call.Tags{}, fmt.Errorf("%w: body: want JSON {lead, converted, revenue, notes}: %v", ErrBadParam, err)
	}
	if dec.More() {
		return call.Tags{}, fmt.Errorf("%w: body: more than one JSON value", ErrBadParam)
	}
	t := call.Tags{Lead: req.Lead, Converted: req.Converted, Notes: strings.TrimSpace(req.Notes)}
	switch {
	case req.Revenue != "" && req.RevenueCents != nil:
		return t, fmt.Errorf("%w: give revenue or revenue_cents, not both", ErrBadParam)
	case req.Revenue != "":
		m, err := config.ParseMoney(req.Revenue)
		if err != nil {
			return t, fmt.Errorf("%w: revenue: %v", ErrBadParam, err)
		}
		t.RevenueCents = int64(m)
	case req.RevenueCents != nil:
		if *req.RevenueCents < 0 || *req.RevenueCents > 1e14 {
			return t, fmt.Errorf("%w: revenue_cents: want 0 to 10^14, got %d", ErrBadParam, *req.RevenueCents)
		}
		t.RevenueCents = *req.RevenueCents
	}
	if len([]rune(t.Notes)) > maxNotes {
		return t, fmt.Errorf("%w: notes: at most %d characters", ErrBadParam, maxNotes)
	}
	for _, c := range t.Notes {
		if c < 0x20 && c != '\n' && c != '\t' || c == 0x7f {
			return t, fmt.Errorf("%w: notes: control characters are not allowed", ErrBadParam)
		}
	}
	return t, nil
}

func (s *Server) apiTag(w http.ResponseWriter, r *http.Request) {
	if _, err := newQuery(r.URL.Query()); err != nil {
		s.failErr(w, r, err)
		return
	}
	rec, ok := s.loadCall(w, r)
	if !ok {
		return
	}
	tags, err := parseTags(http.MaxBytesReader(w, r.Body, maxTagBody))
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	if err := s.track.Tag(ctx, rec.ID, tags, who(r).user); err != nil {
		s.failErr(w, r, fmt.Errorf("tag call %s: %w", rec.ID, err))
		return
	}
	s.log.Info("call tagged", "call", rec.ID, "by", who(r).user)
	if rec, err = s.calls.Call(r.Context(), rec.ID); err != nil {
		s.failErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, callJSON(rec))
}

func (s *Server) apiRecording(w http.ResponseWriter, r *http.Request) {
	q, err := newQuery(r.URL.Query(), "download")
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	dl := q.str("download")
	if dl != "" && dl != "1" && dl != "0" {
		s.fail(w, r, http.StatusBadRequest, fmt.Sprintf("download: want 1 or 0, got %q", dl))
		return
	}
	rec, ok := s.loadCall(w, r)
	if !ok {
		return
	}
	if s.recs == nil || rec.Recording == "" {
		s.fail(w, r, http.StatusNotFound, "this call has no recording")
		return
	}
	f, mod, err := s.recs.Open(rec)
	if errors.Is(err, fs.ErrNotExist) {
		s.fail(w, r, http.StatusNotFound, "the recording is gone (retention or disk limit)")
		return
	}
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	defer f.Close()
	name := "call-" + rec.ID + ".wav"
	w.Header().Set("Content-Type", "audio/wav")
	if dl == "1" {
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	}
	http.ServeContent(w, r, name, mod, f)
}

// ---- CSV ----

// csvHeader is the CSV export's columns, one call a row.
var csvHeader = []string{"id", "arrived", "line", "tracking_number", "dialed_number", "caller_number", "caller_name",
	"withheld", "source", "campaign", "medium", "keyword", "gclid", "landing_page", "queue", "agent", "outcome", "reason",
	"wait_s", "talk_s", "hold_s", "hold_count", "first_time", "lead", "converted", "revenue", "notes", "tagged_by", "recording"}

// csvCell neutralises spreadsheet formulas (a cell starting with =, @, or + or - not followed by
// a digit) by prefixing a quote; E.164 numbers (+1...) stay as they are.
func csvCell(v string) string {
	if v == "" {
		return v
	}
	switch v[0] {
	case '=', '@', '\t', '\r':
		return "'" + v
	case '+', '-':
		if len(v) == 1 || v[1] < '0' || v[1] > '9' {
			return "'" + v
		}
	}
	return v
}

func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) }

func csvRow(r call.Record, loc *time.Location) []string {
	b := func(v bool) string {
		if v {
			return "1"
		}
		return "0"
	}
	lead := ""
	if r.Tags.Lead != nil {
		lead = b(*r.Tags.Lead)
	}
	row := []string{r.ID, r.Arrived.In(loc).Format(time.RFC3339), r.Line, r.TrackingNumber, r.DialedNumber, r.CallerNumber,
		r.CallerName, b(r.Withheld), r.Attribution.Source, r.Attribution.Campaign, r.Attribution.Medium, r.Attribution.Keyword,
		r.Attribution.GCLID, r.Attribution.LandingPage, r.Queue, r.Agent, string(r.Outcome), r.Reason,
		secs(r.Wait), secs(r.Talk), secs(r.HoldTotal), strconv.Itoa(r.HoldCount), b(r.FirstTime), lead, b(r.Tags.Converted),
		config.Money(r.Tags.RevenueCents).String(), r.Tags.Notes, r.Tags.By, r.Recording}
	for i := range row {
		row[i] = csvCell(row[i])
	}
	return row
}

func (s *Server) apiCallsCSV(w http.ResponseWriter, r *http.Request) {
	q, err := newQuery(r.URL.Query(), csvParams...)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	loc := s.eng.Location()
	cq, err := q.callQuery(loc, s.cfg.Site.Region, s.now(), false)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	if q.str("order") == "" {
		cq.Desc = false // oldest first unless asked
	}
	cq.Limit = maxCSVRows
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="ringside-calls-`+cq.From.In(loc).Format("20060102")+`.csv"`)
	cw := csv.NewWriter(w)
	cw.Write(csvHeader)
	n := 0
	for rec, err := range s.calls.EachCall(r.Context(), cq) {
		if err != nil {
			// The header is sent: end the file with a line that says it is incomplete.
			s.log.Error("CSV export failed", "err", err)
			cw.Write([]string{"# export failed after " + strconv.Itoa(n) + " calls"})
			break
		}
		cw.Write(csvRow(rec, loc))
		n++
	}
	cw.Flush()
}

// ---- metrics ----

// MetricsAnswer is GET /api/v1/metrics: the engine's report and its flattened figures (names as
// in edge/metrics doc.go, "Figure names"; null = no value).
type MetricsAnswer struct {
	Label   string              `json:"label"`
	Report  *metrics.Report     `json:"report"`
	Figures map[string]*float64 `json:"figures"`
}

func figureMap(rep *metrics.Report) map[string]*float64 {
	fs := rep.Figures()
	m := make(map[string]*float64, len(fs))
	for _, f := range fs {
		if f.Null {
			m[f.Name] = nil
		} else {
			v := f.Value
			m[f.Name] = &v
		}
	}
	return m
}

// queryReport reads a period and a slice (the parameters named) and returns the engine's report.
func (s *Server) queryReport(r *http.Request, params ...string) (*metrics.Report, string, *query, error) {
	q, err := newQuery(r.URL.Query(), params...)
	if err != nil {
		return nil, "", nil, err
	}
	p, label, err := q.period(s.eng.Location(), s.now())
	if err != nil {
		return nil, "", nil, err
	}
	f, err := q.filter(s.cfg.Site.Region)
	if err != nil {
		return nil, "", nil, err
	}
	rep, err := s.report(r.Context(), p, f)
	if errors.Is(err, metrics.ErrBadPeriod) || errors.Is(err, metrics.ErrPeriodTooLong) {
		return nil, "", nil, fmt.Errorf("%w: period: %v", ErrBadParam, err)
	}
	if err != nil {
		return nil, "", nil, err
	}
	return rep, label, q, nil
}

func (s *Server) metricsAnswer(r *http.Request) (*MetricsAnswer, *query, error) {
	rep, label, q, err := s.queryReport(r, filterParams...)
	if err != nil {
		return nil, nil, err
	}
	return &MetricsAnswer{Label: label, Report: rep, Figures: figureMap(rep)}, q, nil
}

func (s *Server) apiMetrics(w http.ResponseWriter, r *http.Request) {
	a, _, err := s.metricsAnswer(r)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// WaitHistogram is GET /api/v1/metrics/waits: the report's distribution of finished calls by wait
// (metrics.WaitBars), from the same report as /api/v1/metrics.
type WaitHistogram = metrics.WaitBars

func (s *Server) apiWaits(w http.ResponseWriter, r *http.Request) {
	rep, _, _, err := s.queryReport(r, "period", "from", "to", "source", "queue", "agent", "line", "tracking_number")
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep.WaitBars)
}

// ---- abandoned and blocked ----

// LostCaller is one number on the abandoned or blocked list: whom to call back.
type LostCaller struct {
	Caller        string               `json:"caller"` // the call-back number; "withheld" when none
	Name          string               `json:"name,omitempty"`
	Attempts      int                  `json:"attempts"`
	Outcomes      map[call.Outcome]int `json:"outcomes"`
	LastCall      string               `json:"last_call"`
	LastAt        time.Time            `json:"last_at"`
	LongestWaitMs int64                `json:"longest_wait_ms"`
	Source        string               `json:"source"`
	ReachedLater  bool                 `json:"reached_later"` // a later call from the number was connected
	ReachedAt     *time.Time           `json:"reached_at,omitempty"`
}

// LostList is GET /api/v1/abandoned and /api/v1/blocked.
type LostList struct {
	Kind      string       `json:"kind"` // abandoned or blocked
	Label     string       `json:"label"`
	Calls     int          `json:"calls"`
	Truncated bool         `json:"truncated"`
	Callers   []LostCaller `json:"callers"`
}

func (s *Server) lostList(r *http.Request, kind string) (*LostList, error) {
	q, err := newQuery(r.URL.Query(), "period", "from", "to", "source", "queue", "line", "tracking_number")
	if err != nil {
		return nil, err
	}
	p, label, err := q.period(s.eng.Location(), s.now())
	if err != nil {
		return nil, err
	}
	tn, err := q.number("tracking_number", s.cfg.Site.Region, false)
	if err != nil {
		return nil, err
	}
	cq := store.CallQuery{From: p.From, To: p.To, Source: q.str("source"), Queue: q.str("queue"), Line: q.str("line"),
		Tracking: tn, Desc: true, Limit: maxLostRows}
	if kind == "abandoned" {
		cq.Outcomes = []call.Outcome{call.Abandoned}
	} else {
		cq.Outcomes = call.Outcomes[1:]
	}
	out := &LostList{Kind: kind, Label: label, Callers: []LostCaller{}}
	idx := map[string]int{}
	for rec, err := range s.calls.EachCall(r.Context(), cq) {
		if err != nil {
			return nil, err
		}
		out.Calls++
		key := callerText(rec)
		i, ok := idx[key]
		if !ok {
			if len(out.Callers) >= maxLostGroups {
				out.Truncated = true
				continue
			}
			i = len(out.Callers)
			idx[key] = i
			out.Callers = append(out.Callers, LostCaller{Caller: key, Name: rec.CallerName, Outcomes: map[call.Outcome]int{},
				LastCall: rec.ID, LastAt: rec.Arrived, Source: rec.Attribution.Source})
		}
		c := &out.Callers[i]
		c.Attempts++
		c.Outcomes[rec.Outcome]++
		c.LongestWaitMs = max(c.LongestWaitMs, rec.Wait.Milliseconds())
	}
	out.Truncated = out.Truncated || out.Calls >= maxLostRows
	// Was each number reached later (a connected call after its last lost one, up to now)?
	end := s.now().Add(time.Minute)
	for i := range out.Callers {
		c := &out.Callers[i]
		if c.Caller == "withheld" || !c.LastAt.Before(end) {
			continue
		}
		recs, _, err := s.calls.QueryCalls(r.Context(), store.CallQuery{From: c.LastAt, To: end, Caller: c.Caller,
			Outcomes: []call.Outcome{call.Connected}, Limit: 1})
		if err != nil {
			return nil, err
		}
		if len(recs) > 0 {
			c.ReachedLater = true
			at := recs[0].Arrived
			c.ReachedAt = &at
		}
	}
	return out, nil
}

func lostKind(r *http.Request) string {
	if strings.HasSuffix(r.URL.Path, "/abandoned") {
		return "abandoned"
	}
	return "blocked"
}

func (s *Server) apiLost(w http.ResponseWriter, r *http.Request) {
	l, err := s.lostList(r, lostKind(r))
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, l)
}
