package metrics

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/ringside/ringside/edge/call"
)

// Ratio is a quotient kept as its two terms, so that an empty set reports "no value" instead of a
// division by zero (and no NaN ever reaches a screen or a message).
type Ratio struct {
	Num float64 `json:"num"`
	Den float64 `json:"den"`
}

// Value is Num/Den; ok is false when Den is 0.
func (r Ratio) Value() (v float64, ok bool) {
	if r.Den == 0 {
		return 0, false
	}
	return r.Num / r.Den, true
}

// Percent is Num/Den x 100; ok is false when Den is 0.
func (r Ratio) Percent() (v float64, ok bool) {
	v, ok = r.Value()
	return v * 100, ok
}

// MarshalJSON writes {"num":..,"den":..,"value":x|null}.
func (r Ratio) MarshalJSON() ([]byte, error) {
	var v *float64
	if x, ok := r.Value(); ok {
		v = &x
	}
	return json.Marshal(struct {
		Num   float64  `json:"num"`
		Den   float64  `json:"den"`
		Value *float64 `json:"value"`
	}{r.Num, r.Den, v})
}

// Stats summarises a set of durations (doc.go, "Percentiles"). With N == 0 every other field is 0
// and means "no value".
type Stats struct {
	N      int           `json:"n"`
	Mean   time.Duration `json:"mean_ns"`
	Median time.Duration `json:"median_ns"`
	P90    time.Duration `json:"p90_ns"`
	Max    time.Duration `json:"max_ns"`
}

// DayCount is the call volume of one local date.
type DayCount struct {
	Date  string `json:"date"` // 2006-01-02, site-local
	Calls int    `json:"calls"`
}

// Cost is the cost of a slice over the period, in cents (fractional: prorated amounts are exact
// fractions of a cent until they are displayed).
type Cost struct {
	Marketing     float64 `json:"marketing_cents"`
	NumberFees    float64 `json:"number_fees_cents"`
	PerMinute     float64 `json:"per_minute_cents"`
	BilledMinutes float64 `json:"billed_minutes"`
}

// Total is marketing + number fees + per-minute charges.
func (c Cost) Total() float64 { return c.Marketing + c.NumberFees + c.PerMinute }

// SourceRow is one line of the "Call source" table: the calls of one source/campaign/medium.
type SourceRow struct {
	Source       string `json:"source"`
	Campaign     string `json:"campaign"`
	Medium       string `json:"medium"`
	Volume       int    `json:"volume"`
	Connected    int    `json:"connected"`
	Blocked      Ratio  `json:"blocked"` // x100 for the percentage
	Leads        int    `json:"leads"`
	RevenueCents int64  `json:"revenue_cents"`
	Cost         Cost   `json:"cost"`
	CostPerCall  Ratio  `json:"cost_per_call"`
	CostPerLead  Ratio  `json:"cost_per_lead"`
}

