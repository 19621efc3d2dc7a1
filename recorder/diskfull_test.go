package recorder

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// smallDisk mounts a tmpfs of the given size (needs root). It fails in CI and skips elsewhere when
// the mount is not possible.
func smallDisk(t *testing.T, size string) string {
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

// TestWriterDiskFills records onto a 2 MiB file system that another file has nearly filled: the
// recording must stop with ErrDiskFull while Write keeps returning, and the file left behind must
// be a valid WAV of the audio that fitted.
func TestWriterDiskFills(t *testing.T) {
	root := smallDisk(t, "2m")
	filler := filepath.Join(root, "filler")
	if err := os.WriteFile(filler, make([]byte, 1800<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	call := synthCall{packets: 1500, codec: Ulaw} // 30 s: 480 KB, more than is left
	r, want := recordOnto(t, root, WriterConfig{BufferBytes: 1 << 20}, call)
	if r.Status != StatusCut || !errors.Is(r.Reason, ErrDiskFull) {
		t.Fatalf("status %s reason %v, want cut with ErrDiskFull", r.Status, r.Reason)
	}
	if r.Frames == 0 || r.Frames >= int64(call.packets*160) {
		t.Fatalf("kept %d frames of %d", r.Frames, call.packets*160)
	}
	// The header covers exactly what reached the disk; free space so the check can read it.
	os.Remove(filler)
	_, got := readWAV(t, r.Path)
	if int64(len(got)) != 2*r.Frames {
		t.Fatalf("file holds %d bytes, result says %d frames", len(got), r.Frames)
	}
	if string(got) != string(want[:len(got)]) {
		t.Fatalf("kept audio differs: %s", firstDiff(got, want[:len(got)]))
	}
}

// TestRecordingsLeaveTheFloorFree: on a 2 MiB file system with a 1 MiB floor (the room kept for the
// call records), a recording that would go below the floor is cut with ErrLowDisk and leaves the
// floor free, and a recording asked for below the floor does not start, saying why.
func TestRecordingsLeaveTheFloorFree(t *testing.T) {
	root := smallDisk(t, "2m")
	const floor = 1 << 20
	if err := os.WriteFile(filepath.Join(root, "filler"), make([]byte, 600<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	call := synthCall{packets: 1500, codec: Ulaw} // 30 s: 480 KB, more than the floor leaves
	r, want := recordOnto(t, root, WriterConfig{BufferBytes: 1 << 20, MinFreeBytes: floor}, call)
	if r.Status != StatusCut || !errors.Is(r.Reason, ErrLowDisk) {
		t.Fatalf("status %s reason %v, want cut with ErrLowDisk", r.Status, r.Reason)
	}
	if r.Frames == 0 || r.Frames >= int64(call.packets*160) {
		t.Fatalf("kept %d frames of %d", r.Frames, call.packets*160)
	}
	free, err := freeBytes(root)
	if err != nil {
		t.Fatal(err)
	}
	if free+8<<10 < floor { // a page or two of file system rounding
		t.Fatalf("%d bytes free after the recording, the floor is %d", free, floor)
	}
	_, got := readWAV(t, r.Path)
	if int64(len(got)) != 2*r.Frames || string(got) != string(want[:len(got)]) {
		t.Fatalf("kept audio: %d bytes for %d frames", len(got), r.Frames)
	}

	// Below the floor: the next recording is refused before it creates a file.
	if err := os.WriteFile(filepath.Join(root, "filler2"), make([]byte, 64<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	w2, err := Start(Layout{Root: root}, "0192f6a4-7b1c-7d2e-8f30-4a5b6c7d8ea0", epoch, WriterConfig{MinFreeBytes: floor}, testLogger(t), &fakeClock{now: epoch})
	if !errors.Is(err, ErrLowDisk) {
		if w2 != nil {
			w2.Close(context.Background(), time.Time{})
		}
		t.Fatalf("Start below the floor: %v, want ErrLowDisk", err)
	}
}

// recordOnto records call under root with cfg on a fake clock and returns the writer's result and
// the audio the call carried; a recording that does not end within a minute fails the test.
func recordOnto(t *testing.T, root string, cfg WriterConfig, call synthCall) (Result, []byte) {
	t.Helper()
	clk := &fakeClock{now: epoch}
	w := startWriter(t, root, cfg, clk)
	pkts, want := call.build()
	done := make(chan Result, 1)
	go func() {
		for _, p := range pkts {
			clk.Set(p.arrival)
			w.Write(p.leg, p.ts, p.seq, p.arrival, p.payload)
		}
		done <- play(t, w, clk, nil, call.endTime())
	}()
	select {
	case r := <-done:
		return r, want
	case <-time.After(time.Minute):
		t.Fatal("the recording did not finish")
		return Result{}, nil
	}
}
