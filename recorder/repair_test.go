package recorder

import (
	"os"
	"path/filepath"
	"testing"
)

// TestRepairCases: a header-only file, a file cut mid-frame, a damaged file and files Repair must
// leave alone.
func TestRepairCases(t *testing.T) {
	root := t.TempDir()
	day := filepath.Join(root, "2026", "11", "22")
	os.MkdirAll(day, FolderMode)
	h := header(Alaw, 0) // a header written at start, never updated: sizes say 0
	write := func(name string, b []byte) string {
		p := filepath.Join(day, name)
		if err := os.WriteFile(p, b, FileMode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write(callID(1)+".wav.part", h[:])
	write(callID(2)+".wav.part", append(append([]byte{}, h[:]...), 1, 2, 3, 4, 5)) // 2.5 frames
	write(callID(3)+".wav.part", []byte("RIFF\x00\x00"))
	notOurs := write("notes.wav.part", h[:])
	final := write(callID(4)+".wav", h[:])
	deep := filepath.Join(day, "x", "y")
	os.MkdirAll(deep, FolderMode)
	tooDeep := filepath.Join(deep, callID(5)+".wav.part")
	os.WriteFile(tooDeep, h[:], FileMode)

	reps, err := Repair(root, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]Repaired{}
	for _, r := range reps {
		by[r.CallID] = r
	}
	if len(reps) != 3 {
		t.Fatalf("repaired %+v", reps)
	}
	if r := by[callID(1)]; r.Err != nil || r.Frames != 0 {
		t.Fatalf("header only: %+v", r)
	}
	if r := by[callID(2)]; r.Err != nil || r.Frames != 2 {
		t.Fatalf("mid-frame: %+v", r)
	} else if _, data := readWAV(t, r.Path); string(data) != "\x01\x02\x03\x04" {
		t.Fatalf("mid-frame data %q", data)
	}
	if r := by[callID(3)]; r.Err == nil || r.Path != "" {
		t.Fatalf("damaged: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(day, callID(3)+".wav.damaged")); err != nil {
		t.Fatalf("damaged file not set aside: %v", err)
	}
	for _, p := range []string{notOurs, final, tooDeep} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s touched: %v", p, err)
		}
	}
	// A missing root is not an error: nothing was ever recorded.
	if reps, err := Repair(filepath.Join(root, "none"), testLogger(t)); err != nil || len(reps) != 0 {
		t.Fatalf("missing root: %v %v", reps, err)
	}
}

func TestCodecForPayloadType(t *testing.T) {
	for pt, want := range map[uint8]Codec{0: Ulaw, 8: Alaw} {
		if c, ok := CodecForPayloadType(pt); !ok || c != want {
			t.Fatalf("pt %d: %v %v", pt, c, ok)
		}
	}
	if _, ok := CodecForPayloadType(9); ok {
		t.Fatal("G.722 accepted")
	}
}
