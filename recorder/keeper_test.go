package recorder

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

func callID(i int) string { return fmt.Sprintf("0192f6a4-7b1c-7d2e-8f30-%012x", i) }

// diskUse is the bytes of every recording under root, in progress included, and the final files.
func diskUse(t *testing.T, root string) (int64, []string) {
	t.Helper()
	var total int64
	var finals []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if _, inProgress, ok := callIDFromName(d.Name()); ok {
			fi, _ := d.Info()
			total += fi.Size()
			if !inProgress {
				finals = append(finals, filepath.Base(p))
			}
		}
		return nil
	})
	sort.Strings(finals)
	return total, finals
}

// TestKeeperQuota records calls one after another beyond the quota, with one long call in
// progress the whole time (the oldest of all): the oldest finished recordings go first, the one in
// progress never, and the folder never holds more than the quota plus one file.
func TestKeeperQuota(t *testing.T) {
	root := t.TempDir()
	clk := &fakeClock{now: epoch}
	layout := Layout{Root: root}
	long, err := Start(layout, callID(999), epoch, WriterConfig{}, testLogger(t), clk)
	if err != nil {
		t.Fatal(err)
	}
	const perCall = 100 // packets: 2 s, 32 KB
	fileBytes := int64(headerBytes + perCall*160*2)
	quota := 4*fileBytes + fileBytes/2
	k, err := NewKeeper(KeeperConfig{Root: root, QuotaBytes: quota}, testLogger(t), clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	var evicted []string
	for i := 1; i <= 12; i++ {
		started := epoch.Add(time.Duration(i) * time.Hour)
		w, err := Start(layout, callID(i), started, WriterConfig{}, testLogger(t), clk)
		if err != nil {
			t.Fatal(err)
		}
		call := synthCall{packets: perCall, codec: Ulaw}
		pkts, _ := call.build()
		for j := range pkts {
			pkts[j].arrival = pkts[j].arrival.Add(time.Duration(i) * time.Hour)
		}
		r := play(t, w, clk, pkts, time.Time{})
		os.Chtimes(r.Path, started, started.Add(2*time.Second))
		// The long call keeps growing as well.
		long.Write(Caller, uint32(i*160), uint16(i), epoch.Add(time.Duration(i)*20*time.Millisecond), make([]byte, 160))

		if used, _ := diskUse(t, root); used > quota+fileBytes {
			t.Fatalf("after call %d, %d bytes on disk: more than quota %d plus one file", i, used, quota)
		}
		rep, err := k.Sweep(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		evicted = append(evicted, rep.Evicted...)
		used, finals := diskUse(t, root)
		if used > quota || rep.Bytes != used {
			t.Fatalf("after sweep %d: %d bytes (report %d), quota %d", i, used, rep.Bytes, quota)
		}
		if rep.InProgress != 1 {
			t.Fatalf("in progress %d", rep.InProgress)
		}
		// What is left is always the newest calls.
		for j, f := range finals {
			if want := callID(i-len(finals)+1+j) + ".wav"; f != want {
				t.Fatalf("after call %d kept %v", i, finals)
			}
		}
	}
	for j, p := range evicted {
		if want := callID(j+1) + ".wav"; filepath.Base(p) != want {
			t.Fatalf("eviction %d was %s, want %s", j, filepath.Base(p), want)
		}
	}
	if len(evicted) != 8 {
		t.Fatalf("evicted %d", len(evicted))
	}
	if _, err := os.Stat(filepath.Join(root, "2026", "11", "22", callID(999)+".wav.part")); err != nil {
		t.Fatalf("recording in progress: %v", err)
	}
	play(t, long, clk, nil, time.Time{})
}

func TestKeeperRetention(t *testing.T) {
	root := t.TempDir()
	now := epoch.AddDate(0, 2, 0)
	clk := &fakeClock{now: now}
	ages := map[int]int{1: 40, 2: 31, 3: 29, 4: 1} // call -> age in days
	for i, days := range ages {
		at := now.AddDate(0, 0, -days)
		p, _ := Layout{Root: root}.Path(callID(i), at)
		os.MkdirAll(filepath.Dir(p), FolderMode)
		h := header(Ulaw, 0)
		if err := os.WriteFile(p, h[:], FileMode); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, at, at)
	}
	// An in-progress file, however old, stays; so does a file that is not a recording.
	oldPart, _ := Layout{Root: root}.Path(callID(5), now.AddDate(0, 0, -90))
	oldPart += PartSuffix
	os.MkdirAll(filepath.Dir(oldPart), FolderMode)
	os.WriteFile(oldPart, []byte("x"), FileMode)
	os.Chtimes(oldPart, now.AddDate(0, 0, -90), now.AddDate(0, 0, -90))
	other := filepath.Join(root, "notes.txt")
	os.WriteFile(other, []byte("x"), FileMode)
	os.Chtimes(other, now.AddDate(0, 0, -90), now.AddDate(0, 0, -90))

	k, _ := NewKeeper(KeeperConfig{Root: root, RetentionDays: 30}, testLogger(t), clk, nil)
	rep, err := k.Sweep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Expired) != 2 || rep.Files != 2 || rep.InProgress != 1 {
		t.Fatalf("report %+v", rep)
	}
	_, finals := diskUse(t, root)
	if fmt.Sprint(finals) != fmt.Sprint([]string{callID(3) + ".wav", callID(4) + ".wav"}) {
		t.Fatalf("kept %v", finals)
	}
	for _, p := range []string{oldPart, other} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s removed", p)
		}
	}
	// The expired calls' day folders went with them.
	for _, i := range []int{1, 2} {
		p, _ := Layout{Root: root}.Path(callID(i), now.AddDate(0, 0, -ages[i]))
		if _, err := os.Stat(filepath.Dir(p)); !os.IsNotExist(err) {
			t.Fatalf("folder %s left: %v", filepath.Dir(p), err)
		}
	}
}

