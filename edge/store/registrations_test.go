package store

import (
	"context"
	"log/slog"
	"testing"
	"time"
)

// TestRegistrationsRoundTrip: a saved binding reads back whole, a second save replaces it, and a
// delete removes it; the rows survive closing and reopening the database.
func TestRegistrationsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Open(ctx, dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 6, 9, 30, 0, 0, time.UTC)
	alice := Registration{User: "alice", Contact: "sip:alice@192.0.2.7:5062;transport=tcp", Source: "192.0.2.7:5062",
		Transport: "TCP", Granted: at, Expires: time.Hour}
	bob := Registration{User: "bob", Contact: "sip:bob@192.0.2.8", Source: "192.0.2.8:5060", Transport: "UDP",
		Granted: at, Expires: 10 * time.Minute}
	for _, r := range []Registration{alice, bob} {
		if err := s.SaveRegistration(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	alice.Granted, alice.Expires = at.Add(30*time.Minute), 20*time.Minute
	if err := s.SaveRegistration(ctx, alice); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Registrations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != alice || got[1] != bob {
		t.Fatalf("registrations = %+v, want %+v and %+v", got, alice, bob)
	}
	if err := s.DeleteRegistration(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Registrations(ctx); err != nil || len(got) != 1 || got[0] != bob {
		t.Fatalf("after delete: %+v, %v", got, err)
	}
}
