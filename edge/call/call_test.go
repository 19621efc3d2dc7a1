package call_test

import (
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringside/ringside/edge/call"
)

// journal builds events for one call. Each step gives the kind and the monotonic offset since
// arrival in seconds; the wall clock is arrival + offset unless the step sets its own.
type step struct {
	kind    call.Kind
	mono    float64 // seconds since arrival, on the monotonic clock
	wall    *time.Time
	agent   string
	queue   string
	outcome call.Outcome
	detail  string
	tags    *call.Tags
	quality *call.Quality
	rec     *call.RecordingRef
}

var arrivedAt = time.Date(2026, 11, 1, 5, 59, 30, 0, time.UTC) // 01:59:30 in New York, the DST night

func sec(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func journal(id string, steps ...step) []call.Event {
	evs := []call.Event{{
		CallID: id, Seq: 0, Kind: call.KindArrived, At: arrivedAt,
		Arrival: &call.Arrival{Line: "ata-1", TrackingNumber: "+12125550100", DialedNumber: "+12125550100",
			CallerNumber: "+12125559876", CallerName: "PAT", Attribution: call.Attribution{Source: "direct"}, FirstTime: true},
	}}
	for _, s := range steps {
		at := arrivedAt.Add(sec(s.mono))
		if s.wall != nil {
			at = *s.wall
		}
		evs = append(evs, call.Event{CallID: id, Seq: len(evs), Kind: s.kind, At: at, Mono: sec(s.mono),
			Agent: s.agent, Queue: s.queue, Outcome: s.outcome, Detail: s.detail,
			Tags: s.tags, Quality: s.quality, Recording: s.rec})
	}
	return evs
}

func rebuild(t *testing.T, evs []call.Event) call.Record {
	t.Helper()
	r, err := call.Rebuild(evs)
	if err != nil {
		t.Fatalf("Rebuild: %v", err)
	}
	return r
}

// TestRebuildEveryOutcome folds a typical journal for each of the seven outcomes and checks the
// durations product.md defines: wait = connected-arrived (or arrived-to-end), talk = ended-connected.
func TestRebuildEveryOutcome(t *testing.T) {
	cases := []struct {
		outcome  call.Outcome
		steps    []step
		answered bool
		wait     time.Duration
		talk     time.Duration
		queue    string
		agent    string
	}{
		{call.Connected, []step{
			{kind: call.KindAnswered, mono: 0.2}, {kind: call.KindQueued, mono: 0.2, queue: "front"},
			{kind: call.KindRinging, mono: 0.3, agent: "alice"}, {kind: call.KindNoAnswer, mono: 20.3, agent: "alice"},
			{kind: call.KindRinging, mono: 20.3, agent: "bob"}, {kind: call.KindConnected, mono: 24.5, agent: "bob"},
			{kind: call.KindEnded, mono: 144.5, outcome: call.Connected, detail: "caller hung up"},
		}, true, sec(24.5), sec(120), "front", "bob"},
		{call.Abandoned, []step{
			{kind: call.KindAnswered, mono: 0.1}, {kind: call.KindQueued, mono: 0.1, queue: "front"},
			{kind: call.KindRinging, mono: 0.2, agent: "alice"},
			{kind: call.KindEnded, mono: 3.7, outcome: call.Abandoned, detail: "caller hung up in queue"},
		}, true, sec(3.7), 0, "front", ""},
		{call.Busy, []step{{kind: call.KindRefused, mono: 0.01, outcome: call.Busy, detail: "queue full"}},
			false, sec(0.01), 0, "", ""},
		{call.NoAgent, []step{
			{kind: call.KindQueued, mono: 0, queue: "front"},
			{kind: call.KindRefused, mono: 0.02, outcome: call.NoAgent, detail: "nobody logged in"},
		}, false, sec(0.02), 0, "front", ""},
		{call.Timeout, []step{
			{kind: call.KindAnswered, mono: 0.1}, {kind: call.KindQueued, mono: 0.1, queue: "front"},
			{kind: call.KindOverflow, mono: 180.1, queue: "overflow", detail: "max wait"},
			{kind: call.KindEnded, mono: 180.2, outcome: call.Timeout},
		}, true, sec(180.2), 0, "overflow", ""},
		{call.Closed, []step{
			{kind: call.KindAnswered, mono: 0.1},
			{kind: call.KindRefused, mono: 6, outcome: call.Closed, detail: "closed message played"},
		}, true, sec(6), 0, "", ""},
		{call.Failed, []step{ // media never started
			{kind: call.KindAnswered, mono: 0.1}, {kind: call.KindQueued, mono: 0.1, queue: "front"},
			{kind: call.KindEnded, mono: 30.1, outcome: call.Failed, detail: "media timeout"},
		}, true, sec(30.1), 0, "front", ""},
	}
	seen := map[call.Outcome]bool{}
	for _, c := range cases {
		t.Run(string(c.outcome), func(t *testing.T) {
			evs := journal("c-"+string(c.outcome), c.steps...)
			r := rebuild(t, evs)
			seen[r.Outcome] = true
			last := c.steps[len(c.steps)-1]
			switch {
			case r.Outcome != c.outcome:
				t.Fatalf("outcome %q, want %q", r.Outcome, c.outcome)
			case !r.Finished():
				t.Fatal("not finished")
			case r.WasAnswered() != c.answered:
				t.Fatalf("answered %v, want %v", r.WasAnswered(), c.answered)
			case r.Wait != c.wait || r.Talk != c.talk:
				t.Fatalf("wait %v talk %v, want %v %v", r.Wait, r.Talk, c.wait, c.talk)
			case r.Queue != c.queue || r.Agent != c.agent:
				t.Fatalf("queue %q agent %q, want %q %q", r.Queue, r.Agent, c.queue, c.agent)
			case !r.Ended.Equal(arrivedAt.Add(sec(last.mono))) || r.Reason != last.detail:
				t.Fatalf("ended %v reason %q", r.Ended, r.Reason)
			case r.Outcome.Blocked() == (c.outcome == call.Connected):
				t.Fatalf("Blocked() = %v for %s", r.Outcome.Blocked(), c.outcome)
			case r.ID != "c-"+string(c.outcome) || r.CallerNumber != "+12125559876" || r.Attribution.Source != "direct" || !r.FirstTime:
				t.Fatalf("arrival details lost: %+v", r)
			}
			if c.outcome == call.Connected && !r.Connected.Equal(arrivedAt.Add(sec(24.5))) {
				t.Fatalf("connected at %v", r.Connected)
			}
			if c.outcome != call.Connected && !r.Connected.IsZero() {
				t.Fatalf("connected set on a %s call", c.outcome)
			}
		})
	}
	for _, o := range call.Outcomes {
		if !seen[o] {
			t.Errorf("outcome %s not covered", o)
		}
	}
}

func TestHolds(t *testing.T) {
	base := []step{
		{kind: call.KindAnswered, mono: 0}, {kind: call.KindConnected, mono: 10, agent: "alice"},
	}
	cases := []struct {
		name  string
		steps []step
		hold  time.Duration
		count int
		talk  time.Duration
	}{
		{"one hold", []step{
			{kind: call.KindHold, mono: 20}, {kind: call.KindUnhold, mono: 35},
			{kind: call.KindEnded, mono: 70, outcome: call.Connected},
		}, sec(15), 1, sec(60)},
		{"three holds", []step{
			{kind: call.KindHold, mono: 20}, {kind: call.KindUnhold, mono: 21.5},
			{kind: call.KindHold, mono: 30}, {kind: call.KindUnhold, mono: 40},
			{kind: call.KindHold, mono: 50}, {kind: call.KindUnhold, mono: 50.25},
			{kind: call.KindEnded, mono: 100, outcome: call.Connected},
		}, sec(1.5 + 10 + 0.25), 3, sec(90)},
		{"repeated hold re-INVITE counts once", []step{
			{kind: call.KindHold, mono: 20}, {kind: call.KindHold, mono: 25}, {kind: call.KindUnhold, mono: 30},
			{kind: call.KindEnded, mono: 40, outcome: call.Connected},
		}, sec(10), 1, sec(30)},
		{"unhold without hold is ignored", []step{
			{kind: call.KindUnhold, mono: 20}, {kind: call.KindEnded, mono: 40, outcome: call.Connected},
		}, 0, 0, sec(30)},
		{"call ends while on hold", []step{
			{kind: call.KindHold, mono: 20}, {kind: call.KindUnhold, mono: 22},
			{kind: call.KindHold, mono: 50}, {kind: call.KindEnded, mono: 80, outcome: call.Connected, detail: "caller hung up on hold"},
		}, sec(2 + 30), 2, sec(70)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := rebuild(t, journal("h", append(append([]step{}, base...), c.steps...)...))
			if r.HoldTotal != c.hold || r.HoldCount != c.count || r.Talk != c.talk || r.Wait != sec(10) {
				t.Fatalf("hold %v x%d talk %v wait %v; want %v x%d talk %v wait 10s",
					r.HoldTotal, r.HoldCount, r.Talk, r.Wait, c.hold, c.count, c.talk)
			}
			if r.HoldTotal > r.Talk {
				t.Fatalf("hold %v longer than talk %v", r.HoldTotal, r.Talk)
			}
		})
	}
}

