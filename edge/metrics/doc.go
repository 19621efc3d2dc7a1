// Package metrics computes every figure of product.md ("Metric definitions") from the per-call
// records in the store, for any period in the site's time zone and any slice. The same question
// always gets the same answer: figures come from the records alone (never from live counters or
// rolling averages), and a restart changes nothing.
//
// # Use
//
//	e := metrics.New(st, cfg, time.Now, log) // st: *store.Store (see Store)
//	p, _ := metrics.DayRange(cfg.Site.Location, "2026-03-01", "2026-03-31")
//	rep, _ := e.Report(ctx, p, metrics.Filter{Source: "paid_search"})
//
// # Period and slice
//
// A period P is the half-open interval of instants [From, To); DayRange and Month cut it at local
// midnights of the site's zone (config site.time_zone), so a local day lasts 23, 24 or 25 hours
// across a daylight-saving change. A call is in P when it arrived in P. A Filter selects calls by
// exact match of any combination of tracking number, source, campaign, medium, queue, agent and
// line; empty fields match anything.
//
// Only finished attempts (with one of the seven outcomes) count. Attempts still live are reported
// as Live and in no other figure, so a figure only changes when a call finishes or is re-tagged.
//
// # Formulas (every one follows product.md; "attempts" = finished attempts in P and the slice)
//
//   - Call volume = attempts. Heatmap[w][h] = attempts that arrived on local weekday w (Sunday = 0)
//     at local hour h (the clock hour shown on the wall: 01:xx twice on the autumn change, no 02:xx
//     on the spring one). ByHour[h] = sum over w. ByDay = attempts per local date, for every local
//     date P touches (zero included).
//   - Wait: Record.Wait = connected - arrived for connected calls, arrived to end otherwise
//     (monotonic). Wait = stats of connected calls' waits; ASA = Wait.Mean. WaitByOutcome = stats per
//     other outcome; WaitOther = stats of all non-connected attempts.
//   - On-hold: HoldTotal = sum of Record.HoldTotal; HoldCount = sum of Record.HoldCount (number of
//     holds); HeldCalls = attempts with at least one hold.
//   - Talk = ended - connected of connected calls; TalkTotal = sum; ACD = Talk.Mean.
//   - Blocked % = (attempts - connected) / attempts x 100, with Outcomes giving the breakdown
//     (busy, no_agent, timeout, abandoned, closed, failed). Met when <= metrics.blocked_target.
//   - Busy-signal % = busy / attempts x 100.
//   - Completion rate = attempts the appliance answered (Record.Answered set: 200 OK sent or off
//     hook) / attempts x 100.
//   - Abandon rate = abandoned / attempts x 100. A short abandon is an abandoned call whose wait is
//     < metrics.short_abandon (default 5 s). Abandon rate excluding short abandons =
//     (abandoned - short) / (attempts - short) x 100: short abandons are left out of both terms,
//     as if they had not been attempts.
//   - Service level = connected with wait <= T / (connected + abandoned with wait >= short_abandon)
//     x 100, T = metrics.service_level_seconds (default 20 s; "within" includes T itself). Met when
//     >= metrics.service_level_target (default 80).
//   - Callers: Withheld = attempts whose number was withheld or absent; FirstTime = the others with
//     Record.FirstTime (set at arrival: no attempt from the number in the look-back window,
//     metrics.repeat_lookback_days x 24 h before the arrival); Repeat = the rest.
//     Withheld + FirstTime + Repeat = attempts.
//   - Lead: the staff's decision (Tags.Lead) when there is one, either way; otherwise the rule
//     (metrics.lead_rule): enabled, outcome connected, talk >= min_talk (default 60 s) and, with
//     first_time_only (default), first-time (a withheld caller is never first-time).
//     LeadsByStaff + LeadsByRule = Leads. Converted = attempts tagged converted.
//     Lead conversion rate = leads that are converted / leads x 100 (a converted call that is not a
//     lead does not count, so the rate stays <= 100%).
//   - Revenue = sum of Tags.RevenueCents of the attempts (any outcome). Revenue per successful
//     call = revenue / connected.
//   - Cost, in cents (see "Proration"):
//     marketing(s) = sum of marketing_costs[].monthly of source s x F(P);
//     fee(n) = tracking_numbers[].monthly_fee of number n x F(P);
//     per-minute(c) = per_minute of the call's tracking number x billed minutes(c), where billed
//     minutes = ceil((ended - answered) / I) x I / 1 min for answered calls (0 for calls never
//     answered), I = metrics.billing_increment (default 1 min).
//     Fixed costs are shared among the attempts of P (all attempts, whatever the slice): a call
//     from source s carries marketing(s) / attempts from s in P, and a call on number n carries
//     fee(n) / attempts on n in P. The cost of a slice = sum over its attempts of their shares and
//     their per-minute charges. For the unsliced report and a source-only slice, fixed costs
//     with no attempt in P to carry them are added as well (a source's marketing to the
//     row (source, "", ""); a number's fee to the row of its configured source/campaign/medium).
//     So for a source s: cost = marketing(s) + fees of its calls' numbers (all of them when no
//     other source shares a number) + its per-minute charges, as product.md states.
//     Cost per call = cost / attempts; cost per lead = cost / leads.
//   - Call source: Sources has one row per source/campaign/medium of the slice's attempts, with
//     volume, connected, blocked %, leads, revenue and cost as above; the report's cost is the sum
//     of its rows.
//
// # Proration
//
// F(P) = sum over the local days d that P touches of |P ∩ d| / |d| / (days in d's calendar month),
// with |d| the real length of the local day (23, 24 or 25 h). A whole month gives 1, a whole local
// day 1/days-in-month (whatever its length), a year 12.
//
// # Percentiles
//
// Over the n values sorted ascending v[1..n] (milliseconds): mean = sum / n; median = v[(n+1)/2]
// when n is odd, (v[n/2] + v[n/2+1]) / 2 when even; p90 = nearest rank, v[ceil(0.9 n)];
// max = v[n]. An empty set has no value (Stats.N == 0, Ratio.Den == 0, Figure.Null).
// WaitBars counts the same waits into bars bounded by WaitBounds (lower bound in, upper bound
// out), so the distribution a chart draws comes from the report's own snapshot. Where a duration
// is shown in whole units, Whole rounds it half away from zero; the figures keep exact values.
//
// # Figure names
//
// Report.Figures flattens a report: volume, live, heatmap.<sun..sat>.<00..23>, by_hour.<hh>,
// by_day.<date>, outcome.<o>, wait.<connected|o|not_connected>.{n,mean_ms,median_ms,p90_ms,max_ms},
// asa_ms, hold.{total_ms,count,calls}, talk.total_ms, talk.{n,...}, acd_ms,
// {blocked,busy,completion,abandon,abandon_ex_short,service_level,lead_conversion}.{num,den,pct},
// blocked.{target_pct,met}, abandon.short, service_level.{target_pct,seconds,met},
// callers.{first_time,repeat,withheld}, leads.{total,staff,rule,converted}, revenue.cents,
// {revenue_per_call,cost_per_call,cost_per_lead}.{num,den,value},
// cost.{marketing_cents,number_fees_cents,per_minute_cents,billed_minutes,total_cents}, and per
// source row source.<source>|<campaign>|<medium>.{volume,connected,blocked.*,leads,revenue_cents,
// cost.*,cost_per_call.*,cost_per_lead.*}. testdata/metrics/expected.py computes the same names
// independently.
//
// # Speed and the cache
//
// The engine keeps compact per-call facts (80 bytes each) by local day in memory, loaded on
// demand from the store (Warm preloads a period) and kept exact through the store's change
// generation (edge/store migration 0002): before each report it asks which UTC hours changed
// since it last looked and drops the local days holding them. Days are scanned in parallel.
// Each whole day also keeps its partial result for the last few (slice, knobs) pairs asked
// (maxMemo), so a dashboard asking the same report again adds up 365 small results instead of
// scanning a year; percentiles then come from bisection over the days' sorted value lists
// (exact, no merge). Partial results are keyed by the slice and every knob, and go with their
// day when it reloads, so they can never be stale; facts hold no knob-derived value, so a
// config change needs no rebuild (a zone change empties the cache). A restart starts empty and
// computes the same figures.
//
// The cache is bounded by metrics.cache_mb (default 128). A call costs 80 to 110 bytes with the
// unsliced partial results (72 MB for the benchmark's year of 921,814 calls, cache-MB in its
// output), so a year of a million calls fits with room for a few sliced results. After each report the least recently read
// days go first, and of days last read together the oldest, so a year that does not fit keeps
// its recent months. A period larger than the bound is still computed whole (its days are held
// for that report) and is partly read again the next time. A cold year over a million calls
// reads the store for several seconds (the SQLite driver's row decoding dominates): the
// appliance warms the last 13 months in the background at start.
package metrics
