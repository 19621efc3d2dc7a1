package recorder

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzRepairHeader feeds arbitrary file starts and lengths to the repair parser: it must never
// panic, and when it accepts a header, applying its patches must give a header that parses to the
// sizes it computed and covers whole frames within the file.
func FuzzRepairHeader(f *testing.F) {
	h := header(Ulaw, 1234)
	f.Add(h[:], int64(headerBytes+1000))
	f.Add(h[:40], int64(40))
	a := header(Alaw, 0)
	f.Add(a[:], int64(headerBytes+3))
	f.Fuzz(func(t *testing.T, hdr []byte, size int64) {
		if len(hdr) > maxHeader {
			hdr = hdr[:maxHeader]
		}
		if size < int64(len(hdr)) {
			size = int64(len(hdr))
		}
		info, patches, err := resized(hdr, size)
		if err != nil {
			return
		}
		b := append([]byte(nil), hdr...)
		for _, p := range patches {
			if p.at < 0 || p.at+4 > int64(len(b)) {
				t.Fatalf("patch at %d outside the %d-byte header", p.at, len(b))
			}
			binary.LittleEndian.PutUint32(b[p.at:], p.value)
		}
		again, err := parseHeader(b)
		if err != nil {
			t.Fatalf("patched header no longer parses: %v", err)
		}
		data := int64(patches[len(patches)-1].value)
		if again.DataSize != data || data%int64(info.BlockAlign) != 0 || info.DataOffset+data > max(size, info.DataOffset) {
			t.Fatalf("data %d (parsed %d) at %d in a %d-byte file", data, again.DataSize, info.DataOffset, size)
		}
	})
}

// FuzzPCMReader opens arbitrary bytes as a recording: OpenPCM must reject or serve them, and a
// served file must read to exactly Size bytes.
func FuzzPCMReader(f *testing.F) {
	h := header(Ulaw, 10)
	f.Add(append(h[:], bytes.Repeat([]byte{0x12}, 20)...))
	h = header(Alaw, 100)
	f.Add(append(h[:], 1, 2, 3))
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVEdata\x00\x00\x00\x00"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, file []byte) {
		p := filepath.Join(dir, "f.wav")
		if err := os.WriteFile(p, file, 0o600); err != nil {
			t.Fatal(err)
		}
		r, err := OpenPCM(p)
		if err != nil {
			return
		}
		defer r.Close()
		b, err := io.ReadAll(r)
		if err != nil || int64(len(b)) != r.Size() {
			t.Fatalf("read %d of %d: %v", len(b), r.Size(), err)
		}
	})
}

// FuzzCallID: whatever ValidCallID accepts is a plain file name that cannot leave its folder.
func FuzzCallID(f *testing.F) {
	f.Add("0192f6a4-7b1c-7d2e-8f30-4a5b6c7d8e9f")
	f.Add("../0192f6a4-7b1c-7d2e-8f30-4a5b6c7d8e")
	f.Add("0192F6A4-7B1C-7D2E-8F30-4A5B6C7D8E9F")
	f.Fuzz(func(t *testing.T, id string) {
		if ValidCallID(id) != nil {
			return
		}
		if strings.ContainsAny(id, "/\\.\x00") || filepath.Base(id) != id || len(id) != 36 {
			t.Fatalf("accepted %q", id)
		}
		got, inProgress, ok := callIDFromName(id + FinalSuffix + PartSuffix)
		if !ok || !inProgress || got != id {
			t.Fatalf("name round trip of %q", id)
		}
	})
}
