package recorder

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Defaults for KeeperConfig.
const (
	// DefaultSweepInterval: retention is in days and the quota is re-checked after every recording
	// (Keeper.Notify), so a periodic sweep only catches what notifications missed.
	DefaultSweepInterval = 5 * time.Minute
	// maxSweepFiles bounds one sweep's walk.
	maxSweepFiles = 1_000_000
)

// KeeperConfig sets the disk policy for recordings.
type KeeperConfig struct {
	Root string
	// RetentionDays removes recordings older than this many days (by file time); 0 keeps them forever.
	RetentionDays int
	// QuotaBytes caps the bytes of all recordings, in progress included; 0 means no quota.
	QuotaBytes int64
	// LowDiskBytes raises the low-disk signal when the file system holding Root has less free space
	// for unprivileged users than this; 0 disables the check. Writers given the same figure as
	// WriterConfig.MinFreeBytes stop there, so the signal marks the floor they keep free.
	LowDiskBytes uint64
	// SweepInterval paces Run (default DefaultSweepInterval).
	SweepInterval time.Duration
	// Expiry, when set, decides which recordings retention removes: those whose file time is in
	// [from, before). It is given the newest final recording's file time (zero when there is none)
	// and may refuse with an error (a wall clock that cannot be trusted): then nothing expires in
	// that sweep, and the quota still applies. Nil: every recording older than RetentionDays by
	// the Clock expires.
	Expiry func(newest time.Time) (from, before time.Time, err error)
}

// DiskState is delivered to the low-disk callback when free space crosses LowDiskBytes, either way.
type DiskState struct {
	Low       bool
	FreeBytes uint64
	Threshold uint64
}

// SweepReport says what one sweep did.
type SweepReport struct {
	Files      int   // final recordings after the sweep
	InProgress int   // recordings being written (never removed)
	Bytes      int64 // all recordings after the sweep, in progress included
	Expired    []string
	Evicted    []string
	FreeBytes  uint64
}

// Keeper enforces retention and quota on the recordings folder, oldest first, never touching a
// recording in progress (a .part file), and watches free disk space.
type Keeper struct {
	cfg    KeeperConfig
	log    *slog.Logger
	clock  Clock
	onDisk func(DiskState)
	notify chan struct{}
	low    bool
}

// NewKeeper returns a Keeper; onDisk (may be nil) is called from the sweeping goroutine.
func NewKeeper(cfg KeeperConfig, log *slog.Logger, clock Clock, onDisk func(DiskState)) (*Keeper, error) {
	if cfg.Root == "" {
		return nil, fmt.Errorf("%w: Root is empty", ErrConfig)
	}
	if cfg.RetentionDays < 0 || cfg.QuotaBytes < 0 || cfg.SweepInterval < 0 {
		return nil, fmt.Errorf("%w: RetentionDays, QuotaBytes and SweepInterval must not be negative", ErrConfig)
	}
	if cfg.SweepInterval == 0 {
		cfg.SweepInterval = DefaultSweepInterval
	}
	if onDisk == nil {
		onDisk = func(DiskState) {}
	}
	return &Keeper{cfg: cfg, log: log, clock: clock, onDisk: onDisk, notify: make(chan struct{}, 1)}, nil
}

// Notify asks Run for a sweep soon (call it when a recording closes). It never blocks.
func (k *Keeper) Notify() {
	select {
	case k.notify <- struct{}{}:
	default:
	}
}

// sweepDuty bounds the share of one core sweeps may take: after a sweep that took d, the next
// waits at least (sweepDuty-1)*d. A sweep stats every recording, so when a thousand calls end at
// once on a box holding months of recordings, their notifications fold into a few sweeps instead
// of starving the recordings still being written. Small folders sweep in a millisecond, so their
// quota is checked after nearly every recording.
const sweepDuty = 10

// Run sweeps at start, on Notify and every SweepInterval, until ctx is done.
func (k *Keeper) Run(ctx context.Context) error {
	t := time.NewTicker(k.cfg.SweepInterval)
	defer t.Stop()
	for {
		began := time.Now()
		if _, err := k.Sweep(ctx); err != nil && ctx.Err() == nil {
			k.log.Warn("recordings sweep failed", "err", err)
		}
		rest := time.NewTimer(time.Since(began) * (sweepDuty - 1))
		select {
		case <-ctx.Done():
			rest.Stop()
			return nil
		case <-rest.C:
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-k.notify:
		}
	}
}