// TestClockJumps: the wall clock steps back an hour (NTP correction, or a DST mistake on a box set
// to local time) while the monotonic clock runs on; every duration still comes out right.
func TestClockJumps(t *testing.T) {
	back := arrivedAt.Add(-time.Hour)
	w := func(d time.Duration) *time.Time { x := back.Add(d); return &x }
	evs := journal("j",
		step{kind: call.KindAnswered, mono: 1},
		step{kind: call.KindQueued, mono: 1, queue: "front"},
		step{kind: call.KindConnected, mono: 12, agent: "alice", wall: w(0)}, // wall clock now an hour behind
		step{kind: call.KindHold, mono: 30, wall: w(18 * time.Second)},
		step{kind: call.KindUnhold, mono: 45, wall: w(33 * time.Second)},
		step{kind: call.KindEnded, mono: 72, outcome: call.Connected, wall: w(60 * time.Second)},
	)
	r := rebuild(t, evs)
	if r.Wait != sec(12) || r.Talk != sec(60) || r.HoldTotal != sec(15) || r.HoldCount != 1 {
		t.Fatalf("wait %v talk %v hold %v x%d; want 12s 60s 15s x1", r.Wait, r.Talk, r.HoldTotal, r.HoldCount)
	}
	// The wall-clock stamps are kept as they were reported, for display, even though they now
	// run backwards; they never feed a duration.
	if !r.Connected.Before(r.Arrived) || !r.Ended.Equal(back.Add(60*time.Second)) {
		t.Fatalf("wall stamps rewritten: arrived %v connected %v ended %v", r.Arrived, r.Connected, r.Ended)
	}

	// A jump forward (the box's clock set a day ahead mid-call) is just as harmless.
	ahead := arrivedAt.Add(24 * time.Hour)
	evs = journal("k",
		step{kind: call.KindQueued, mono: 0.5, queue: "front"},
		step{kind: call.KindEnded, mono: 8.25, outcome: call.Abandoned, wall: &ahead},
	)
	r = rebuild(t, evs)
	if r.Wait != sec(8.25) || r.Talk != 0 || !r.Ended.Equal(ahead) {
		t.Fatalf("abandoned after a jump: wait %v talk %v ended %v", r.Wait, r.Talk, r.Ended)
	}
}

