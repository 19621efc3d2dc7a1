package storetest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// SmallDisk mounts a tmpfs of the given size (mount's syntax: "2m") on a fresh folder and returns
// it, unmounted when the test ends: a real file system that fills up. Mounting needs root: without
// it the test is skipped, except in CI (CI=true), where it fails.
func SmallDisk(t testing.TB, size string) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mount tmpfs (the CI runs as root): %v %s", err, out)
		}
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// Fill writes a file at path that leaves about leave bytes free on its file system (less when the
// disk has less), and returns a func that removes it again.
func Fill(t testing.TB, path string, leave int64) func() {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	block := make([]byte, 4096)
	for {
		free, err := FreeBytes(path)
		if err != nil {
			t.Fatal(err)
		}
		if free <= leave {
			break
		}
		if _, err := f.Write(block[:min(int64(len(block)), free-leave)]); err != nil {
			break // full
		}
	}
	return func() {
		if err := os.Remove(path); err != nil {
			t.Errorf("free the disk: %v", err)
		}
	}
}

// FreeBytes is the space left to unprivileged users on the file system holding path's folder.
func FreeBytes(path string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(filepath.Dir(path), &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", path, err)
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}
