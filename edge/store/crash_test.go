package store

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ringside/ringside/edge/call"
)

// The crash test re-executes the test binary as a writer child (crashChildEnv names its state
// directory). The child commits calls in a loop (live at arrival, then finished with its journal
// rows and its uplink message) and prints a line for each commit only after Commit returned; the
// parent kills it with SIGKILL at a random moment and checks what survived.
const (
	crashChildEnv = "RINGSIDE_CRASH_CHILD"
	crashSeedEnv  = "RINGSIDE_CRASH_SEED"
	// crashRounds is how many times the child is killed (issue 2 asks for at least 50).
	crashRounds = 50
	// crashWriters is how many goroutines commit at once in the child, so that kills also land in
	// the middle of group commits.
	crashWriters = 4
	// defaultCrashSeed makes a run reproducible; set RINGSIDE_CRASH_SEED to try another.
	defaultCrashSeed = 20261122
)

// runCrashChild is the child's body: it never returns normally before its deadline, it is killed.
func runCrashChild(dir string, seed uint64) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := Open(ctx, dir, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		os.Exit(3)
	}
	var out sync.Mutex
	say := func(format string, args ...any) {
		// One write(2) per line on the unbuffered os.Stdout: a line is in the pipe whole or not at all.
		line := fmt.Sprintf(format+"\n", args...)
		out.Lock()
		defer out.Unlock()
		if _, err := os.Stdout.WriteString(line); err != nil {
			os.Exit(4)
		}
	}
	deadline := time.Now().Add(30 * time.Second) // the parent kills us long before; this bounds an orphan
	var wg sync.WaitGroup
	for w := range crashWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for i := 0; i < 1_000_000 && time.Now().Before(deadline); i++ {
				id := call.NewID()
				evs := genJournal(rng, id, time.Now(), randomOutcome(rng))
				// A call usually reaches the store twice: live at arrival, finished at the end.
				split := 0
				if len(evs) > 3 {
					split = 3
					live, err := call.Rebuild(evs[:split])
					if err != nil {
						fmt.Fprintln(os.Stderr, "child rebuild:", err)
						os.Exit(5)
					}
					if err := s.Commit(ctx, Write{Record: &live, Events: evs[:split]}); err != nil {
						fmt.Fprintln(os.Stderr, "child commit:", err)
						os.Exit(6)
					}
					say("LIVE %s %d", id, split)
				}
				rec, err := call.Rebuild(evs)
				if err != nil {
					fmt.Fprintln(os.Stderr, "child rebuild:", err)
					os.Exit(5)
				}
				// The finished call's uplink message commits with it, as the tracker does.
				msg := OutboxEntry{ID: "msg-" + id, Topic: "ringside/v1/crash/calls", Payload: []byte(id), CreatedAt: time.Now()}
				if err := s.Commit(ctx, Write{Record: &rec, Events: evs[split:], Outbox: []OutboxEntry{msg}}); err != nil {
					fmt.Fprintln(os.Stderr, "child commit:", err)
					os.Exit(6)
				}
				say("DONE %s %d %s", id, len(evs), rec.Outcome)
			}
		}()
	}
	wg.Wait()
	s.Close()
	os.Exit(0)
}

// committed is what the child said was durable for one call.
type committed struct {
	events  int          // journal rows the call had at its last returned commit
	outcome call.Outcome // "" while live
}

func TestCrashSafety(t *testing.T) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		seed, _ := strconv.ParseUint(os.Getenv(crashSeedEnv), 10, 64)
		runCrashChild(dir, seed)
		return
	}
	seed := uint64(defaultCrashSeed)
	if v := os.Getenv(crashSeedEnv); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("%s=%q: %v", crashSeedEnv, v, err)
		}
	}
	t.Logf("seed %d (set %s to reproduce another run)", seed, crashSeedEnv)
	rng := rand.New(rand.NewPCG(seed, 0))
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}

	want := map[string]committed{} // every call whose commit returned, in any round so far
	verified := map[string]bool{}  // calls whose journal has been rebuilt and compared once
	totalDone, earlyKills := 0, 0
	for round := range crashRounds {
		// One round in five is killed at a random moment from the child's start, so kills also land
		// in start-up and migration; the others are killed a random delay after the first commit.
		fromStart := rng.IntN(5) == 0
		delay := time.Duration(20+rng.IntN(181)) * time.Millisecond
		lines, stderr := runAndKill(t, exe, dir, seed+uint64(round)+1, fromStart, delay)
		if fromStart {
			earlyKills++
		}
		for _, l := range lines {
			f := strings.Fields(l)
			switch {
			case len(f) == 3 && f[0] == "LIVE":
				n, _ := strconv.Atoi(f[2])
				if c, ok := want[f[1]]; !ok || c.events < n {
					want[f[1]] = committed{events: n}
				}
			case len(f) == 4 && f[0] == "DONE":
				n, _ := strconv.Atoi(f[2])
				want[f[1]] = committed{events: n, outcome: call.Outcome(f[3])}
				totalDone++
			default:
				t.Fatalf("round %d: child printed %q; stderr:\n%s", round, l, stderr)
			}
		}
		checkCrashedStore(t, dir, round, want, verified)
	}
	if totalDone == 0 {
		t.Fatal("the child never committed a finished call")
	}
	t.Logf("%d kills (%d from start), %d calls finished, %d finished calls rebuilt from their journals",
		crashRounds, earlyKills, totalDone, len(verified))
}

