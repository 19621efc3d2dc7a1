package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ringside/ringside/edge/call"
)

// openRaw opens the database file in dir the way Open does, without migrating.
func openRaw(t *testing.T, dir string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, FileName)+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	return db
}

func userVersion(t *testing.T, db *sql.DB) int {
	t.Helper()
	var v int
	if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// insertV1 writes a finished call and its journal with the column list of schema version 1, as a
// program of that version wrote them (not through today's code, whose columns may have moved on).
func insertV1(t *testing.T, db *sql.DB, rec call.Record, evs []call.Event) {
	t.Helper()
	q, _ := json.Marshal(call.Quality{Caller: rec.CallerQuality, Agent: rec.AgentQuality})
	ms := func(tm time.Time) any {
		if tm.IsZero() {
			return nil
		}
		return tm.UnixMilli()
	}
	a := rec.Attribution
	_, err := db.Exec(`INSERT INTO calls (id, line, tracking_number, dialed_number, caller_number, caller_name,
		withheld, source, campaign, medium, keyword, gclid, landing_page, queue, agent, arrived_ms, answered_ms,
		connected_ms, ended_ms, wait_ms, talk_ms, hold_ms, hold_count, outcome, reason, first_time, recording,
		recording_status, quality, lead, converted, revenue_cents, notes, tagged_by, tagged_ms)
		VALUES (?,?,?,?,?,?, ?,?,?,?,?,?,?,?,?,?,?, ?,?,?,?,?,?,?,?,?,?, ?,?,?,?,?,?,?,?)`,
		rec.ID, rec.Line, rec.TrackingNumber, rec.DialedNumber, rec.CallerNumber, rec.CallerName,
		boolInt(rec.Withheld), a.Source, a.Campaign, a.Medium, a.Keyword, a.GCLID, a.LandingPage, rec.Queue, rec.Agent,
		rec.Arrived.UnixMilli(), ms(rec.Answered), ms(rec.Connected), ms(rec.Ended),
		rec.Wait.Milliseconds(), rec.Talk.Milliseconds(), rec.HoldTotal.Milliseconds(), rec.HoldCount,
		string(rec.Outcome), rec.Reason, boolInt(rec.FirstTime), rec.Recording, rec.RecordingStatus, string(q),
		nil, 0, 0, "", "", nil)
	if err != nil {
		t.Fatalf("insert v1 call: %v", err)
	}
	for _, ev := range evs {
		body, _ := json.Marshal(ev)
		if _, err := db.Exec(`INSERT INTO journal (call_id, seq, kind, at_ms, body) VALUES (?,?,?,?,?)`,
			ev.CallID, ev.Seq, string(ev.Kind), ev.At.UnixMilli(), string(body)); err != nil {
			t.Fatalf("insert v1 journal: %v", err)
		}
	}
}

// TestMigrateFromVersion1 builds a database at schema version 1, fills it as version 1 did, and opens
// it with this program: every later migration applies, and the old data reads back whole.
func TestMigrateFromVersion1(t *testing.T) {
	if SchemaVersion() < 1 {
		t.Fatal("no migrations embedded")
	}
	ctx := context.Background()
	dir := t.TempDir()
	db := openRaw(t, dir)
	if err := migrateTo(ctx, db, 1); err != nil {
		t.Fatal(err)
	}
	if v := userVersion(t, db); v != 1 {
		t.Fatalf("user_version after migrateTo(1) = %d", v)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	at := time.Date(2026, 3, 8, 6, 59, 0, 0, time.UTC) // the night US clocks go forward
	var recs []call.Record
	for i, o := range call.Outcomes {
		id := call.NewID()
		evs := genJournal(rng, id, at.Add(time.Duration(i)*time.Minute), o)
		rec, err := call.Rebuild(evs)
		if err != nil {
			t.Fatal(err)
		}
		insertV1(t, db, rec, evs)
		recs = append(recs, rec)
	}
	if _, err := db.Exec(`INSERT INTO outbox (id, topic, payload, created_ms) VALUES ('m1', 'ringside/v1/x/calls', x'7b7d', 1)`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(ctx, dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("open a version 1 database: %v", err)
	}
	defer s.Close()
	var v int
	if err := s.reader.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != SchemaVersion() {
		t.Fatalf("user_version after Open = %d, want %d", v, SchemaVersion())
	}
	for _, want := range recs {
		got, err := s.Call(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d := sameRecord(got, want); d != "" {
			t.Fatalf("call %s after migration:%s", want.ID, d)
		}
		j, err := s.Journal(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		again, err := call.Rebuild(j)
		if err != nil {
			t.Fatal(err)
		}
		if d := sameRecord(again, want); d != "" {
			t.Fatalf("call %s rebuilt after migration:%s", want.ID, d)
		}
	}
	ob, err := s.OutboxAfter(ctx, 0, 10)
	if err != nil || len(ob) != 1 || ob[0].ID != "m1" || string(ob[0].Payload) != "{}" {
		t.Fatalf("outbox after migration = %+v, %v", ob, err)
	}
	// The migrated database takes new writes, and an outbox seq is never reused (AUTOINCREMENT kept).
	id := call.NewID()
	evs := genJournal(rng, id, at.Add(time.Hour), call.Connected)
	rec, err := call.Rebuild(evs)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, Write{Record: &rec, Events: evs, Outbox: []OutboxEntry{{ID: "m2", Topic: "t", Payload: []byte("x"), CreatedAt: at}}}); err != nil {
		t.Fatalf("commit after migration: %v", err)
	}
	if got, err := s.Call(ctx, id); err != nil || sameRecord(got, rec) != "" {
		t.Fatalf("new call after migration: %v %s", err, sameRecord(got, rec))
	}
	if err := s.OutboxAck(ctx, ob[0].Seq); err != nil {
		t.Fatal(err)
	}
	ob2, err := s.OutboxAfter(ctx, 0, 10)
	if err != nil || len(ob2) != 1 || ob2[0].ID != "m2" || ob2[0].Seq <= ob[0].Seq {
		t.Fatalf("outbox = %+v, %v", ob2, err)
	}
}

// TestMigrateEachStep applies the migrations one version at a time, the way a box upgraded through
// every release would, and checks that each step moves user_version by exactly one and that the
// result has the same tables, indexes and triggers as a fresh database.
func TestMigrateEachStep(t *testing.T) {
	ctx := context.Background()
	stepped := openRaw(t, t.TempDir())
	defer stepped.Close()
	for v := 1; v <= SchemaVersion(); v++ {
		if err := migrateTo(ctx, stepped, v); err != nil {
			t.Fatalf("migrate to %d: %v", v, err)
		}
		if got := userVersion(t, stepped); got != v {
			t.Fatalf("user_version = %d, want %d", got, v)
		}
	}
	// Applying again is a no-op: the migrations already applied are not run twice.
	if err := migrate(ctx, stepped); err != nil {
		t.Fatalf("migrate an up-to-date database: %v", err)
	}
	// Asking for an older version changes nothing: migrations only go forward.
	if err := migrateTo(ctx, stepped, 1); err != nil {
		t.Fatalf("migrateTo an older version: %v", err)
	}
	if got := userVersion(t, stepped); got != SchemaVersion() {
		t.Fatalf("user_version = %d after asking for 1, want %d", got, SchemaVersion())
	}
	fresh := openRaw(t, t.TempDir())
	defer fresh.Close()
	if err := migrate(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	schema := func(db *sql.DB) string {
		rows, err := db.Query(`SELECT type || ' ' || name || ' ' || COALESCE(sql, '') FROM sqlite_schema ORDER BY type, name`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var b bytes.Buffer
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			b.WriteString(s + "\n")
		}
		return b.String()
	}
	if a, b := schema(stepped), schema(fresh); a != b || a == "" {
		t.Fatalf("stepwise schema differs from fresh:\n%s\n---\n%s", a, b)
	}
}

// TestNewerSchemaRefused: a database written by a newer Ringside is refused with ErrNewerSchema and
// its file is left exactly as it was (no downgrade, no partial migration).
func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	id := call.NewID()
	evs := genJournal(rand.New(rand.NewPCG(3, 4)), id, time.Now(), call.Connected)
	rec, _ := call.Rebuild(evs)
	if err := s.Commit(ctx, Write{Record: &rec, Events: evs}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	newer := SchemaVersion() + 3
	db := openRaw(t, dir)
	if _, err := db.Exec("PRAGMA user_version = " + strconv.Itoa(newer)); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, FileName)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	stBefore, _ := os.Stat(path)

	s2, err := Open(ctx, dir, slog.New(slog.DiscardHandler))
	if err == nil {
		s2.Close()
		t.Fatal("a newer database was opened")
	}
	if !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("err = %v, want ErrNewerSchema", err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Fatal("the refused database file changed")
	}
	if stAfter, _ := os.Stat(path); stAfter.Mode() != stBefore.Mode() {
		t.Fatalf("mode changed from %v to %v", stBefore.Mode(), stAfter.Mode())
	}
	db = openRaw(t, dir)
	defer db.Close()
	if v := userVersion(t, db); v != newer {
		t.Fatalf("user_version = %d, want %d", v, newer)
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM journal WHERE call_id = ?`, id).Scan(&n); err != nil || n != len(evs) {
		t.Fatalf("journal rows = %d, %v; want %d", n, err, len(evs))
	}
}
