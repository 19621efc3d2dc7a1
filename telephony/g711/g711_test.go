package g711

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Values from ITU-T G.711 tables 1a (A-law) and 2a (mu-law): decoder outputs at the ends of the
// range and around zero, in 16-bit linear.
func TestDecodeITUTableValues(t *testing.T) {
	for code, want := range map[byte]int16{0x00: -32124, 0x80: 32124, 0xFF: 0, 0x7F: 0, 0xFE: 8, 0x7E: -8, 0x8F: 16764} {
		if got := UlawToLinear(code); got != want {
			t.Errorf("mu-law %#02x = %d, want %d", code, got, want)
		}
	}
	for code, want := range map[byte]int16{0xD5: 8, 0x55: -8, 0xAA: 32256, 0x2A: -32256, 0xD4: 24, 0x54: -24} {
		if got := AlawToLinear(code); got != want {
			t.Errorf("A-law %#02x = %d, want %d", code, got, want)
		}
	}
}

func TestRoundTripEveryCode(t *testing.T) {
	for i := range 256 {
		c := byte(i)
		if got := LinearToAlaw(AlawToLinear(c)); got != c {
			t.Errorf("A-law %#02x -> %d -> %#02x", c, AlawToLinear(c), got)
		}
		if c == 0x7F { // mu-law has two zeros; 0 encodes as 0xFF
			continue
		}
		if got := LinearToUlaw(UlawToLinear(c)); got != c {
			t.Errorf("mu-law %#02x -> %d -> %#02x", c, UlawToLinear(c), got)
		}
	}
}

// TestEncoderAgreesWithSox encodes every 16-bit sample with sox (an independent G.711 encoder,
// -D: without dither) and with ours. G.711 fixes the decision levels on 13- or 14-bit input; how a
// 16-bit sample is cut down to that is the implementation's choice, so the two may pick the
// neighbouring code for samples at a decision level. Where the two differ, their decoded values
// must bracket the sample (neighbouring levels around it), and they agree on 98% of samples.
func TestEncoderAgreesWithSox(t *testing.T) {
	sox, err := exec.LookPath("sox")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("sox is missing (apt-get install sox)")
		}
		t.Skip("sox is missing")
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "all.raw")
	samples := make([]int16, 65536)
	for i := range samples {
		samples[i] = int16(i - 32768)
	}
	var buf bytes.Buffer
	binary.Write(&buf, binary.LittleEndian, samples)
	if err := os.WriteFile(in, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, enc string
		codec     Codec
	}{{"mu-law", "mu-law", PCMU}, {"A-law", "a-law", PCMA}} {
		out := filepath.Join(dir, c.enc+".raw")
		if b, err := exec.Command(sox, "-D", "-t", "raw", "-e", "signed", "-b", "16", "-L", "-c", "1", "-r", "8000", in,
			"-t", "raw", "-e", c.enc, "-b", "8", "-c", "1", "-r", "8000", out).CombinedOutput(); err != nil {
			t.Fatalf("sox: %v %s", err, b)
		}
		want, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		got := c.codec.Encode(nil, samples)
		decode := UlawToLinear
		if c.codec == PCMA {
			decode = AlawToLinear
		}
		diff, worse := 0, 0
		for i, x := range samples {
			if got[i] == want[i] {
				continue
			}
			diff++
			lo, hi := min(decode(got[i]), decode(want[i])), max(decode(got[i]), decode(want[i]))
			if lo != hi && (x < lo || x > hi) { // lo == hi: mu-law's two zeros
				if worse < 5 {
					t.Errorf("%s: sample %d encodes to %#02x (%d), sox's %#02x (%d): not neighbours around it", c.name, x,
						got[i], decode(got[i]), want[i], decode(want[i]))
				}
				worse++
			}
		}
		t.Logf("%s: %d of 65536 samples take the neighbouring code of sox's", c.name, diff)
		if worse > 0 || diff > 65536/50 {
			t.Errorf("%s: %d samples differ from sox, %d of them not at a decision level", c.name, diff, worse)
		}
	}
}
