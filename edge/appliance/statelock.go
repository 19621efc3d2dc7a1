package appliance

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// LockFileName is the lock file inside the state directory. One Ringside at a time holds an
// exclusive flock(2) on it; the kernel drops the lock when the holder's process ends, however it
// ends (SIGKILL and power loss included), so a stale lock file never blocks a restart.
const LockFileName = "ringside.lock"

// ErrStateDirInUse: another Ringside holds the state directory's lock.
var ErrStateDirInUse = errors.New("state directory is in use by another ringside")

// lockStateDir creates dir if needed and takes its lock without waiting, before anything in it is
// opened or repaired: a second instance on the same folder must not mistake the first one's live
// calls and open recordings for a crash's leftovers. The lock file holds the holder's pid (for the
// error a second instance prints; the lock itself is the flock, not the file's content).
func lockStateDir(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create state directory: %w", err)
	}
	path := filepath.Join(dir, LockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder := "unknown pid"
		if b, rerr := os.ReadFile(path); rerr == nil {
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil {
				holder = "pid " + strconv.Itoa(pid)
			}
		}
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is locked by %s", ErrStateDirInUse, path, holder)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err != nil {
		f.Close()
		return nil, fmt.Errorf("write lock %s: %w", path, err)
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("write lock %s: %w", path, err)
	}
	return f, nil
}
