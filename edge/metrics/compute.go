package metrics

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ringside/ringside/edge/call"
)

// outcome indices in a fact (call.Outcomes order, + 1).
const (
	oConnected = 1 + iota
	oAbandoned
)

type rowKey [3]uint32 // source, campaign, medium

type rowAcc struct {
	volume, connected, leads int
	revenue                  int64
	perMinute, billedMinutes float64
	byNumber                 map[uint32]int
}

// isLead applies the staff decision or else the lead rule (doc.go, "Lead").
func isLead(f *fact, rule leadRule) (lead, byStaff bool) {
	if f.flags&flagLeadSet != 0 {
		return f.flags&flagLeadValue != 0, true
	}
	if !rule.enabled || f.outcome != oConnected || f.talkMs < rule.minTalkMs {
		return false, false
	}
	if rule.firstTimeOnly && (f.flags&flagFirstTime == 0 || f.flags&flagWithheld != 0) {
		return false, false
	}
	return true, false
}

type leadRule struct {
	enabled, firstTimeOnly bool
	minTalkMs              uint32
}

// billedMinutes rounds a billed duration up to the billing increment (doc.go, "Cost").
func billedMinutes(ms uint32, incMs int64) float64 {
	if ms == 0 {
		return 0
	}
	b := int64(ms)
	if incMs > 0 {
		b = (b + incMs - 1) / incMs * incMs
	}
	return float64(b) / 60000
}

