package tracker

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/ringside/ringside/edge/call"
	"github.com/ringside/ringside/edge/store"
	"github.com/ringside/ringside/edge/store/storetest"
)

// TestWriteThatCanNeverSucceedIsSetAside: the uplink hands every finished call the same message id,
// so the second call's final write breaks the outbox's UNIQUE key and can never succeed. It is set
// aside in the dead-letter table, the call's record is saved without the message, and the calls
// after it keep flowing (before, the tracker retried that write forever and stopped recording).
func TestWriteThatCanNeverSucceedIsSetAside(t *testing.T) {
	h := start(t, t.TempDir(), funcUplink(func(r call.Record, _ int) ([]store.OutboxEntry, error) {
		return []store.OutboxEntry{{ID: "always-the-same", Topic: "t", Payload: []byte(r.ID), CreatedAt: r.Ended}}, nil
	}))
	defer h.stop()
	t0 := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 3 {
		at := t0.Add(time.Duration(i) * time.Minute)
		id := h.arrive("+442079460001", "+447700900123", at)
		h.end(id, at, time.Second, call.Abandoned)
		ids = append(ids, id)
	}
	h.sync()
	ctx := context.Background()
	for i, id := range ids {
		r, err := h.st.Call(ctx, id)
		if err != nil || r.Outcome != call.Abandoned {
			t.Fatalf("call %d: %+v, %v", i, r, err)
		}
	}
	dl, err := h.st.DeadLetters(ctx, 10)
	if err != nil || len(dl) != 2 || dl[0].CallID != ids[1] || dl[1].CallID != ids[2] {
		t.Fatalf("dead letters %+v, %v; want the final writes of calls 1 and 2", dl, err)
	}
	if n := h.tr.SetAside(); n != 2 {
		t.Fatalf("SetAside = %d, want 2", n)
	}
	if err := h.tr.Saving(); err != nil {
		t.Fatalf("Saving = %v after writes were set aside", err)
	}
	if backlog, _, _ := h.st.OutboxBacklog(ctx); backlog != 1 {
		t.Fatalf("outbox holds %d messages, want the first call's", backlog)
	}
}

// TestFullDiskHoldsRecordsAndRecovers fills the database's file system (a real 2 MiB tmpfs): the
// tracker says records cannot be saved, still answers pings (the watchdog must not restart the box
// and lose what waits in memory), and once the disk has room again every record is written and
// Saving clears by itself.
func TestFullDiskHoldsRecordsAndRecovers(t *testing.T) {
	disk := storetest.SmallDisk(t, "2m")
	h := start(t, filepath.Join(disk, "state"), nil)
	defer h.stop()
	t0 := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	first := h.arrive("+442079460001", "+447700900123", t0)
	h.end(first, t0, time.Second, call.Abandoned)
	h.sync()

	free := storetest.Fill(t, filepath.Join(disk, "filler"), 0)
	var ids []string
	deadline := time.Now().Add(30 * time.Second)
	for h.tr.Saving() == nil {
		if time.Now().After(deadline) || len(ids) > 2000 {
			t.Fatalf("the tracker never said records cannot be saved (%d calls posted)", len(ids))
		}
		if len(ids) < 2000 {
			at := t0.Add(time.Duration(len(ids)+1) * time.Second)
			id := h.arrive("+442079460001", "+447700900124", at)
			h.end(id, at, time.Second, call.Abandoned)
			ids = append(ids, id)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := h.tr.Saving(); !errors.Is(err, ErrUnsaved) {
		t.Fatalf("Saving = %v, want ErrUnsaved", err)
	}
	h.sync() // answered while the write is retried

	free()
	deadline = time.Now().Add(30 * time.Second)
	for h.tr.Saving() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("records still cannot be saved after the disk was freed: %v", h.tr.Saving())
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.sync()
	ctx := context.Background()
	for _, id := range append(ids, first) {
		if r, err := h.st.Call(ctx, id); err != nil || r.Outcome != call.Abandoned {
			t.Fatalf("call %s after the disk was freed: %+v, %v", id, r, err)
		}
	}
	if n := h.tr.SetAside(); n != 0 {
		t.Fatalf("SetAside = %d: a full disk is not a reason to set a record aside", n)
	}
}