// TestKeeperExpiryPolicy: with an Expiry policy, retention removes the recordings in the window
// it returns, is given the newest recording's time, and removes none when it refuses; the quota
// still evicts oldest first.
func TestKeeperExpiryPolicy(t *testing.T) {
	root := t.TempDir()
	now := epoch.AddDate(0, 2, 0)
	var times []time.Time
	for i, days := range []int{50, 40, 20, 1} {
		at := now.AddDate(0, 0, -days)
		p, _ := Layout{Root: root}.Path(callID(i+1), at)
		os.MkdirAll(filepath.Dir(p), FolderMode)
		h := header(Ulaw, 0)
		if err := os.WriteFile(p, h[:], FileMode); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, at, at)
		times = append(times, at)
	}
	var refuse bool
	var seen time.Time
	expiry := func(newest time.Time) (time.Time, time.Time, error) {
		seen = newest
		if refuse {
			return time.Time{}, time.Time{}, errors.New("clock not trusted")
		}
		return times[1], now.AddDate(0, 0, -30), nil // the 50-day one is below the window
	}
	k, _ := NewKeeper(KeeperConfig{Root: root, RetentionDays: 30, Expiry: expiry}, testLogger(t), &fakeClock{now: now}, nil)
	refuse = true
	if rep, err := k.Sweep(context.Background()); err != nil || len(rep.Expired) != 0 || rep.Files != 4 {
		t.Fatalf("refused sweep: %+v, %v", rep, err)
	}
	if !seen.Equal(times[3]) {
		t.Fatalf("policy was given %v, want the newest recording's time %v", seen, times[3])
	}
	refuse = false
	rep, err := k.Sweep(context.Background())
	if err != nil || len(rep.Expired) != 1 || filepath.Base(rep.Expired[0]) != callID(2)+".wav" {
		t.Fatalf("sweep: %+v, %v; want the 40-day recording expired", rep, err)
	}
	// The quota does not ask the policy: with room for one file, the oldest go first.
	refuse = true
	k, _ = NewKeeper(KeeperConfig{Root: root, RetentionDays: 30, Expiry: expiry, QuotaBytes: 60}, testLogger(t), &fakeClock{now: now}, nil)
	rep, err = k.Sweep(context.Background())
	if err != nil || len(rep.Evicted) != 2 || filepath.Base(rep.Evicted[0]) != callID(1)+".wav" {
		t.Fatalf("quota sweep: %+v, %v", rep, err)
	}
}

// TestKeeperLowDisk fills a small file system past the threshold and frees it again: one signal
// each way.
func TestKeeperLowDisk(t *testing.T) {
	root := smallDisk(t, "2m")
	var got []DiskState
	k, _ := NewKeeper(KeeperConfig{Root: root, LowDiskBytes: 1 << 20}, testLogger(t), &fakeClock{now: epoch}, func(s DiskState) { got = append(got, s) })
	sweep := func() {
		if _, err := k.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	sweep()
	if len(got) != 0 {
		t.Fatalf("signalled on an empty disk: %+v", got)
	}
	filler := filepath.Join(root, "filler")
	os.WriteFile(filler, make([]byte, 1500<<10), 0o600)
	sweep()
	sweep()
	if len(got) != 1 || !got[0].Low || got[0].FreeBytes >= 1<<20 {
		t.Fatalf("after filling: %+v", got)
	}
	os.Remove(filler)
	sweep()
	if len(got) != 2 || got[1].Low {
		t.Fatalf("after freeing: %+v", got)
	}
}

// TestKeeperRun: Notify triggers a sweep of the running keeper, and Run stops with its context.
func TestKeeperRun(t *testing.T) {
	root := t.TempDir()
	clk := &fakeClock{now: epoch}
	k, _ := NewKeeper(KeeperConfig{Root: root, QuotaBytes: 1, SweepInterval: time.Hour}, testLogger(t), clk, nil)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error)
	go func() { stopped <- k.Run(ctx) }()
	p, _ := Layout{Root: root}.Path(callID(1), epoch)
	os.MkdirAll(filepath.Dir(p), FolderMode)
	os.WriteFile(p, []byte("RIFF"), FileMode)
	deadline := time.Now().Add(10 * time.Second)
	for {
		k.Notify()
		if _, err := os.Stat(p); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Notify did not trigger a sweep")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}
