package store_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/ringside/ringside/edge/call"
	"github.com/ringside/ringside/edge/store"
	"github.com/ringside/ringside/edge/store/storetest"
)

// arrivedWrite is the first write of a call: its record and its arrival, with an uplink message.
func arrivedWrite(t *testing.T, at time.Time, msgID string) store.Write {
	t.Helper()
	id := call.NewID()
	ev := call.Event{CallID: id, Kind: call.KindArrived, At: at, Arrival: &call.Arrival{Line: "trunk",
		TrackingNumber: "+12125550101", DialedNumber: "+12125550101", CallerNumber: "+12125550199",
		Attribution: call.Attribution{Source: "direct"}}}
	rec, err := call.Rebuild([]call.Event{ev})
	if err != nil {
		t.Fatal(err)
	}
	w := store.Write{Record: &rec, Events: []call.Event{ev}}
	if msgID != "" {
		w.Outbox = []store.OutboxEntry{{ID: msgID, Topic: "t", Payload: []byte("x"), CreatedAt: at}}
	}
	return w
}

// TestWriteErrorsClassified: a write that breaks a UNIQUE key is permanent and can be set aside,
// after which the store goes on taking writes; a write onto a full disk (a real 2 MiB tmpfs) fails
// with SQLITE_FULL, is transient, and succeeds once the disk has room again.
func TestWriteErrorsClassified(t *testing.T) {
	ctx := context.Background()
	dir := storetest.SmallDisk(t, "2m")
	s, err := store.Open(ctx, filepath.Join(dir, "state"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	at := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

	if err := s.Commit(ctx, arrivedWrite(t, at, "m1")); err != nil {
		t.Fatal(err)
	}
	dup := arrivedWrite(t, at, "m1") // the uplink message id is taken: this can never be written
	err = s.Commit(ctx, dup)
	var se *sqlite.Error
	if !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_CONSTRAINT {
		t.Fatalf("duplicate message id: %v, want SQLITE_CONSTRAINT", err)
	}
	if !store.Permanent(err) {
		t.Fatalf("a UNIQUE violation is not permanent: %v", err)
	}
	if err := s.SetAside(ctx, dup, err, at); err != nil {
		t.Fatal(err)
	}
	dl, err := s.DeadLetters(ctx, 10)
	if err != nil || len(dl) != 1 || dl[0].CallID != dup.Record.ID || !strings.Contains(dl[0].Cause, "UNIQUE") ||
		!strings.Contains(dl[0].Write, dup.Record.ID) {
		t.Fatalf("dead letters = %+v, %v", dl, err)
	}
	if err := s.Commit(ctx, arrivedWrite(t, at, "m2")); err != nil {
		t.Fatalf("a write after the one set aside: %v", err)
	}

	free := storetest.Fill(t, filepath.Join(dir, "filler"), 0)
	var full error
	for i := 0; i < 200 && full == nil; i++ { // the WAL may still hold a few pages
		full = s.Commit(ctx, arrivedWrite(t, at, ""))
	}
	if !errors.As(full, &se) || se.Code()&0xff != sqlite3.SQLITE_FULL {
		t.Fatalf("write onto a full disk: %v, want SQLITE_FULL", full)
	}
	if store.Permanent(full) {
		t.Fatalf("a full disk is permanent: %v", full)
	}
	free()
	w := arrivedWrite(t, at, "m3")
	if err := s.Commit(ctx, w); err != nil {
		t.Fatalf("write after the disk was freed: %v", err)
	}
	if _, err := s.Call(ctx, w.Record.ID); err != nil {
		t.Fatal(err)
	}
	if store.Permanent(context.Canceled) || store.Permanent(store.ErrClosed) || store.Permanent(nil) {
		t.Fatal("cancellation or a closed store classified permanent")
	}
}
