package metrics

import (
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/ringside/ringside/edge/call"
)

// outcome indices in a fact (call.Outcomes order, + 1).
const (
	oConnected = 1 + iota
	oAbandoned
)

// knobs are the config values a scan applies.
type knobs struct {
	leadEnabled, leadFirstTimeOnly bool
	leadMinTalkMs                  uint32
	slMs, shortMs                  uint32
	incMs                          uint32 // billing increment; 0: bill to the millisecond
	invInc                         float64
}

// billingUnits is ceil(ms / incMs), exactly, without a division per call: a float estimate
// corrected by one step either way.
func (k *knobs) billingUnits(ms uint32) int64 {
	if k.incMs == 0 {
		return int64(ms)
	}
	x := uint64(ms) + uint64(k.incMs) - 1
	q := uint64(float64(x) * k.invInc)
	inc := uint64(k.incMs)
	if q*inc > x {
		q--
	} else if (q+1)*inc <= x {
		q++
	}
	return int64(q)
}

// isLead applies the staff decision or else the lead rule (doc.go, "Lead").
func (k *knobs) isLead(f *fact) (lead, byStaff bool) {
	if f.flags&flagLeadSet != 0 {
		return f.flags&flagLeadValue != 0, true
	}
	if !k.leadEnabled || f.outcome != oConnected || f.talkMs < k.leadMinTalkMs {
		return false, false
	}
	if k.leadFirstTimeOnly && (f.flags&flagFirstTime == 0 || f.flags&flagWithheld != 0) {
		return false, false
	}
	return true, false
}

// rowAcc accumulates one source-table row (source/campaign/medium).
type rowAcc struct {
	volume, connected, leads int
	revenue                  int64
	byNumber                 []int   // attempts by tracking-number index
	unitsByNumber            []int64 // billing units by tracking-number index
}

// acc accumulates the facts of one local day for one slice; the accs of several days add up.
// Its value lists are sorted, so percentiles over many days need no merge (see kth).
type acc struct {
	count                           int // finished attempts of the slice
	live                            int
	heat                            [7][24]int
	outcomes                        [8]int
	waits                           [8][]uint32 // by outcome, ascending
	waitSum                         [8]uint64
	talks                           []uint32 // connected calls, ascending
	holdMs, talkMs                  int64
	holdCount, heldCalls            int
	answered, slWithin, slAbandoned int
	shortAbandons                   int
	firstTime, repeat, withheld     int
	leads, leadsStaff, leadsRule    int
	converted, convertedLeads       int
	revenue                         int64
	allBySource, allByNumber        []int // every finished attempt, whatever the slice (cost sharing)
	rows                            []*rowAcc
}

// noCalls is the partial result of a day without calls. It is shared, so never written.
var noCalls acc

// bytes is what a kept partial result holds in memory, as allocated.
func (a *acc) bytes() int64 {
	n := int64(unsafe.Sizeof(*a))
	for _, w := range a.waits {
		n += int64(cap(w)) * 4
	}
	n += int64(cap(a.talks))*4 + int64(cap(a.allBySource)+cap(a.allByNumber)+cap(a.rows))*8
	for _, r := range a.rows {
		if r != nil {
			n += int64(unsafe.Sizeof(*r)) + int64(cap(r.byNumber)+cap(r.unitsByNumber))*8
		}
	}
	return n
}

