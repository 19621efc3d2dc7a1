package appliance

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/ringside/ringside/edge/call"
	"github.com/ringside/ringside/edge/config"
	"github.com/ringside/ringside/edge/metrics"
	"github.com/ringside/ringside/uplink"
)

// TestUplinkRoundsDurations: the MQTT rollup and call summary give whole milliseconds rounded
// (half away from zero) as the page and the API round, not truncated: a mean wait of 1234.5678 ms
// is 1235 everywhere, and 1234.4 ms is 1234.
func TestUplinkRoundsDurations(t *testing.T) {
	d := func(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }
	now := time.Date(2026, 3, 16, 14, 30, 0, 0, time.UTC)
	p := metrics.Period{From: now.Add(-30 * time.Minute), To: now.Add(30 * time.Minute)}
	rep := &metrics.Report{Volume: 2, Outcomes: map[call.Outcome]int{call.Connected: 2},
		Wait: metrics.Stats{N: 2, Mean: d(1234.5678)}, Talk: metrics.Stats{N: 2, Mean: d(1234.4)}}
	r := rollup("hour", rep, p, now)
	if r.ASAMs != 1235 || r.AvgTalkMs != 1234 {
		t.Errorf("rollup asa_ms %d, avg_talk_ms %d; want 1235 and 1234", r.ASAMs, r.AvgTalkMs)
	}
	if got := metrics.Whole(d(1234.5678), time.Millisecond); got != r.ASAMs {
		t.Errorf("metrics.Whole gives %d, the rollup %d", got, r.ASAMs)
	}

	enc, err := uplink.NewEncoder(uplink.Topics{Prefix: "ringside/v1", Site: "clinic", Device: "clinic"}, uplink.Privacy{Mode: uplink.CallerOmit})
	if err != nil {
		t.Fatal(err)
	}
	u := &uplinkPart{cfg: &config.Config{}, enc: enc}
	es, err := u.Summaries(call.Record{ID: "c1", Outcome: call.Connected, Arrived: now, Ended: now.Add(time.Minute),
		Wait: d(1234.5678), Talk: d(60000.5), HoldTotal: d(0.5)}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var s uplink.Summary
	if err := json.Unmarshal(es[0].Payload, &s); err != nil {
		t.Fatal(err)
	}
	if s.WaitMs != 1235 || s.TalkMs != 60001 || s.HoldMs != 1 {
		t.Errorf("summary wait_ms %d, talk_ms %d, hold_ms %d; want 1235, 60001 and 1", s.WaitMs, s.TalkMs, s.HoldMs)
	}
}
