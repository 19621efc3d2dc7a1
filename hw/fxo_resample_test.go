package hw

import (
	"math"
	"testing"
)

func sine(rate int, freq, amp float64, n int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
	}
	return out
}

// toneAmp measures the amplitude of freq in x (Goertzel, normalised to a sine's peak).
func toneAmp(x []int16, rate int, freq float64) float64 {
	k := 2 * math.Cos(2*math.Pi*freq/float64(rate))
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = float64(v)+k*s1-s2, s1
	}
	p := s1*s1 + s2*s2 - k*s1*s2
	return 2 * math.Sqrt(math.Max(p, 0)) / float64(len(x))
}

// TestResamplerPassesAndStops: a tone inside the telephone band survives every conversion with
// its level and frequency; a tone above the lower rate's Nyquist frequency does not alias into
// the output.
func TestResamplerPassesAndStops(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, out int }{{48000, 8000}, {44100, 8000}, {8000, 48000}, {8000, 44100}, {16000, 8000}} {
		r := NewResampler(tc.in, tc.out)
		var got []int16
		src := sine(tc.in, 1000, 10000, tc.in) // one second
		for i := 0; i < len(src); i += 441 {   // odd chunk sizes
			got = r.Process(got, src[i:min(i+441, len(src))])
		}
		if want := tc.out; len(got) < want*97/100 || len(got) > want {
			t.Errorf("%d->%d: %d samples out of 1 s, want about %d", tc.in, tc.out, len(got), want)
		}
		mid := got[len(got)/4 : 3*len(got)/4]
		if a := toneAmp(mid, tc.out, 1000); a < 9700 || a > 10300 {
			t.Errorf("%d->%d: 1 kHz at amplitude %.0f, want 10000 (within 0.3 dB)", tc.in, tc.out, a)
		}
		if a := toneAmp(mid, tc.out, 1100); a > 300 {
			t.Errorf("%d->%d: 1 kHz leaks %.0f into 1.1 kHz", tc.in, tc.out, a)
		}
		if tc.in > tc.out {
			// out-2 kHz (6 kHz for 8 kHz out) would fold to 2 kHz without the low-pass.
			r := NewResampler(tc.in, tc.out)
			alias := float64(tc.out) - 2000
			out := r.Process(nil, sine(tc.in, alias, 10000, tc.in))
			if a := toneAmp(out[len(out)/4:3*len(out)/4], tc.out, 2000); a > 100 {
				t.Errorf("%d->%d: %.0f Hz aliases to 2 kHz at amplitude %.0f (want -40 dB or less)", tc.in, tc.out, alias, a)
			}
		}
	}
}

func TestSampleRing(t *testing.T) {
	t.Parallel()
	r := newSampleRing(100) // 128
	src := make([]int16, 300)
	for i := range src {
		src[i] = int16(i)
	}
	if n := r.write(src[:100]); n != 100 {
		t.Fatalf("wrote %d", n)
	}
	dst := make([]int16, 60)
	if n := r.read(dst); n != 60 || dst[59] != 59 {
		t.Fatalf("read %d, last %d", n, dst[59])
	}
	if n := r.write(src[100:200]); n != 88 || r.dropped.Load() != 12 {
		t.Fatalf("wrote %d dropped %d, want 88 and 12", n, r.dropped.Load())
	}
	all := make([]int16, 300)
	n := r.read(all)
	if n != 128 || all[0] != 60 || all[127] != 187 {
		t.Fatalf("read %d from %d to %d, want 128 from 60 to 187 across the wrap", n, all[0], all[n-1])
	}
	if r.len() != 0 || r.read(all) != 0 {
		t.Error("ring not empty")
	}
}

func BenchmarkResampler48kTo8k(b *testing.B) {
	r := NewResampler(48000, 8000)
	src := sine(48000, 1000, 10000, 960) // 20 ms
	dst := make([]int16, 0, 400)
	b.ReportAllocs()
	for b.Loop() {
		dst = r.Process(dst[:0], src)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/20e6, "cpu/realtime")
}