// TestInvalidSequences: events that make no sense in the record's state are refused, Apply leaves the
// record exactly as it was, and Rebuild names the journal entry.
func TestInvalidSequences(t *testing.T) {
	connected := []step{{kind: call.KindAnswered, mono: 0}, {kind: call.KindConnected, mono: 5, agent: "alice"}}
	ended := append(append([]step{}, connected...), step{kind: call.KindEnded, mono: 50, outcome: call.Connected})
	refused := []step{{kind: call.KindRefused, mono: 0.1, outcome: call.Busy}}
	cases := []struct {
		name   string
		prefix []step // folded first, must be fine
		bad    call.Event
		want   string
	}{
		{"hold before connect", []step{{kind: call.KindAnswered, mono: 0}}, call.Event{Kind: call.KindHold, Mono: sec(3)}, "hold before connect"},
		{"connected twice", connected, call.Event{Kind: call.KindConnected, Mono: sec(9), Agent: "bob"}, "connected twice"},
		{"hold after end", ended, call.Event{Kind: call.KindHold, Mono: sec(60)}, "after the call ended"},
		{"connected after end", refused, call.Event{Kind: call.KindConnected, Mono: sec(60)}, "after the call ended"},
		{"ended twice", ended, call.Event{Kind: call.KindEnded, Mono: sec(70), Outcome: call.Connected}, "after the call ended"},
		{"refused after end", ended, call.Event{Kind: call.KindRefused, Mono: sec(70), Outcome: call.Busy}, "after the call ended"},
		{"arrived twice", nil, call.Event{Kind: call.KindArrived, Arrival: &call.Arrival{}}, "arrived twice"},
		{"invalid outcome", connected, call.Event{Kind: call.KindEnded, Mono: sec(9), Outcome: "hung_up"}, "invalid outcome"},
		{"empty outcome", nil, call.Event{Kind: call.KindRefused, Mono: sec(1)}, "invalid outcome"},
		{"connected outcome without connect", []step{{kind: call.KindAnswered, mono: 0}}, call.Event{Kind: call.KindEnded, Mono: sec(9), Outcome: call.Connected}, "without a connect"},
		{"connected call ended as abandoned", connected, call.Event{Kind: call.KindEnded, Mono: sec(9), Outcome: call.Abandoned}, "connected call ended as"},
		{"tagged without tags", ended, call.Event{Kind: call.KindTagged}, "without tags"},
		{"recording without reference", nil, call.Event{Kind: call.KindRecording}, "without its reference"},
		{"quality without figures", ended, call.Event{Kind: call.KindQuality}, "without figures"},
		{"unknown kind", nil, call.Event{Kind: "teleported"}, "unknown event kind"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			evs := journal("x", c.prefix...)
			r := rebuild(t, evs)
			before := r
			bad := c.bad
			bad.CallID, bad.Seq, bad.At = "x", len(evs), arrivedAt.Add(bad.Mono)
			err := r.Apply(bad)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Apply = %v, want an error containing %q", err, c.want)
			}
			if !reflect.DeepEqual(r, before) {
				t.Fatalf("a refused event changed the record:\n before %+v\n after  %+v", before, r)
			}
			// Rebuild refuses the journal as a whole and names the entry.
			_, err = call.Rebuild(append(evs, bad))
			if err == nil || !strings.Contains(err.Error(), "journal entry "+strconv.Itoa(len(evs))) {
				t.Fatalf("Rebuild = %v, want it to name entry %d", err, len(evs))
			}
		})
	}

	t.Run("event before arrived", func(t *testing.T) {
		var r call.Record
		if err := r.Apply(call.Event{CallID: "y", Kind: call.KindAnswered}); err == nil {
			t.Fatal("answered before arrived accepted")
		}
		if err := r.Apply(call.Event{CallID: "y", Kind: call.KindArrived}); err == nil {
			t.Fatal("arrived without its details accepted")
		}
		if !reflect.DeepEqual(r, call.Record{}) {
			t.Fatalf("record changed: %+v", r)
		}
	})
}