// runAndKill starts the child, kills it with SIGKILL after delay (counted from the start, or from the
// child's first committed line), and returns every complete line it printed.
func runAndKill(t *testing.T, exe, dir string, seed uint64, fromStart bool, delay time.Duration) ([]string, string) {
	t.Helper()
	cmd := exec.Command(exe, "-test.run=^TestCrashSafety$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir, crashSeedEnv+"="+strconv.FormatUint(seed, 10))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	type result struct {
		lines []string
		err   error
	}
	first := make(chan struct{})
	done := make(chan result, 1)
	go func() {
		var lines []string
		r := bufio.NewReader(stdout)
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				// A line without its newline was cut by the kill: it was never complete, drop it.
				if errors.Is(err, io.EOF) {
					err = nil
				}
				done <- result{lines, err}
				return
			}
			lines = append(lines, strings.TrimSuffix(l, "\n"))
			if len(lines) == 1 {
				close(first)
			}
		}
	}()
	if !fromStart {
		select {
		case <-first:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("the child committed nothing in 30 s; stderr:\n%s", stderr.String())
		}
	}
	time.Sleep(delay)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill: %v", err)
	}
	var res result
	select {
	case res = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the child's output did not end after SIGKILL")
	}
	werr := cmd.Wait()
	if res.err != nil {
		t.Fatalf("read child output: %v", res.err)
	}
	var ee *exec.ExitError
	if !errors.As(werr, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the child ended by itself before the kill (%v); stderr:\n%s", werr, stderr.String())
	}
	return res.lines, stderr.String()
}

// checkCrashedStore opens the database the killed child left, checks its integrity, and checks that
// every committed call is there whole: the record, its journal rows, and a record rebuilt from those
// rows that agrees with the stored one.
func checkCrashedStore(t *testing.T, dir string, round int, want map[string]committed, verified map[string]bool) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(dir, FileName)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) && len(want) == 0 {
		return // killed before the database was even created
	}
	// Integrity first, on a plain connection, as a fresh start of the appliance would meet the file.
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	var res string
	if err := raw.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil {
		raw.Close()
		t.Fatalf("round %d: integrity_check: %v", round, err)
	}
	raw.Close()
	if res != "ok" {
		t.Fatalf("round %d: integrity_check = %q", round, res)
	}

	s, err := Open(ctx, dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("round %d: reopen after kill: %v", round, err)
	}
	defer s.Close()

	// Every committed call, from every round so far, is present with what its last commit said.
	stored := map[string]struct {
		outcome call.Outcome
		events  int
	}{}
	rows, err := s.reader.QueryContext(ctx,
		`SELECT c.id, c.outcome, (SELECT COUNT(*) FROM journal j WHERE j.call_id = c.id) FROM calls c`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, outcome string
		var n int
		if err := rows.Scan(&id, &outcome, &n); err != nil {
			t.Fatal(err)
		}
		stored[id] = struct {
			outcome call.Outcome
			events  int
		}{call.Outcome(outcome), n}
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	for id, c := range want {
		got, ok := stored[id]
		switch {
		case !ok:
			t.Fatalf("round %d: call %s was committed but is missing", round, id)
		case got.events < c.events:
			t.Fatalf("round %d: call %s has %d journal rows, %d were committed", round, id, got.events, c.events)
		case c.outcome != "" && (got.outcome != c.outcome || got.events != c.events):
			t.Fatalf("round %d: call %s stored as %q with %d rows, committed as %q with %d",
				round, id, got.outcome, got.events, c.outcome, c.events)
		}
	}
	var orphans int
	if err := s.reader.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM journal WHERE call_id NOT IN (SELECT id FROM calls)`).Scan(&orphans); err != nil {
		t.Fatal(err)
	}
	if orphans != 0 {
		t.Fatalf("round %d: %d journal rows without their call: a transaction was split", round, orphans)
	}

	// A finished call and its uplink message were committed together: neither is there without
	// the other.
	var unpaired int
	if err := s.reader.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM calls WHERE outcome != '' AND 'msg-' || id NOT IN (SELECT id FROM outbox)) +
		(SELECT COUNT(*) FROM outbox WHERE CAST(payload AS TEXT) NOT IN (SELECT id FROM calls WHERE outcome != ''))`).Scan(&unpaired); err != nil {
		t.Fatal(err)
	}
	if unpaired != 0 {
		t.Fatalf("round %d: %d finished calls or outbox messages without the other", round, unpaired)
	}

	// Every call not yet checked (including any whose commit was in flight at the kill) rebuilds from
	// its journal into the stored record: record and journal were committed together.
	for id, st := range stored {
		if verified[id] && st.outcome != "" {
			continue
		}
		rec, err := s.Call(ctx, id)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		j, err := s.Journal(ctx, id)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		again, err := call.Rebuild(j)
		if err != nil {
			t.Fatalf("round %d: rebuild %s: %v", round, id, err)
		}
		if d := sameRecord(rec, again); d != "" {
			t.Fatalf("round %d: call %s: stored record and its rebuilt journal differ:%s", round, id, d)
		}
		if st.outcome != "" {
			verified[id] = true
		}
	}
}
