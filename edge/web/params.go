package web

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ringside/ringside/edge/call"
	"github.com/ringside/ringside/edge/metrics"
	"github.com/ringside/ringside/edge/phone"
	"github.com/ringside/ringside/edge/store"
)

// Page sizes of the call list.
const (
	defaultLimit = 50
	maxLimit     = 500
	// maxOffset bounds deep paging (OFFSET walks the skipped rows); narrow the period instead.
	maxOffset = 100_000
	// maxValueLen bounds any one query value.
	maxValueLen = 200
)

// periodNames are the named periods, besides from/to dates.
var periodNames = []string{"today", "yesterday", "last7", "last30", "month", "last_month", "year"}

// query reads a request's query string against the parameters an endpoint accepts; every
// problem is reported with the parameter's name.
type query struct {
	v       url.Values
	allowed map[string]bool
}

func newQuery(v url.Values, names ...string) (*query, error) {
	q := &query{v: v, allowed: map[string]bool{"token": true}}
	for _, n := range names {
		q.allowed[n] = true
	}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !q.allowed[k] {
			return nil, fmt.Errorf("%w: unknown parameter %q (this endpoint takes %s)", ErrBadParam, k, strings.Join(names, ", "))
		}
		if len(v[k]) > 1 {
			return nil, fmt.Errorf("%w: %s given %d times", ErrBadParam, k, len(v[k]))
		}
		if len(v.Get(k)) > maxValueLen {
			return nil, fmt.Errorf("%w: %s longer than %d characters", ErrBadParam, k, maxValueLen)
		}
	}
	return q, nil
}

func (q *query) str(name string) string { return strings.TrimSpace(q.v.Get(name)) }

// number reads a phone-number parameter the way the config's numbers are read (edge/phone: E.164,
// a number without a country code in the site's region), so caller=2125550100, 12125550100 and
// +1 (212) 555-0100 all find +12125550100. With ext, digits that are no phone number (an
// extension, which the records keep as sent) are taken as written. Anything else is ErrBadParam.
func (q *query) number(name, region string, ext bool) (string, error) {
	s := q.str(name)
	if s == "" {
		return "", nil
	}
	if n, err := phone.Normalize(s, region); err == nil {
		return n, nil
	}
	if ext && validCaller(s) {
		return s, nil
	}
	return "", fmt.Errorf("%w: %s: want a phone number like +12125550100 (or 2125550100 in the site's region %s), got %q",
		ErrBadParam, name, region, s)
}

func (q *query) intIn(name string, def, lo, hi int) (int, error) {
	s := q.str(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%w: %s: want a whole number from %d to %d, got %q", ErrBadParam, name, lo, hi, s)
	}
	return n, nil
}

// period reads period=<name> or from=YYYY-MM-DD&to=YYYY-MM-DD (local dates, both included);
// the default is today.
func (q *query) period(loc *time.Location, now time.Time) (metrics.Period, string, error) {
	name, from, to := q.str("period"), q.str("from"), q.str("to")
	if name != "" && (from != "" || to != "") {
		return metrics.Period{}, "", fmt.Errorf("%w: give period or from/to, not both", ErrBadParam)
	}
	if from != "" || to != "" {
		for _, d := range [][2]string{{"from", from}, {"to", to}} {
			if _, err := time.ParseInLocation(time.DateOnly, d[1], loc); d[1] != "" && err != nil {
				return metrics.Period{}, "", fmt.Errorf("%w: %s: want a date like 2026-03-01, got %q", ErrBadParam, d[0], d[1])
			}
		}
		if from == "" {
			from = to
		}
		if to == "" {
			to = from
		}
		p, err := metrics.DayRange(loc, from, to)
		if err != nil {
			return metrics.Period{}, "", fmt.Errorf("%w: from/to: %v", ErrBadParam, err)
		}
		return p, from + " – " + to, nil
	}
	if name == "" {
		name = "today"
	}
	t := now.In(loc)
	day := func(d time.Time) string { return d.Format(time.DateOnly) }
	var a, b time.Time
	switch name {
	case "today":
		a, b = t, t
	case "yesterday":
		a = t.AddDate(0, 0, -1)
		b = a
	case "last7":
		a, b = t.AddDate(0, 0, -6), t
	case "last30":
		a, b = t.AddDate(0, 0, -29), t
	case "month":
		p := metrics.Month(loc, t.Year(), t.Month())
		return p, t.Format("January 2006"), nil
	case "last_month":
		m := time.Date(t.Year(), t.Month()-1, 1, 12, 0, 0, 0, loc)
		return metrics.Month(loc, m.Year(), m.Month()), m.Format("January 2006"), nil
	case "year":
		a, b = t.AddDate(-1, 0, 1), t
	default:
		return metrics.Period{}, "", fmt.Errorf("%w: period: want one of %s, got %q", ErrBadParam, strings.Join(periodNames, ", "), name)
	}
	p, err := metrics.DayRange(loc, day(a), day(b))
	if err != nil {
		return metrics.Period{}, "", fmt.Errorf("%w: period: %v", ErrBadParam, err)
	}
	if day(a) == day(b) {
		return p, day(a), nil
	}
	return p, day(a) + " – " + day(b), nil
}