// Report is the full KPI set of one slice over one period (doc.go gives every formula).
type Report struct {
	Period Period `json:"period"`
	Filter Filter `json:"filter"`

	Volume int `json:"volume"` // finished attempts arrived in P
	Live   int `json:"live"`   // attempts in P without an outcome yet; in no other figure

	Heatmap [7][24]int `json:"heatmap"` // [local weekday, Sunday = 0][local hour]
	ByHour  [24]int    `json:"by_hour"`
	ByDay   []DayCount `json:"by_day"`

	Outcomes map[call.Outcome]int `json:"outcomes"`

	Wait          Stats                  `json:"wait"` // connected calls; ASA = Wait.Mean
	WaitByOutcome map[call.Outcome]Stats `json:"wait_by_outcome"`
	WaitOther     Stats                  `json:"wait_other"` // every outcome but connected
	WaitBars      WaitBars               `json:"wait_bars"`  // the distribution of every finished call's wait

	HoldTotal time.Duration `json:"hold_total_ns"`
	HoldCount int           `json:"hold_count"`
	HeldCalls int           `json:"held_calls"`

	TalkTotal time.Duration `json:"talk_total_ns"`
	Talk      Stats         `json:"talk"` // connected calls; ACD = Talk.Mean

	Blocked        Ratio   `json:"blocked"`
	BlockedTarget  float64 `json:"blocked_target_pct"`
	Busy           Ratio   `json:"busy"`
	Completion     Ratio   `json:"completion"`
	Abandon        Ratio   `json:"abandon"`
	AbandonExShort Ratio   `json:"abandon_ex_short"`
	ShortAbandons  int     `json:"short_abandons"`

	ServiceLevel        Ratio         `json:"service_level"`
	ServiceLevelTarget  float64       `json:"service_level_target_pct"`
	ServiceLevelSeconds time.Duration `json:"service_level_ns"`

	FirstTime int `json:"first_time"`
	Repeat    int `json:"repeat"`
	Withheld  int `json:"withheld"`

	Leads          int   `json:"leads"`
	LeadsByStaff   int   `json:"leads_by_staff"`
	LeadsByRule    int   `json:"leads_by_rule"`
	Converted      int   `json:"converted"`
	LeadConversion Ratio `json:"lead_conversion"`

	RevenueCents   int64 `json:"revenue_cents"`
	RevenuePerCall Ratio `json:"revenue_per_call"` // per successful (connected) call

	Cost        Cost  `json:"cost"`
	CostPerCall Ratio `json:"cost_per_call"`
	CostPerLead Ratio `json:"cost_per_lead"`

	Sources []SourceRow `json:"sources"`
}

// ASA is the average speed of answer: the mean wait of connected calls; ok is false without any.
func (r *Report) ASA() (time.Duration, bool) { return r.Wait.Mean, r.Wait.N > 0 }

// ACD is the average call duration: the mean talk time of connected calls.
func (r *Report) ACD() (time.Duration, bool) { return r.Talk.Mean, r.Talk.N > 0 }

// BlockedMet reports whether the blocked call % is at or under its target; ok is false without attempts.
func (r *Report) BlockedMet() (met, ok bool) {
	v, ok := r.Blocked.Percent()
	return ok && v <= r.BlockedTarget, ok
}

// ServiceLevelMet reports whether the service level reaches its target.
func (r *Report) ServiceLevelMet() (met, ok bool) {
	v, ok := r.ServiceLevel.Percent()
	return ok && v >= r.ServiceLevelTarget, ok
}

// Figure is one named number of a report; Null means "no value" (an empty set).
type Figure struct {
	Name  string
	Value float64
	Null  bool
}

// String writes the value as the fixture's expected.csv does: "null" or a decimal.
func (f Figure) String() string {
	if f.Null {
		return "null"
	}
	return strconv.FormatFloat(f.Value, 'f', -1, 64)
}

var weekdayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// Figures flattens the report into named numbers, in a fixed order: the form the fixture test,
// CSV export and flat telemetry use. Durations are in milliseconds, money in cents, percentages
// in percent. The names are listed in doc.go ("Figure names").
func (r *Report) Figures() []Figure {
	var fs []Figure
	num := func(name string, v float64) { fs = append(fs, Figure{Name: name, Value: v}) }
	opt := func(name string, v float64, ok bool) { fs = append(fs, Figure{Name: name, Value: v, Null: !ok}) }
	bool01 := func(name string, b, ok bool) {
		v := 0.0
		if b {
			v = 1
		}
		opt(name, v, ok)
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	stats := func(prefix string, s Stats) {
		num(prefix+".n", float64(s.N))
		ok := s.N > 0
		opt(prefix+".mean_ms", ms(s.Mean), ok)
		opt(prefix+".median_ms", ms(s.Median), ok)
		opt(prefix+".p90_ms", ms(s.P90), ok)
		opt(prefix+".max_ms", ms(s.Max), ok)
	}
	pct := func(prefix string, q Ratio) {
		num(prefix+".num", q.Num)
		num(prefix+".den", q.Den)
		v, ok := q.Percent()
		opt(prefix+".pct", v, ok)
	}
	per := func(prefix string, q Ratio) {
		num(prefix+".num", q.Num)
		num(prefix+".den", q.Den)
		v, ok := q.Value()
		opt(prefix+".value", v, ok)
	}

	num("volume", float64(r.Volume))
	num("live", float64(r.Live))
	for wd := range 7 {
		for h := range 24 {
			num(fmt.Sprintf("heatmap.%s.%02d", weekdayNames[wd], h), float64(r.Heatmap[wd][h]))
		}
	}
	for h := range 24 {
		num(fmt.Sprintf("by_hour.%02d", h), float64(r.ByHour[h]))
	}
	for _, d := range r.ByDay {
		num("by_day."+d.Date, float64(d.Calls))
	}
	for _, o := range call.Outcomes {
		num("outcome."+string(o), float64(r.Outcomes[o]))
	}
	stats("wait.connected", r.Wait)
	asa, ok := r.ASA()
	opt("asa_ms", ms(asa), ok)
	for _, o := range call.Outcomes[1:] {
		stats("wait."+string(o), r.WaitByOutcome[o])
	}
	stats("wait.not_connected", r.WaitOther)
	num("hold.total_ms", ms(r.HoldTotal))
	num("hold.count", float64(r.HoldCount))
	num("hold.calls", float64(r.HeldCalls))
	num("talk.total_ms", ms(r.TalkTotal))
	stats("talk", r.Talk)
	acd, ok := r.ACD()
	opt("acd_ms", ms(acd), ok)
	pct("blocked", r.Blocked)
	num("blocked.target_pct", r.BlockedTarget)
	met, ok := r.BlockedMet()
	bool01("blocked.met", met, ok)
	pct("busy", r.Busy)
	pct("completion", r.Completion)
	pct("abandon", r.Abandon)
	pct("abandon_ex_short", r.AbandonExShort)
	num("abandon.short", float64(r.ShortAbandons))
	pct("service_level", r.ServiceLevel)
	num("service_level.target_pct", r.ServiceLevelTarget)
	num("service_level.seconds", r.ServiceLevelSeconds.Seconds())
	met, ok = r.ServiceLevelMet()
	bool01("service_level.met", met, ok)
	num("callers.first_time", float64(r.FirstTime))
	num("callers.repeat", float64(r.Repeat))
	num("callers.withheld", float64(r.Withheld))
	num("leads.total", float64(r.Leads))
	num("leads.staff", float64(r.LeadsByStaff))
	num("leads.rule", float64(r.LeadsByRule))
	num("leads.converted", float64(r.Converted))
	pct("lead_conversion", r.LeadConversion)
	num("revenue.cents", float64(r.RevenueCents))
	per("revenue_per_call", r.RevenuePerCall)
	costs := func(prefix string, c Cost) {
		num(prefix+".marketing_cents", c.Marketing)
		num(prefix+".number_fees_cents", c.NumberFees)
		num(prefix+".per_minute_cents", c.PerMinute)
		num(prefix+".billed_minutes", c.BilledMinutes)
		num(prefix+".total_cents", c.Total())
	}
	costs("cost", r.Cost)
	per("cost_per_call", r.CostPerCall)
	per("cost_per_lead", r.CostPerLead)
	for _, s := range r.Sources {
		p := "source." + s.Source + "|" + s.Campaign + "|" + s.Medium
		num(p+".volume", float64(s.Volume))
		num(p+".connected", float64(s.Connected))
		pct(p+".blocked", s.Blocked)
		num(p+".leads", float64(s.Leads))
		num(p+".revenue_cents", float64(s.RevenueCents))
		costs(p+".cost", s.Cost)
		per(p+".cost_per_call", s.CostPerCall)
		per(p+".cost_per_lead", s.CostPerLead)
	}
	return fs
}
