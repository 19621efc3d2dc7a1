package dsp

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func addNoise(s []int16, levelDBm0 float64, seed uint64) []int16 {
	rng := rand.New(rand.NewPCG(seed, 1))
	// Gaussian noise whose power equals a sine at levelDBm0.
	sigma := Amplitude(levelDBm0) / 1.4142
	out := make([]int16, len(s))
	for i, v := range s {
		out[i] = clip16(float64(v) + rng.NormFloat64()*sigma)
	}
	return out
}

func receiveBytes(r *FSKReceiver, s []int16) []byte {
	var out []byte
	for _, ev := range r.Process(nil, s) {
		if ev.Kind == FSKByte {
			out = append(out, ev.Value)
		}
	}
	return out
}

func TestFSKLoopback(t *testing.T) {
	payload := []byte("\x80\x10Hello, caller ID\x00\xff\x55\xaa")
	for _, mode := range []FSKMode{Bell202(), V23()} {
		for _, lvl := range []float64{-10, -30, -40} {
			for _, snr := range []float64{0, 20} {
				m := NewFSKModulator(mode, lvl)
				s := AppendSilence(nil, 50*time.Millisecond)
				s = m.AppendMark(s, 80)
				s = m.AppendBytes(s, payload)
				s = m.AppendMark(s, 5)
				s = AppendSilence(s, 50*time.Millisecond)
				if snr > 0 {
					s = addNoise(s, lvl-snr, 7)
				}
				got := receiveBytes(NewFSKReceiver(mode, 0), s)
				// Noise before the carrier may frame as stray characters; the payload must
				// come through whole and in order.
				if !bytes.Contains(got, payload) || (snr == 0 && !bytes.Equal(got, payload)) {
					t.Errorf("%s at %v dBm0 snr %v: got %q want %q", mode.Name, lvl, snr, got, payload)
				}
			}
		}
	}
}

func TestDTMFLoopback(t *testing.T) {
	keys := "0123456789ABCD*#"
	s, err := AppendDTMF(nil, keys, 50*time.Millisecond, 50*time.Millisecond, -20)
	if err != nil {
		t.Fatal(err)
	}
	if got := DetectDTMF(s); got != keys {
		t.Errorf("got %q want %q", got, keys)
	}
}

func TestProgressLoopback(t *testing.T) {
	for code, c := range Countries() {
		for _, tone := range c.Tones {
			s := AppendSilence(nil, 300*time.Millisecond)
			s = AppendProgressTone(s, tone, 4, -20)
			s = AppendSilence(s, 300*time.Millisecond)
			d := NewProgressDetector(c, 0, 0)
			best := map[ToneKind]int{}
			for _, ev := range d.Process(nil, s) {
				best[ev.Kind] = max(best[ev.Kind], ev.Cycles)
			}
			t.Logf("%s %v: %v", code, tone.Kind, best)
			if best[tone.Kind] < 3 {
				t.Errorf("%s %v: best %v", code, tone.Kind, best)
			}
			for k, n := range best {
				// UK congestion starts with 400 on, 350 off, which is one busy cycle
				// within tolerance; a supervisor acts on two or more.
				if k != tone.Kind && n > 1 {
					t.Errorf("%s %v: also saw %v x%d", code, tone.Kind, k, n)
				}
			}
		}
	}
}

// Transmitters may be off their nominal rate: GR-30 and EN 300 659-1 allow 1 %, cheap senders
// are several per cent off (minimodem's own 1200 bit/s at 8 kHz is 4.8 % slow). The bit period
// is learnt from the channel seizure when there is one, from the message's edges when not.
func TestFSKRateTolerance(t *testing.T) {
	payload := []byte("\x80\x21\x01\x0811221530\x02\x0a2125550123\x07\x0aSMITH JOHN")
	for _, mode := range []FSKMode{Bell202(), V23()} {
		for _, off := range []float64{-0.05, -0.048, -0.025, -0.01, 0.01, 0.025, 0.05} {
			for _, seize := range []int{0, 300} {
				tx := mode
				tx.Baud *= 1 + off
				m := NewFSKModulator(tx, -20)
				s := AppendSilence(nil, 20*time.Millisecond)
				for i := range seize {
					s = m.AppendBit(s, i%2 == 1)
				}
				s = m.AppendMark(s, 100)
				s = m.AppendMark(m.AppendBytes(s, payload), 4)
				if got := receiveBytes(NewFSKReceiver(mode, 0), s); !bytes.HasSuffix(got, payload) ||
					(seize == 0 && !bytes.Equal(got, payload)) {
					t.Errorf("%s sent %+.1f%% off rate, %d seizure bits: got %q", mode.Name, off*100, seize, got)
				}
			}
		}
	}
}

// A channel seizure followed by the message with no mark signal between them (GR-30 and EN 300
// 659-1 both send one, but not every exchange does): the first character after the alternating
// bits is read, whichever space bit the receiver framed the seizure on. The seizure's length
// and the silence before it vary that framing.
func TestFSKSeizureWithoutMark(t *testing.T) {
	for _, mode := range []FSKMode{Bell202(), V23()} {
		for _, payload := range [][]byte{[]byte("\x80\x0a\x02\x085551234"), []byte("\x04\x0811221530")} {
			for seize := 290; seize <= 300; seize += 2 {
				for lead := range 4 {
					m := NewFSKModulator(mode, -15)
					s := make([]int16, 400+lead*3)
					for i := range seize {
						s = m.AppendBit(s, i%2 == 1)
					}
					s = m.AppendMark(m.AppendBytes(s, payload), 4)
					got := receiveBytes(NewFSKReceiver(mode, 0), s)
					if !bytes.HasSuffix(got, payload) {
						t.Errorf("%s, %d seizure bits, lead %d: got %q", mode.Name, seize, lead, got)
					}
				}
			}
		}
	}
}

// A burst of space up to 0.6 bit long in the mark signal, a bit before the message (a click, or
// noise on a weak line), is not taken for the first start bit: the character that follows is
// read whole. (V.23's narrower filter smears a 0.6-bit burst over four fifths of a bit: it is
// tested up to 0.5.)
func TestFSKNoFalseStartBeforeMessage(t *testing.T) {
	payload := []byte("\x80\x0a\x02\x085551234")
	for _, mode := range []FSKMode{Bell202(), V23()} {
		for _, burst := range []float64{0.4, 0.5, 0.6} {
			if mode.Name == "V.23" && burst > 0.5 {
				continue
			}
			spb := SampleRate / mode.Baud
			// Phase-continuous: 80 bits of mark, the burst of space, mark up to a bit and a
			// half after the burst began.
			var s []int16
			a, ph := Amplitude(-15), 0.0
			for _, seg := range []struct{ f, n float64 }{{mode.Mark, 80 * spb}, {mode.Space, burst * spb}, {mode.Mark, (1.5 - burst) * spb}} {
				for range int(seg.n) {
					s = append(s, clip16(a*math.Sin(ph)))
					ph += 2 * math.Pi * seg.f / SampleRate
				}
			}
			m := NewFSKModulator(mode, -15)
			s = m.AppendMark(m.AppendBytes(s, payload), 4)
			if got := receiveBytes(NewFSKReceiver(mode, 0), s); !bytes.HasSuffix(got, payload) {
				t.Errorf("%s, %.1f-bit burst: got %q", mode.Name, burst, got)
			}
		}
	}
}