// filterParams are the slice parameters of the metrics endpoints.
var filterParams = []string{"period", "from", "to", "tracking_number", "source", "campaign", "medium", "queue", "agent", "line"}

// filter reads the slice parameters; region reads tracking_number (see number).
func (q *query) filter(region string) (metrics.Filter, error) {
	tn, err := q.number("tracking_number", region, false)
	if err != nil {
		return metrics.Filter{}, err
	}
	return metrics.Filter{TrackingNumber: tn, Source: q.str("source"), Campaign: q.str("campaign"),
		Medium: q.str("medium"), Queue: q.str("queue"), Agent: q.str("agent"), Line: q.str("line")}, nil
}

// callParams are the call list's parameters.
var callParams = []string{"period", "from", "to", "source", "outcome", "caller", "queue", "agent", "line", "tracking_number", "sort", "order", "limit", "offset"}

// csvParams are the CSV export's parameters: the call list's without the page.
var csvParams = callParams[:len(callParams)-2]

var sortKeys = []string{"arrived", "wait", "talk", "outcome", "source"}

// callQuery reads the call list's filters, sort and page; numbers are read in region.
func (q *query) callQuery(loc *time.Location, region string, now time.Time, paged bool) (store.CallQuery, error) {
	p, _, err := q.period(loc, now)
	if err != nil {
		return store.CallQuery{}, err
	}
	cq := store.CallQuery{From: p.From, To: p.To, Source: q.str("source"),
		Queue: q.str("queue"), Agent: q.str("agent"), Line: q.str("line")}
	if cq.Caller, err = q.number("caller", region, true); err != nil {
		return cq, err
	}
	if cq.Tracking, err = q.number("tracking_number", region, false); err != nil {
		return cq, err
	}
	if o := q.str("outcome"); o != "" {
		outs, err := parseOutcomes(o)
		if err != nil {
			return cq, err
		}
		cq.Outcomes = outs
	}
	cq.Sort = q.str("sort")
	if cq.Sort != "" && !slices.Contains(sortKeys, cq.Sort) {
		return cq, fmt.Errorf("%w: sort: want one of %s, got %q", ErrBadParam, strings.Join(sortKeys, ", "), cq.Sort)
	}
	switch q.str("order") {
	case "", "desc":
		cq.Desc = true
	case "asc":
	default:
		return cq, fmt.Errorf("%w: order: want asc or desc, got %q", ErrBadParam, q.str("order"))
	}
	if paged {
		if cq.Limit, err = q.intIn("limit", defaultLimit, 1, maxLimit); err != nil {
			return cq, err
		}
		if cq.Offset, err = q.intIn("offset", 0, 0, maxOffset); err != nil {
			return cq, err
		}
	}
	return cq, nil
}

// parseOutcomes reads a comma-separated list of outcomes; "blocked" stands for every outcome but
// connected.
func parseOutcomes(s string) ([]call.Outcome, error) {
	var out []call.Outcome
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "blocked" {
			out = append(out, call.Outcomes[1:]...)
			continue
		}
		o := call.Outcome(part)
		if !o.Valid() {
			names := make([]string, len(call.Outcomes))
			for i, v := range call.Outcomes {
				names[i] = string(v)
			}
			return nil, fmt.Errorf("%w: outcome: unknown outcome %q (want blocked or any of %s)", ErrBadParam, part, strings.Join(names, ", "))
		}
		out = append(out, o)
	}
	return out, nil
}

// validCaller accepts what a caller number in a record looks like: E.164 or an extension.
func validCaller(s string) bool {
	if len(s) > 32 {
		return false
	}
	for i, c := range s {
		if !(c >= '0' && c <= '9' || c == '+' && i == 0) {
			return false
		}
	}
	return s != "+"
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// safeNext keeps a post-login redirect on this site.
func safeNext(s string) string {
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.Contains(s, "\\") {
		return "/wallboard"
	}
	return s
}

// newQueryFromString parses a raw query string, accepting any parameter.
func newQueryFromString(raw string) (*query, error) {
	v, err := url.ParseQuery(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: query string: %v", ErrBadParam, err)
	}
	return &query{v: v}, nil
}