func compute(s *snapshot, p Period, f Filter) *Report {
	m := s.cfg.Metrics
	rule := leadRule{minTalkMs: uint32(min(m.LeadRule.MinTalk.D().Milliseconds(), math.MaxUint32))}
	rule.enabled = m.LeadRule.Enabled == nil || *m.LeadRule.Enabled
	rule.firstTimeOnly = m.LeadRule.FirstTimeOnly == nil || *m.LeadRule.FirstTimeOnly
	slMs := uint32(int64(m.ServiceLevelSeconds) * 1000)
	shortMs := uint32(m.ShortAbandon.D().Milliseconds())
	incMs := m.BillingIncrement.D().Milliseconds()

	// Per-minute rate of each tracking number, by dictionary index.
	rates := make([]float64, len(s.names[dimTrackingNumber]))
	numIndex := map[string]int{}
	for i, n := range s.names[dimTrackingNumber] {
		numIndex[n] = i
	}
	for _, tn := range s.cfg.TrackingNumbers {
		if i, ok := numIndex[tn.Number]; ok {
			rates[i] = float64(tn.PerMinute)
		}
	}

	r := &Report{
		Period: p, Filter: f,
		Outcomes:            map[call.Outcome]int{},
		WaitByOutcome:       map[call.Outcome]Stats{},
		BlockedTarget:       m.BlockedTarget,
		ServiceLevelTarget:  m.ServiceLevelTarget,
		ServiceLevelSeconds: time.Duration(m.ServiceLevelSeconds) * time.Second,
	}
	from, to := p.From.UnixMilli(), p.To.UnixMilli()
	var (
		outcomes                        [8]int
		waits                           [8][]uint32
		talks                           []uint32
		holdMs, talkMs                  int64
		answered, slWithin, slAbandoned int
		convertedLeads                  int
		allBySource                     = map[uint32]int{}
		allByNumber                     = map[uint32]int{}
		rows                            = map[rowKey]*rowAcc{}
	)
	for i, day := range s.days {
		count := 0
		for j := range day {
			c := &day[j]
			if c.arrivedMs < from || c.arrivedMs >= to {
				continue
			}
			if c.outcome != 0 {
				allBySource[c.dims[dimSource]]++
				allByNumber[c.dims[dimTrackingNumber]]++
			}
			match := true
			for d := range nDims {
				if s.dims[d] != -1 && int64(c.dims[d]) != s.dims[d] {
					match = false
					break
				}
			}
			if !match {
				continue
			}
			if c.outcome == 0 {
				r.Live++
				continue
			}
			count++
			r.Heatmap[c.weekday][c.hour]++
			r.ByHour[c.hour]++
			outcomes[c.outcome]++
			waits[c.outcome] = append(waits[c.outcome], c.waitMs)
			if c.outcome == oConnected {
				talks = append(talks, c.talkMs)
				talkMs += int64(c.talkMs)
				if c.waitMs <= slMs {
					slWithin++
				}
			}
			if c.outcome == oAbandoned {
				if c.waitMs < shortMs {
					r.ShortAbandons++
				} else {
					slAbandoned++
				}
			}
			holdMs += int64(c.holdMs)
			r.HoldCount += int(c.holdCount)
			if c.holdCount > 0 {
				r.HeldCalls++
			}
			if c.flags&flagAnswered != 0 {
				answered++
			}
			switch {
			case c.flags&flagWithheld != 0:
				r.Withheld++
			case c.flags&flagFirstTime != 0:
				r.FirstTime++
			default:
				r.Repeat++
			}
			lead, byStaff := isLead(c, rule)
			converted := c.flags&flagConverted != 0
			if lead {
				r.Leads++
				if byStaff {
					r.LeadsByStaff++
				} else {
					r.LeadsByRule++
				}
				if converted {
					convertedLeads++
				}
			}
			if converted {
				r.Converted++
			}
			r.RevenueCents += c.revenueCents
			bm := billedMinutes(c.billedMs, incMs)
			pm := rates[c.dims[dimTrackingNumber]] * bm
			r.Cost.BilledMinutes += bm
			r.Cost.PerMinute += pm

			k := rowKey{c.dims[dimSource], c.dims[dimCampaign], c.dims[dimMedium]}
			row := rows[k]
			if row == nil {
				row = &rowAcc{byNumber: map[uint32]int{}}
				rows[k] = row
			}
			row.volume++
			if c.outcome == oConnected {
				row.connected++
			}
			if lead {
				row.leads++
			}
			row.revenue += c.revenueCents
			row.perMinute += pm
			row.billedMinutes += bm
			row.byNumber[c.dims[dimTrackingNumber]]++
		}
		y, mo, d := civil(s.first + int32(i))
		r.ByDay = append(r.ByDay, DayCount{Date: time.Date(y, mo, d, 0, 0, 0, 0, time.UTC).Format(dateLayout), Calls: count})
	}

	// Counts and ratios.
	for i, o := range call.Outcomes {
		r.Outcomes[o] = outcomes[i+1]
		r.Volume += outcomes[i+1]
	}
	attempts := float64(r.Volume)
	r.Blocked = Ratio{attempts - float64(outcomes[oConnected]), attempts}
	r.Busy = Ratio{float64(r.Outcomes[call.Busy]), attempts}
	r.Completion = Ratio{float64(answered), attempts}
	r.Abandon = Ratio{float64(outcomes[oAbandoned]), attempts}
	r.AbandonExShort = Ratio{float64(outcomes[oAbandoned] - r.ShortAbandons), attempts - float64(r.ShortAbandons)}
	r.ServiceLevel = Ratio{float64(slWithin), float64(outcomes[oConnected] + slAbandoned)}
	r.LeadConversion = Ratio{float64(convertedLeads), float64(r.Leads)}
	r.RevenuePerCall = Ratio{float64(r.RevenueCents), float64(outcomes[oConnected])}
	r.HoldTotal = time.Duration(holdMs) * time.Millisecond
	r.TalkTotal = time.Duration(talkMs) * time.Millisecond

	// Durations.
	var buf []uint32
	var other []uint32
	for i, o := range call.Outcomes {
		if i == 0 {
			r.Wait, buf = stats(waits[1], buf)
			continue
		}
		other = append(other, waits[i+1]...)
		r.WaitByOutcome[o], buf = stats(waits[i+1], buf)
	}
	r.WaitOther, buf = stats(other, buf)
	r.Talk, _ = stats(talks, buf)

	// Cost (doc.go, "Cost"): fixed costs are shared among the attempts of the period, so each
	// source row carries its share and the slice's cost is the sum of its rows.
	frac := p.monthFraction(s.loc)
	marketing := map[string]float64{} // source -> cost over P
	for _, mc := range s.cfg.MarketingCosts {
		marketing[mc.Source] += float64(mc.Monthly) * frac
	}
	fees := map[string]float64{} // number -> fee over P
	for _, tn := range s.cfg.TrackingNumbers {
		fees[tn.Number] += float64(tn.MonthlyFee) * frac
	}
	out := map[[3]string]*SourceRow{}
	get := func(k [3]string) *SourceRow {
		row := out[k]
		if row == nil {
			row = &SourceRow{Source: k[0], Campaign: k[1], Medium: k[2]}
			out[k] = row
		}
		return row
	}
	for k, acc := range rows {
		row := get([3]string{s.names[dimSource][k[0]], s.names[dimCampaign][k[1]], s.names[dimMedium][k[2]]})
		row.Volume, row.Connected, row.Leads, row.RevenueCents = acc.volume, acc.connected, acc.leads, acc.revenue
		row.Blocked = Ratio{float64(acc.volume - acc.connected), float64(acc.volume)}
		row.Cost.PerMinute, row.Cost.BilledMinutes = acc.perMinute, acc.billedMinutes
		row.Cost.Marketing = marketing[row.Source] * float64(acc.volume) / float64(allBySource[k[0]])
		for n, c := range acc.byNumber {
			row.Cost.NumberFees += fees[s.names[dimTrackingNumber][n]] * float64(c) / float64(allByNumber[n])
		}
	}
	if f.sourceOnly() {
		// Fixed costs with no attempt in P to share them go to the source's own slices.
		srcIndex := map[string]uint32{}
		for i, n := range s.names[dimSource] {
			srcIndex[n] = uint32(i)
		}
		for src, cost := range marketing {
			if i, ok := srcIndex[src]; (!ok || allBySource[i] == 0) && (f.Source == "" || f.Source == src) {
				get([3]string{src, "", ""}).Cost.Marketing += cost
			}
		}
		for _, tn := range s.cfg.TrackingNumbers {
			if i, ok := numIndex[tn.Number]; (!ok || allByNumber[uint32(i)] == 0) && (f.Source == "" || f.Source == tn.Source) {
				get([3]string{tn.Source, tn.Campaign, tn.Medium}).Cost.NumberFees += float64(tn.MonthlyFee) * frac
			}
		}
	}
	for _, row := range out {
		row.CostPerCall = Ratio{row.Cost.Total(), float64(row.Volume)}
		row.CostPerLead = Ratio{row.Cost.Total(), float64(row.Leads)}
		r.Sources = append(r.Sources, *row)
	}
	slices.SortFunc(r.Sources, func(a, b SourceRow) int {
		return strings.Compare(a.Source+"\x00"+a.Campaign+"\x00"+a.Medium, b.Source+"\x00"+b.Campaign+"\x00"+b.Medium)
	})
	var perMinute, billed float64 = r.Cost.PerMinute, r.Cost.BilledMinutes
	r.Cost = Cost{}
	for _, row := range r.Sources {
		r.Cost.Marketing += row.Cost.Marketing
		r.Cost.NumberFees += row.Cost.NumberFees
	}
	r.Cost.PerMinute, r.Cost.BilledMinutes = perMinute, billed
	r.CostPerCall = Ratio{r.Cost.Total(), attempts}
	r.CostPerLead = Ratio{r.Cost.Total(), float64(r.Leads)}
	return r
}