type recording struct {
	path string
	size int64
	mod  time.Time
}

// Sweep runs one pass: expire by retention, then evict oldest-first until under quota, then check
// free space. Sweep is not safe for concurrent use; Run is its only caller in the appliance.
func (k *Keeper) Sweep(ctx context.Context) (SweepReport, error) {
	var rep SweepReport
	var finals []recording
	var total int64
	n := 0
	err := filepath.WalkDir(k.cfg.Root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == k.cfg.Root && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		if n++; n > maxSweepFiles {
			return fmt.Errorf("recorder: more than %d entries under %s", maxSweepFiles, k.cfg.Root)
		}
		if n%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		_, inProgress, ok := callIDFromName(d.Name())
		if !ok {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil // removed under us
		}
		total += fi.Size()
		if inProgress {
			rep.InProgress++
			return nil
		}
		finals = append(finals, recording{path, fi.Size(), fi.ModTime()})
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("recorder: sweep %s: %w", k.cfg.Root, err)
	}
	sort.Slice(finals, func(i, j int) bool {
		if !finals[i].mod.Equal(finals[j].mod) {
			return finals[i].mod.Before(finals[j].mod)
		}
		return finals[i].path < finals[j].path
	})
	keep := finals[:0]
	if from, before, ok := k.expiry(finals); ok {
		for _, r := range finals {
			if !r.mod.Before(from) && r.mod.Before(before) && k.remove(r.path) {
				total -= r.size
				rep.Expired = append(rep.Expired, r.path)
				continue
			}
			keep = append(keep, r)
		}
		finals = keep
	}
	if q := k.cfg.QuotaBytes; q > 0 {
		i := 0
		for ; i < len(finals) && total > q; i++ {
			if k.remove(finals[i].path) {
				total -= finals[i].size
				rep.Evicted = append(rep.Evicted, finals[i].path)
			}
		}
		finals = finals[i:]
		if total > q {
			k.log.Warn("recordings in progress exceed the quota", "bytes", total, "quota", q)
		}
	}
	rep.Files, rep.Bytes = len(finals), total
	if len(rep.Expired)+len(rep.Evicted) > 0 {
		k.log.Info("recordings removed", "expired", len(rep.Expired), "evicted", len(rep.Evicted))
		k.pruneFolders(append(rep.Expired, rep.Evicted...))
	}
	if k.cfg.LowDiskBytes > 0 {
		free, err := freeBytes(k.cfg.Root)
		if err != nil {
			return rep, err
		}
		rep.FreeBytes = free
		low := free < k.cfg.LowDiskBytes
		if low != k.low {
			k.low = low
			k.onDisk(DiskState{Low: low, FreeBytes: free, Threshold: k.cfg.LowDiskBytes})
		}
	}
	return rep, nil
}

// expiry is the file times retention removes in this sweep, [from, before); ok is false when
// nothing expires. finals are sorted oldest first.
func (k *Keeper) expiry(finals []recording) (from, before time.Time, ok bool) {
	if k.cfg.RetentionDays <= 0 {
		return
	}
	if k.cfg.Expiry == nil {
		return time.Time{}, k.clock.Now().AddDate(0, 0, -k.cfg.RetentionDays), true
	}
	var newest time.Time
	if len(finals) > 0 {
		newest = finals[len(finals)-1].mod
	}
	from, before, err := k.cfg.Expiry(newest)
	if err != nil {
		return time.Time{}, time.Time{}, false // the policy logs its refusal
	}
	return from, before, true
}

func (k *Keeper) remove(path string) bool {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		k.log.Warn("could not remove recording", "path", path, "err", err)
		return false
	}
	return true
}

// pruneFolders removes day, month and year folders left empty (os.Remove fails on a non-empty one).
func (k *Keeper) pruneFolders(removed []string) {
	root := filepath.Clean(k.cfg.Root)
	for _, p := range removed {
		dir := filepath.Dir(p)
		for i := 0; i < 3 && strings.HasPrefix(dir, root+string(filepath.Separator)); i++ {
			if os.Remove(dir) != nil {
				break
			}
			dir = filepath.Dir(dir)
		}
	}
}

// freeBytes is the space left to unprivileged users on the file system holding path (statfs(2)).
func freeBytes(path string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, fmt.Errorf("recorder: statfs %s: %w", path, err)
	}
	return st.Bavail * uint64(st.Bsize), nil
}