// scan accumulates the facts of one day that arrived in [from, to) and match the filter.
// scratch is the caller's sort buffer.
func (a *acc) scan(s *snapshot, k *knobs, active []int, d *dayEntry, from, to int64, scratch *[]uint32) {
	day := d.facts
	if len(active) == 0 { // the lists will hold every fact of their outcome: size them once
		for o, n := range d.outcomes {
			a.waits[o] = make([]uint32, 0, n)
		}
		a.talks = make([]uint32, 0, d.outcomes[oConnected])
	}
	nNumbers := len(s.names[dimTrackingNumber])
	a.allBySource = make([]int, len(s.names[dimSource]))
	a.allByNumber = make([]int, nNumbers)
	a.rows = make([]*rowAcc, len(s.attrs))
	// Only the first and last day of a period can hold calls outside it.
	edge := len(day) > 0 && (day[0].arrivedMs < from || day[len(day)-1].arrivedMs >= to)
	for j := range day {
		c := &day[j]
		if edge && (c.arrivedMs < from || c.arrivedMs >= to) {
			continue
		}
		if c.outcome != 0 {
			a.allBySource[c.dims[dimSource]]++
			a.allByNumber[c.dims[dimTrackingNumber]]++
		}
		match := true
		for _, d := range active {
			if int64(c.dims[d]) != s.dims[d] {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		if c.outcome == 0 {
			a.live++
			continue
		}
		a.count++
		a.heat[c.weekday][c.hour]++
		a.outcomes[c.outcome]++
		a.waits[c.outcome] = append(a.waits[c.outcome], c.waitMs)
		a.waitSum[c.outcome] += uint64(c.waitMs)
		connected := c.outcome == oConnected
		if connected {
			a.talks = append(a.talks, c.talkMs)
			a.talkMs += int64(c.talkMs)
			if c.waitMs <= k.slMs {
				a.slWithin++
			}
		} else if c.outcome == oAbandoned {
			if c.waitMs < k.shortMs {
				a.shortAbandons++
			} else {
				a.slAbandoned++
			}
		}
		if c.holdCount > 0 {
			a.holdMs += int64(c.holdMs)
			a.holdCount += int(c.holdCount)
			a.heldCalls++
		}
		switch {
		case c.flags&flagWithheld != 0:
			a.withheld++
		case c.flags&flagFirstTime != 0:
			a.firstTime++
		default:
			a.repeat++
		}
		lead, byStaff := k.isLead(c)
		converted := c.flags&flagConverted != 0
		if lead {
			a.leads++
			if byStaff {
				a.leadsStaff++
			} else {
				a.leadsRule++
			}
			if converted {
				a.convertedLeads++
			}
		}
		if converted {
			a.converted++
		}
		a.revenue += c.revenueCents

		row := a.rows[c.attr]
		if row == nil {
			row = &rowAcc{byNumber: make([]int, nNumbers), unitsByNumber: make([]int64, nNumbers)}
			a.rows[c.attr] = row
		}
		row.volume++
		if connected {
			row.connected++
		}
		if lead {
			row.leads++
		}
		row.revenue += c.revenueCents
		tn := c.dims[dimTrackingNumber]
		row.byNumber[tn]++
		if c.flags&flagAnswered != 0 {
			a.answered++
			if c.billedMs > 0 {
				row.unitsByNumber[tn] += k.billingUnits(c.billedMs)
			}
		}
	}
	for o := range a.waits {
		sortValues(a.waits[o], scratch)
	}
	sortValues(a.talks, scratch)
}

// total is the sum of many days' accs: counters add up, value lists are gathered.
type total struct {
	acc
	waitLists [8][][]uint32
	talkLists [][]uint32
}

// add adds the counters of b (which it does not change) and gathers its lists.
func (t *total) add(b *acc) {
	a := &t.acc
	a.count += b.count
	a.live += b.live
	for w := range a.heat {
		for h := range a.heat[w] {
			a.heat[w][h] += b.heat[w][h]
		}
	}
	for o := range a.outcomes {
		a.outcomes[o] += b.outcomes[o]
		a.waitSum[o] += b.waitSum[o]
		if len(b.waits[o]) > 0 {
			t.waitLists[o] = append(t.waitLists[o], b.waits[o])
		}
	}
	if len(b.talks) > 0 {
		t.talkLists = append(t.talkLists, b.talks)
	}
	a.holdMs += b.holdMs
	a.talkMs += b.talkMs
	a.holdCount += b.holdCount
	a.heldCalls += b.heldCalls
	a.answered += b.answered
	a.slWithin += b.slWithin
	a.slAbandoned += b.slAbandoned
	a.shortAbandons += b.shortAbandons
	a.firstTime += b.firstTime
	a.repeat += b.repeat
	a.withheld += b.withheld
	a.leads += b.leads
	a.leadsStaff += b.leadsStaff
	a.leadsRule += b.leadsRule
	a.converted += b.converted
	a.convertedLeads += b.convertedLeads
	a.revenue += b.revenue
	// b's index spaces may be shorter than a's: the dictionaries only grow.
	for i, v := range b.allBySource {
		a.allBySource[i] += v
	}
	for i, v := range b.allByNumber {
		a.allByNumber[i] += v
	}
	for i, rb := range b.rows {
		if rb == nil {
			continue
		}
		ra := a.rows[i]
		if ra == nil {
			ra = &rowAcc{byNumber: make([]int, len(a.allByNumber)), unitsByNumber: make([]int64, len(a.allByNumber))}
			a.rows[i] = ra
		}
		ra.volume += rb.volume
		ra.connected += rb.connected
		ra.leads += rb.leads
		ra.revenue += rb.revenue
		for n, v := range rb.byNumber {
			ra.byNumber[n] += v
			ra.unitsByNumber[n] += rb.unitsByNumber[n]
		}
	}
}

// parallelMinFacts: below this many facts to scan, one goroutine is faster than several.
const parallelMinFacts = 50_000

func compute(s *snapshot, p Period, f Filter) *Report {
	m := s.cfg.Metrics
	k := &knobs{
		leadEnabled:       m.LeadRule.Enabled == nil || *m.LeadRule.Enabled,
		leadFirstTimeOnly: m.LeadRule.FirstTimeOnly == nil || *m.LeadRule.FirstTimeOnly,
		leadMinTalkMs:     uint32(min(m.LeadRule.MinTalk.D().Milliseconds(), math.MaxUint32)),
		slMs:              uint32(min(int64(m.ServiceLevelSeconds)*1000, math.MaxUint32)),
		shortMs:           uint32(min(m.ShortAbandon.D().Milliseconds(), math.MaxUint32)),
		incMs:             uint32(min(m.BillingIncrement.D().Milliseconds(), math.MaxUint32)),
	}
	if k.incMs > 0 {
		k.invInc = 1 / float64(k.incMs)
	}
	key := memoKey{f, *k}
	var active []int // the dimensions the filter constrains
	for d := range nDims {
		if s.dims[d] != -1 {
			active = append(active, d)
		}
	}
	from, to := p.From.UnixMilli(), p.To.UnixMilli()

	// Whole days reuse their partial result for this slice and these knobs when they have one;
	// the rest are scanned, split in parts of about equal facts, one goroutine each.
	accs := make([]*acc, len(s.days))
	var todo []int
	work := 0
	for i, d := range s.days {
		if len(d.facts) == 0 {
			accs[i] = &noCalls // nothing to scan, and no partial result worth keeping
			continue
		}
		if d.startMs >= from && d.endMs <= to {
			if a := d.memoGet(key); a != nil {
				accs[i] = a
				continue
			}
		}
		todo = append(todo, i)
		work += len(d.facts)
	}
	parts := 1
	if work >= parallelMinFacts {
		parts = min(runtime.GOMAXPROCS(0), 8, len(todo))
	}
	var wg sync.WaitGroup
	start, seen := 0, 0
	for i := range parts {
		end := start
		goal := work * (i + 1) / parts
		for end < len(todo) && (seen < goal || i == parts-1) {
			seen += len(s.days[todo[end]].facts)
			end++
		}
		mine := todo[start:end]
		wg.Go(func() {
			var scratch []uint32
			for _, di := range mine {
				d := s.days[di]
				a := &acc{}
				a.scan(s, k, active, d, from, to, &scratch)
				accs[di] = a
				if d.startMs >= from && d.endMs <= to {
					d.memoPut(key, a)
				}
			}
		})
		start = end
	}
	wg.Wait()

	t := &total{}
	t.allBySource = make([]int, len(s.names[dimSource]))
	t.allByNumber = make([]int, len(s.names[dimTrackingNumber]))
	t.rows = make([]*rowAcc, len(s.attrs))
	dayCounts := make([]int, len(accs))
	for i, a := range accs {
		t.add(a)
		dayCounts[i] = a.count
	}
	return report(s, p, f, k, t, dayCounts)
}

// report turns the merged accumulator into the Report.
func report(s *snapshot, p Period, f Filter, k *knobs, t *total, dayCounts []int) *Report {
	a := &t.acc
	m := s.cfg.Metrics
	r := &Report{
		Period: p, Filter: f,
		Live:                a.live,
		Heatmap:             a.heat,
		Outcomes:            map[call.Outcome]int{},
		WaitByOutcome:       map[call.Outcome]Stats{},
		BlockedTarget:       m.BlockedTarget,
		ServiceLevelTarget:  m.ServiceLevelTarget,
		ServiceLevelSeconds: time.Duration(m.ServiceLevelSeconds) * time.Second,
		HoldTotal:           time.Duration(a.holdMs) * time.Millisecond,
		HoldCount:           a.holdCount,
		HeldCalls:           a.heldCalls,
		TalkTotal:           time.Duration(a.talkMs) * time.Millisecond,
		ShortAbandons:       a.shortAbandons,
		FirstTime:           a.firstTime,
		Repeat:              a.repeat,
		Withheld:            a.withheld,
		Leads:               a.leads,
		LeadsByStaff:        a.leadsStaff,
		LeadsByRule:         a.leadsRule,
		Converted:           a.converted,
		RevenueCents:        a.revenue,
	}
	for w := range r.Heatmap {
		for h := range r.Heatmap[w] {
			r.ByHour[h] += r.Heatmap[w][h]
		}
	}
	for i, n := range dayCounts {
		y, mo, d := civil(s.first + int32(i))
		r.ByDay = append(r.ByDay, DayCount{Date: time.Date(y, mo, d, 0, 0, 0, 0, time.UTC).Format(dateLayout), Calls: n})
	}
	for i, o := range call.Outcomes {
		r.Outcomes[o] = a.outcomes[i+1]
		r.Volume += a.outcomes[i+1]
	}
	attempts := float64(r.Volume)
	connected := a.outcomes[oConnected]
	r.Blocked = Ratio{attempts - float64(connected), attempts}
	r.Busy = Ratio{float64(r.Outcomes[call.Busy]), attempts}
	r.Completion = Ratio{float64(a.answered), attempts}
	r.Abandon = Ratio{float64(a.outcomes[oAbandoned]), attempts}
	r.AbandonExShort = Ratio{float64(a.outcomes[oAbandoned] - a.shortAbandons), attempts - float64(a.shortAbandons)}
	r.ServiceLevel = Ratio{float64(a.slWithin), float64(connected + a.slAbandoned)}
	r.LeadConversion = Ratio{float64(a.convertedLeads), float64(r.Leads)}
	r.RevenuePerCall = Ratio{float64(r.RevenueCents), float64(connected)}

	r.Wait = stats(t.waitLists[oConnected], a.waitSum[oConnected])
	var other [][]uint32
	var otherSum uint64
	for i, o := range call.Outcomes[1:] {
		r.WaitByOutcome[o] = stats(t.waitLists[i+2], a.waitSum[i+2])
		other = append(other, t.waitLists[i+2]...)
		otherSum += a.waitSum[i+2]
	}
	r.WaitOther = stats(other, otherSum)
	r.WaitBars = waitBars(t.waitLists[oConnected], other)
	r.Talk = stats(t.talkLists, uint64(a.talkMs))

	// Cost (doc.go, "Cost"): fixed costs are shared among the attempts of the period, so each
	// source row carries its share and the slice's cost is the sum of its rows.
	frac := p.monthFraction(s.loc)
	marketing := map[string]float64{} // source -> cost over P
	for _, mc := range s.cfg.MarketingCosts {
		marketing[mc.Source] += float64(mc.Monthly) * frac
	}
	fees := map[string]float64{}  // number -> fee over P
	rates := map[string]float64{} // number -> cents per minute
	for _, tn := range s.cfg.TrackingNumbers {
		fees[tn.Number] += float64(tn.MonthlyFee) * frac
		rates[tn.Number] = float64(tn.PerMinute)
	}
	minutesPerUnit := float64(k.incMs) / 60000
	if k.incMs == 0 {
		minutesPerUnit = 1.0 / 60000
	}
	out := map[[3]string]*SourceRow{}
	get := func(key [3]string) *SourceRow {
		row := out[key]
		if row == nil {
			row = &SourceRow{Source: key[0], Campaign: key[1], Medium: key[2]}
			out[key] = row
		}
		return row
	}
	numbers := s.names[dimTrackingNumber]
	for i, acc := range a.rows {
		if acc == nil {
			continue
		}
		key := s.attrs[i]
		row := get([3]string{s.names[dimSource][key[0]], s.names[dimCampaign][key[1]], s.names[dimMedium][key[2]]})
		row.Volume, row.Connected, row.Leads, row.RevenueCents = acc.volume, acc.connected, acc.leads, acc.revenue
		row.Blocked = Ratio{float64(acc.volume - acc.connected), float64(acc.volume)}
		row.Cost.Marketing = marketing[row.Source] * float64(acc.volume) / float64(a.allBySource[key[0]])
		for n, c := range acc.byNumber {
			if c == 0 {
				continue
			}
			row.Cost.NumberFees += fees[numbers[n]] * float64(c) / float64(a.allByNumber[n])
			minutes := float64(acc.unitsByNumber[n]) * minutesPerUnit
			row.Cost.BilledMinutes += minutes
			row.Cost.PerMinute += rates[numbers[n]] * minutes
		}
	}
	if f.sourceOnly() {
		// Fixed costs with no attempt in P to share them go to the source's own slices.
		srcIndex := map[string]int{}
		for i, n := range s.names[dimSource] {
			srcIndex[n] = i
		}
		numIndex := map[string]int{}
		for i, n := range numbers {
			numIndex[n] = i
		}
		for src, cost := range marketing {
			if i, ok := srcIndex[src]; (!ok || a.allBySource[i] == 0) && (f.Source == "" || f.Source == src) {
				get([3]string{src, "", ""}).Cost.Marketing += cost
			}
		}
		for _, tn := range s.cfg.TrackingNumbers {
			if i, ok := numIndex[tn.Number]; (!ok || a.allByNumber[i] == 0) && (f.Source == "" || f.Source == tn.Source) {
				get([3]string{tn.Source, tn.Campaign, tn.Medium}).Cost.NumberFees += float64(tn.MonthlyFee) * frac
			}
		}
	}
	for _, row := range out {
		row.CostPerCall = Ratio{row.Cost.Total(), float64(row.Volume)}
		row.CostPerLead = Ratio{row.Cost.Total(), float64(row.Leads)}
		r.Sources = append(r.Sources, *row)
	}
	slices.SortFunc(r.Sources, func(x, y SourceRow) int {
		return strings.Compare(x.Source+"\x00"+x.Campaign+"\x00"+x.Medium, y.Source+"\x00"+y.Campaign+"\x00"+y.Medium)
	})
	for _, row := range r.Sources {
		r.Cost.Marketing += row.Cost.Marketing
		r.Cost.NumberFees += row.Cost.NumberFees
		r.Cost.PerMinute += row.Cost.PerMinute
		r.Cost.BilledMinutes += row.Cost.BilledMinutes
	}
	r.CostPerCall = Ratio{r.Cost.Total(), attempts}
	r.CostPerLead = Ratio{r.Cost.Total(), float64(r.Leads)}
	return r
}

// stats summarises durations in milliseconds given as ascending lists, with their sum (doc.go,
// "Percentiles").
func stats(lists [][]uint32, sum uint64) Stats {
	n := 0
	var hi uint32
	for _, l := range lists {
		n += len(l)
		hi = max(hi, l[len(l)-1])
	}
	if n == 0 {
		return Stats{}
	}
	ms := func(x float64) time.Duration { return time.Duration(math.Round(x * float64(time.Millisecond))) }
	s := Stats{N: n, Mean: ms(float64(sum) / float64(n)), Max: ms(float64(hi))}
	if n%2 == 1 {
		s.Median = ms(float64(kth(lists, (n+1)/2, hi)))
	} else {
		s.Median = ms((float64(kth(lists, n/2, hi)) + float64(kth(lists, n/2+1, hi))) / 2)
	}
	s.P90 = ms(float64(kth(lists, (9*n+9)/10, hi))) // nearest rank: the ceil(0.9 n)-th smallest
	return s
}

// kth is the k-th smallest value (1-based) of ascending lists whose largest value is hi: the least
// v with at least k values <= v, found by bisection on v (32 steps at most), counting by binary
// search in each list.
func kth(lists [][]uint32, k int, hi uint32) uint32 {
	if len(lists) == 1 {
		return lists[0][k-1]
	}
	lo := uint32(0)
	for lo < hi {
		mid := lo + (hi-lo)/2
		c := 0
		for _, l := range lists {
			i, _ := slices.BinarySearch(l, mid+1) // the number of values <= mid
			c += i
		}
		if c >= k {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// sortValues sorts v ascending, with scratch as the buffer it may grow.
func sortValues(v []uint32, scratch *[]uint32) {
	if len(v) < 256 {
		slices.Sort(v)
		return
	}
	if cap(*scratch) < len(v) {
		*scratch = make([]uint32, len(v))
	}
	radixSort(v, (*scratch)[:len(v)])
}

// radixSort sorts v ascending (LSD by bytes) through buf (as long as v), skipping the passes
// whose byte is zero everywhere.
func radixSort(v, buf []uint32) {
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
}