// TestAfterEnd: tags, the recording reference and quality figures arrive after the end and are taken.
func TestAfterEnd(t *testing.T) {
	lead := true
	tagAt := arrivedAt.Add(48 * time.Hour)
	evs := journal("t",
		step{kind: call.KindAnswered, mono: 0.1},
		step{kind: call.KindConnected, mono: 4, agent: "alice"},
		step{kind: call.KindAgentNote, mono: 30, detail: "transfer attempted"}, // informational: changes nothing
		step{kind: call.KindEnded, mono: 64, outcome: call.Connected},
		step{kind: call.KindQuality, mono: 64, quality: &call.Quality{Caller: call.LegQuality{Packets: 3000, Lost: 3, LossPct: 0.1, JitterMs: 2.5, MOS: 4.3}}},
		step{kind: call.KindRecording, mono: 64.5, rec: &call.RecordingRef{Path: "2026/11/t.wav", Status: "complete"}},
		step{kind: call.KindTagged, mono: 172800, wall: &tagAt, tags: &call.Tags{Lead: &lead, Converted: true, RevenueCents: 125000, Notes: "crown", By: "alice"}},
	)
	r := rebuild(t, evs)
	switch {
	case r.Talk != sec(60) || r.Outcome != call.Connected:
		t.Fatalf("talk %v outcome %s", r.Talk, r.Outcome)
	case r.CallerQuality.Packets != 3000 || r.CallerQuality.MOS != 4.3:
		t.Fatalf("quality %+v", r.CallerQuality)
	case r.Recording != "2026/11/t.wav" || r.RecordingStatus != "complete":
		t.Fatalf("recording %q %q", r.Recording, r.RecordingStatus)
	case r.Tags.Lead == nil || !*r.Tags.Lead || !r.Tags.Converted || r.Tags.RevenueCents != 125000 || r.Tags.By != "alice":
		t.Fatalf("tags %+v", r.Tags)
	case !r.Tags.At.Equal(tagAt):
		t.Fatalf("tagged at %v, want the event's time %v", r.Tags.At, tagAt)
	}
}

