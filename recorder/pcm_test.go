package recorder

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestDecodeTablesAgainstSox decodes all 256 codes of each law with sox and compares with our
// tables, and checks the ITU-T G.711 end points.
func TestDecodeTablesAgainstSox(t *testing.T) {
	sox := needTool(t, "sox")
	dir := t.TempDir()
	codes := make([]byte, 256)
	for i := range codes {
		codes[i] = byte(i)
	}
	in := filepath.Join(dir, "codes.raw")
	if err := os.WriteFile(in, codes, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		enc   string
		table *[256]int16
	}{{"mu-law", &ulawPCM}, {"a-law", &alawPCM}} {
		out := filepath.Join(dir, c.enc+".raw")
		cmd := exec.Command(sox, "-t", "raw", "-r", "8000", "-c", "1", "-e", c.enc, "-b", "8", in,
			"-t", "raw", "-e", "signed-integer", "-b", "16", "-L", out)
		if o, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sox: %v %s", err, o)
		}
		b, err := os.ReadFile(out)
		if err != nil || len(b) != 512 {
			t.Fatalf("sox output %d bytes: %v", len(b), err)
		}
		for i := 0; i < 256; i++ {
			if got, want := c.table[i], int16(binary.LittleEndian.Uint16(b[2*i:])); got != want {
				t.Fatalf("%s code %#02x: table %d, sox %d", c.enc, i, got, want)
			}
		}
	}
	// G.711: silence decodes to (near) zero, the extremes to +-32124 (mu) and +-32256 (A).
	for _, c := range []struct {
		got, want int16
	}{{ulawPCM[0xFF], 0}, {ulawPCM[0x80], 32124}, {ulawPCM[0x00], -32124}, {alawPCM[0xD5], 8}, {alawPCM[0xAA], 32256}, {alawPCM[0x2A], -32256}} {
		if c.got != c.want {
			t.Fatalf("decoded %d, want %d", c.got, c.want)
		}
	}
}

// recordSynthetic writes a synthetic call and returns the recording's path.
func recordSynthetic(t testing.TB, root string, codec Codec, packets int) string {
	t.Helper()
	clk := &fakeClock{now: epoch}
	w := startWriter(t, root, WriterConfig{Codec: codec, BufferBytes: 4 << 20}, clk)
	call := synthCall{packets: packets, agentLag: 3 * time.Millisecond, lossEvery: 9, codec: codec}
	pkts, _ := call.build()
	r := play(t, w, clk, pkts, call.endTime())
	if r.Status != StatusComplete {
		t.Fatalf("recording %s: %v", r.Status, r.Reason)
	}
	return r.Path
}

// TestPCMServeRanges serves a recording as PCM through http.ServeContent and checks the whole file
// against sox's own conversion, then a set of Range requests against slices of it.
func TestPCMServeRanges(t *testing.T) {
	sox := needTool(t, "sox")
	for _, codec := range []Codec{Ulaw, Alaw} {
		t.Run(fmt.Sprint(codec), func(t *testing.T) {
			root := t.TempDir()
			path := recordSynthetic(t, root, codec, 250)
			ref := filepath.Join(t.TempDir(), "ref.raw")
			if o, err := exec.Command(sox, path, "-t", "raw", "-e", "signed-integer", "-b", "16", "-L", ref).CombinedOutput(); err != nil {
				t.Fatalf("sox: %v %s", err, o)
			}
			want, err := os.ReadFile(ref)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ServePCM(w, r, path) // the path comes from the test, never the request
			}))
			defer srv.Close()
			get := func(rng string) (*http.Response, []byte) {
				req, _ := http.NewRequest("GET", srv.URL+"/x", nil)
				if rng != "" {
					req.Header.Set("Range", rng)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				return resp, b
			}
			resp, full := get("")
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "audio/wav" || resp.Header.Get("Accept-Ranges") != "bytes" {
				t.Fatalf("status %d, headers %v", resp.StatusCode, resp.Header)
			}
			if len(full) != pcmHeaderBytes+len(want) || !bytes.Equal(full[pcmHeaderBytes:], want) {
				t.Fatalf("PCM body (%d bytes) differs from sox's conversion (%d bytes)", len(full), len(want))
			}
			// The PCM file itself must be a WAV sox reads back to the same samples.
			pcmPath := filepath.Join(t.TempDir(), "served.wav")
			os.WriteFile(pcmPath, full, 0o600)
			back := filepath.Join(t.TempDir(), "back.raw")
			if o, err := exec.Command(sox, pcmPath, "-t", "raw", back).CombinedOutput(); err != nil {
				t.Fatalf("sox reading the served WAV: %v %s", err, o)
			}
			if b, _ := os.ReadFile(back); !bytes.Equal(b, want) {
				t.Fatal("served WAV reads back differently")
			}
			n := len(full)
			for _, c := range []struct {
				rng      string
				from, to int // inclusive
			}{
				{"bytes=0-99", 0, 99},
				{"bytes=43-44", 43, 44},
				{"bytes=1001-2000", 1001, 2000}, // odd start: half a sample
				{"bytes=5000-", 5000, n - 1},
				{"bytes=-333", n - 333, n - 1},
				{fmt.Sprintf("bytes=%d-%d", n-1, n+50), n - 1, n - 1},
			} {
				resp, b := get(c.rng)
				if resp.StatusCode != http.StatusPartialContent {
					t.Fatalf("%s: status %d", c.rng, resp.StatusCode)
				}
				if !bytes.Equal(b, full[c.from:c.to+1]) {
					t.Fatalf("%s: %d bytes differ from the full body's slice", c.rng, len(b))
				}
			}
			if resp, _ := get(fmt.Sprintf("bytes=%d-", n+10)); resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
				t.Fatalf("range past the end: status %d", resp.StatusCode)
			}
		})
	}
	// A missing recording is a 404, not an error page that leaks the path.
	rec := httptest.NewRecorder()
	ServePCM(rec, httptest.NewRequest("GET", "/x", nil), filepath.Join(t.TempDir(), "none.wav"))
	if rec.Code != 404 {
		t.Fatalf("missing recording: %d", rec.Code)
	}
}

// TestPCMReadSizes reads the PCM view with every small buffer size from every offset near a sample
// boundary, so partial samples at both ends of a Read are exercised.
func TestPCMReadSizes(t *testing.T) {
	path := recordSynthetic(t, t.TempDir(), Ulaw, 20)
	p, err := OpenPCM(path)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	full, err := io.ReadAll(p)
	if err != nil || int64(len(full)) != p.Size() {
		t.Fatalf("read %d of %d: %v", len(full), p.Size(), err)
	}
	for start := int64(40); start < 52; start++ {
		for size := 1; size <= 7; size++ {
			if _, err := p.Seek(start, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			var got []byte
			buf := make([]byte, size)
			for i := 0; i < 100000; i++ {
				n, err := p.Read(buf)
				got = append(got, buf[:n]...)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(got, full[start:]) {
				t.Fatalf("start %d size %d: differs", start, size)
			}
		}
	}
}