// stats summarises durations in milliseconds (doc.go, "Percentiles"). It sorts v in place and
// returns the scratch buffer for reuse.
func stats(v, buf []uint32) (Stats, []uint32) {
	n := len(v)
	if n == 0 {
		return Stats{}, buf
	}
	buf = radixSort(v, buf)
	var sum uint64
	for _, x := range v {
		sum += uint64(x)
	}
	ms := func(x float64) time.Duration { return time.Duration(math.Round(x * float64(time.Millisecond))) }
	s := Stats{N: n, Mean: ms(float64(sum) / float64(n)), Max: ms(float64(v[n-1]))}
	if n%2 == 1 {
		s.Median = ms(float64(v[n/2]))
	} else {
		s.Median = ms((float64(v[n/2-1]) + float64(v[n/2])) / 2)
	}
	s.P90 = ms(float64(v[(9*n+9)/10-1])) // nearest rank: the ceil(0.9 n)-th smallest
	return s, buf
}

// radixSort sorts v ascending (LSD, bytes), skipping the passes whose byte is zero everywhere.
func radixSort(v, buf []uint32) []uint32 {
	if cap(buf) < len(v) {
		buf = make([]uint32, len(v))
	}
	buf = buf[:len(v)]
	var hi uint32
	for _, x := range v {
		hi |= x
	}
	src, dst := v, buf
	for shift := uint(0); shift < 32; shift += 8 {
		if (hi>>shift)&0xff == 0 {
			continue
		}
		var count [256]int
		for _, x := range src {
			count[(x>>shift)&0xff]++
		}
		pos := 0
		for i, c := range count {
			count[i] = pos
			pos += c
		}
		for _, x := range src {
			b := (x >> shift) & 0xff
			dst[count[b]] = x
			count[b]++
		}
		src, dst = dst, src
	}
	if &src[0] != &v[0] {
		copy(v, src)
	}
	return buf
}