func TestOutcomes(t *testing.T) {
	if len(call.Outcomes) != 7 {
		t.Fatalf("%d outcomes, product.md has seven", len(call.Outcomes))
	}
	names := map[call.Outcome]bool{}
	for _, o := range call.Outcomes {
		if !o.Valid() || names[o] {
			t.Fatalf("outcome %q invalid or listed twice", o)
		}
		names[o] = true
	}
	for _, o := range []call.Outcome{"", "Connected", "hangup", "no-agent"} {
		if o.Valid() {
			t.Fatalf("%q accepted as an outcome", o)
		}
	}
	if call.Outcome("").Blocked() {
		t.Fatal("a live call counts as blocked")
	}
}

// TestNewIDOrder: ids made one after another sort in the same order (UUIDv7), also within one
// millisecond, so the store's primary key sorts by arrival.
func TestNewIDOrder(t *testing.T) {
	ids := make([]string, 2000)
	for i := range ids {
		ids[i] = call.NewID()
	}
	if !sort.StringsAreSorted(ids) {
		t.Fatal("ids made in order do not sort in order")
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] || len(id) != 36 || id[14] != '7' {
			t.Fatalf("id %q repeated or not a UUIDv7", id)
		}
		seen[id] = true
	}
}

func TestMonotonicOffsetsNeverGoBack(t *testing.T) {
	at := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	r := call.Record{}
	steps := []call.Event{
		{CallID: "c", Kind: call.KindArrived, At: at, Arrival: &call.Arrival{Line: "l"}},
		{CallID: "c", Kind: call.KindConnected, At: at, Mono: 5 * time.Second},
	}
	for _, ev := range steps {
		if err := r.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	before := r
	if err := r.Apply(call.Event{CallID: "c", Kind: call.KindEnded, At: at, Mono: 4 * time.Second, Outcome: call.Connected}); err == nil {
		t.Fatal("an end before the connect was folded")
	}
	if r.Finished() || r.Talk != before.Talk {
		t.Fatalf("a refused event changed the record: %+v", r)
	}
	if err := r.Apply(call.Event{CallID: "c", Kind: call.KindEnded, At: at, Mono: 9 * time.Second, Outcome: call.Connected}); err != nil || r.Talk != 4*time.Second {
		t.Fatalf("talk %v, %v", r.Talk, err)
	}
}

// TestOverflowThenAnswered: a call sent to its queue's overflow and answered there keeps the
// timeout outcome (product.md), with its wait to the answer and its talk time.
func TestOverflowThenAnswered(t *testing.T) {
	at := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	evs := []call.Event{
		{CallID: "c", Kind: call.KindArrived, At: at, Arrival: &call.Arrival{Line: "l"}},
		{CallID: "c", Kind: call.KindQueued, At: at, Queue: "desk"},
		{CallID: "c", Kind: call.KindOverflow, At: at.Add(60 * time.Second), Mono: 60 * time.Second, Detail: "billing"},
		{CallID: "c", Kind: call.KindConnected, At: at.Add(70 * time.Second), Mono: 70 * time.Second, Agent: "dave", Queue: "billing"},
		{CallID: "c", Kind: call.KindEnded, At: at.Add(100 * time.Second), Mono: 100 * time.Second, Outcome: call.Timeout},
	}
	r, err := call.Rebuild(evs)
	if err != nil || r.Outcome != call.Timeout || r.Wait != 70*time.Second || r.Talk != 30*time.Second || r.Agent != "dave" {
		t.Fatalf("%+v, %v", r, err)
	}
	// Without the overflow, a connected call cannot end as timeout.
	if _, err := call.Rebuild(append(evs[:2:2], evs[3:]...)); err == nil {
		t.Fatal("a connected call without overflow ended as timeout")
	}
}
