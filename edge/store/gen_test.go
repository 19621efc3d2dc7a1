package store

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/ringside/ringside/edge/call"
)

// genJournal builds a plausible journal for one call with the given outcome, arriving at at, with
// durations drawn from rng. A connected call has ten to twelve events, a refused one two: with
// randomOutcome's mix a call averages about eight journal rows.
func genJournal(rng *rand.Rand, id string, at time.Time, outcome call.Outcome) []call.Event {
	var evs []call.Event
	mono := time.Duration(0)
	add := func(k call.Kind, step time.Duration) *call.Event {
		mono += step
		evs = append(evs, call.Event{CallID: id, Seq: len(evs), Kind: k, At: at.Add(mono), Mono: mono})
		return &evs[len(evs)-1]
	}
	ms := func(lo, hi int) time.Duration { return time.Duration(lo+rng.IntN(hi-lo+1)) * time.Millisecond }

	arrived := add(call.KindArrived, 0)
	withheld := rng.IntN(10) == 0
	caller := fmt.Sprintf("+1212555%04d", rng.IntN(10000))
	if withheld {
		caller = ""
	}
	arrived.Arrival = &call.Arrival{
		Line: "trunk", TrackingNumber: "+12125550101", DialedNumber: "+12125550101",
		CallerNumber: caller, CallerName: "Caller", Withheld: withheld,
		Attribution: call.Attribution{Source: "paid_search", Campaign: "spring", Medium: "cpc", Keyword: "implants"},
		FirstTime:   rng.IntN(2) == 0,
	}
	switch outcome {
	case call.Busy, call.NoAgent, call.Closed, call.Failed:
		// Refused at the door: no queue, no answer.
		r := add(call.KindRefused, ms(1, 50))
		r.Outcome, r.Detail = outcome, "refused at the door"
		return evs
	}
	add(call.KindAnswered, ms(10, 200))
	add(call.KindQueued, 0).Queue = "front-desk"
	add(call.KindRinging, ms(0, 100)).Agent = "alice"
	switch outcome {
	case call.Abandoned, call.Timeout:
		add(call.KindNoAnswer, ms(1000, 20000)).Agent = "alice"
		if outcome == call.Timeout {
			add(call.KindOverflow, ms(0, 1000)).Detail = "sip:voicemail@127.0.0.1"
		}
		e := add(call.KindEnded, ms(100, 60000))
		e.Outcome = outcome
		return evs
	}
	// Ring-all style: a first agent does not answer, a second one does.
	add(call.KindNoAnswer, ms(1000, 20000)).Agent = "alice"
	add(call.KindRinging, 0).Agent = "bob"
	c := add(call.KindConnected, ms(500, 10000))
	c.Agent, c.Queue = "bob", "front-desk"
	if rng.IntN(3) == 0 {
		add(call.KindHold, ms(1000, 60000))
		add(call.KindUnhold, ms(1000, 60000))
	}
	add(call.KindEnded, ms(1000, 600000)).Outcome = call.Connected
	add(call.KindQuality, 0).Quality = &call.Quality{
		Caller: call.LegQuality{Packets: int64(1000 + rng.IntN(10000)), Lost: int64(rng.IntN(20)), JitterMs: float64(rng.IntN(400)) / 10, MOS: 4.1},
		Agent:  call.LegQuality{Packets: int64(1000 + rng.IntN(10000)), Lost: int64(rng.IntN(20)), JitterMs: float64(rng.IntN(400)) / 10, MOS: 4.2},
	}
	add(call.KindRecording, 0).Recording = &call.RecordingRef{Path: "2026/11/" + id + ".wav", Status: "complete"}
	return evs
}

// randomOutcome picks one of the seven outcomes, connected most often.
func randomOutcome(rng *rand.Rand) call.Outcome {
	if rng.IntN(2) == 0 {
		return call.Connected
	}
	return call.Outcomes[rng.IntN(len(call.Outcomes))]
}

// sameRecord compares two records at the store's precision (milliseconds) and says how they differ,
// or returns "" when they agree.
func sameRecord(a, b call.Record) string {
	type flat struct {
		ID, Line, Tracking, Dialed, Caller, Name string
		Withheld                                 bool
		Attr                                     call.Attribution
		Queue, Agent                             string
		Times                                    [4]int64
		Zero                                     [4]bool
		Wait, Talk, Hold                         int64
		HoldCount                                int
		Outcome                                  call.Outcome
		Reason                                   string
		FirstTime                                bool
		Recording, RecStatus                     string
		CQ, AQ                                   call.LegQuality
		Lead                                     string
		Converted                                bool
		Revenue                                  int64
		Notes, By                                string
		TagAt                                    int64
	}
	f := func(r call.Record) flat {
		lead := "nil"
		if r.Tags.Lead != nil {
			lead = fmt.Sprint(*r.Tags.Lead)
		}
		ms := func(t time.Time) int64 {
			if t.IsZero() {
				return 0
			}
			return t.UnixMilli()
		}
		return flat{
			r.ID, r.Line, r.TrackingNumber, r.DialedNumber, r.CallerNumber, r.CallerName, r.Withheld, r.Attribution,
			r.Queue, r.Agent,
			[4]int64{ms(r.Arrived), ms(r.Answered), ms(r.Connected), ms(r.Ended)},
			[4]bool{r.Arrived.IsZero(), r.Answered.IsZero(), r.Connected.IsZero(), r.Ended.IsZero()},
			r.Wait.Milliseconds(), r.Talk.Milliseconds(), r.HoldTotal.Milliseconds(), r.HoldCount,
			r.Outcome, r.Reason, r.FirstTime, r.Recording, r.RecordingStatus, r.CallerQuality, r.AgentQuality,
			lead, r.Tags.Converted, r.Tags.RevenueCents, r.Tags.Notes, r.Tags.By, ms(r.Tags.At),
		}
	}
	fa, fb := f(a), f(b)
	if fa != fb {
		return fmt.Sprintf("\n got  %+v\n want %+v", fa, fb)
	}
	return ""
}
