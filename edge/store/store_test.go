package store

import (
	"context"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/ringside/ringside/edge/call"
)

func openTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// sampleJournal is a connected call with one hold.
func sampleJournal(id string, at time.Time) []call.Event {
	ev := func(seq int, k call.Kind, mono time.Duration) call.Event {
		return call.Event{CallID: id, Seq: seq, Kind: k, At: at.Add(mono), Mono: mono}
	}
	arrived := ev(0, call.KindArrived, 0)
	arrived.Arrival = &call.Arrival{Line: "trunk", TrackingNumber: "+12125550101", DialedNumber: "+12125550101",
		CallerNumber: "+12125559999", CallerName: "Pat", Attribution: call.Attribution{Source: "paid_search", Campaign: "spring"}, FirstTime: true}
	answered := ev(1, call.KindAnswered, 100*time.Millisecond)
	queued := ev(2, call.KindQueued, 100*time.Millisecond)
	queued.Queue = "front-desk"
	connected := ev(3, call.KindConnected, 3200*time.Millisecond)
	connected.Agent, connected.Queue = "alice", "front-desk"
	hold := ev(4, call.KindHold, 10*time.Second)
	unhold := ev(5, call.KindUnhold, 15*time.Second)
	ended := ev(6, call.KindEnded, 70*time.Second)
	ended.Outcome = call.Connected
	return []call.Event{arrived, answered, queued, connected, hold, unhold, ended}
}

func TestCommitReadRebuild(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	id := call.NewID()
	at := time.Date(2026, 3, 8, 6, 59, 0, 0, time.UTC)
	evs := sampleJournal(id, at)
	rec, err := call.Rebuild(evs)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Wait != 3200*time.Millisecond || rec.Talk != 66800*time.Millisecond || rec.HoldTotal != 5*time.Second || rec.HoldCount != 1 {
		t.Fatalf("fold: wait %v talk %v hold %v/%d", rec.Wait, rec.Talk, rec.HoldTotal, rec.HoldCount)
	}
	if err := s.Commit(ctx, Write{Record: &rec, Events: evs}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Call(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	j, err := s.Journal(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	again, err := call.Rebuild(j)
	if err != nil {
		t.Fatal(err)
	}
	// The stored record and the one rebuilt from the stored journal agree field by field.
	clean := func(r call.Record) call.Record {
		var c call.Record
		c.ID, c.Line, c.TrackingNumber, c.CallerNumber, c.Attribution = r.ID, r.Line, r.TrackingNumber, r.CallerNumber, r.Attribution
		c.Arrived, c.Answered, c.Connected, c.Ended = r.Arrived.UTC(), r.Answered.UTC(), r.Connected.UTC(), r.Ended.UTC()
		c.Wait, c.Talk, c.HoldTotal, c.HoldCount, c.Outcome, c.Agent, c.Queue, c.FirstTime = r.Wait, r.Talk, r.HoldTotal, r.HoldCount, r.Outcome, r.Agent, r.Queue, r.FirstTime
		return c
	}
	if !reflect.DeepEqual(clean(got), clean(again)) || !reflect.DeepEqual(clean(got), clean(rec)) {
		t.Fatalf("stored %+v\nrebuilt %+v\noriginal %+v", clean(got), clean(again), clean(rec))
	}
	seen, err := s.SeenBefore(ctx, "+12125559999", at.Add(-time.Hour), at.Add(time.Hour))
	if err != nil || !seen {
		t.Fatalf("SeenBefore = %v, %v", seen, err)
	}
	if _, err := s.Call(ctx, "nope"); err == nil {
		t.Fatal("missing call found")
	}
}

func TestOutboxOrderAndAck(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		if err := s.Commit(ctx, Write{Outbox: []OutboxEntry{{ID: call.NewID(), Topic: "t", Payload: []byte{byte(i)}, CreatedAt: time.Now()}}}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.OutboxAfter(ctx, 0, 3)
	if err != nil || len(got) != 3 || got[0].Payload[0] != 0 || got[2].Seq <= got[1].Seq {
		t.Fatalf("OutboxAfter = %+v, %v", got, err)
	}
	if err := s.OutboxAck(ctx, got[0].Seq, got[1].Seq); err != nil {
		t.Fatal(err)
	}
	n, _, err := s.OutboxBacklog(ctx)
	if err != nil || n != 3 {
		t.Fatalf("backlog %d, %v", n, err)
	}
}
