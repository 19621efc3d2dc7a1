package callerid_test

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ringside/ringside/telephony/callerid"
	"github.com/ringside/ringside/telephony/dsp/dsptest"
)

// handFrame builds a caller-ID frame byte by byte, independently of the package's encoder:
// type, length, body, and the two's complement of the sum.
func handFrame(typ byte, body string) []byte {
	b := append([]byte{typ, byte(len(body))}, body...)
	sum := 0
	for _, c := range b {
		sum += int(c)
	}
	return append(b, byte((256-sum%256)%256))
}

func param(typ byte, v string) string { return string([]byte{typ, byte(len(v))}) + v }

type cidCase struct {
	name  string
	frame []byte
	want  callerid.Result // Standard is filled in per modem
}

func cidCases() []cidCase {
	dt := callerid.DateTime{Month: 11, Day: 22, Hour: 15, Minute: 30}
	return []cidCase{
		{"SDMF number", handFrame(0x04, "112215305551234567"),
			callerid.Result{MessageType: 0x04, Number: "5551234567", Time: dt}},
		{"SDMF withheld", handFrame(0x04, "11221530P"),
			callerid.Result{MessageType: 0x04, Withheld: true, Time: dt}},
		{"SDMF unavailable", handFrame(0x04, "11221530O"),
			callerid.Result{MessageType: 0x04, Unavailable: true, Time: dt}},
		{"MDMF name", handFrame(0x80, param(1, "11221530")+param(2, "2125550123")+param(7, "SMITH JOHN")),
			callerid.Result{MessageType: 0x80, Number: "2125550123", Name: "SMITH JOHN", Time: dt}},
		{"MDMF withheld", handFrame(0x80, param(1, "11221530")+param(4, "P")+param(8, "P")),
			callerid.Result{MessageType: 0x80, Withheld: true, NameWithheld: true, Time: dt}},
		{"MDMF unavailable", handFrame(0x80, param(1, "11221530")+param(4, "O")+param(8, "O")),
			callerid.Result{MessageType: 0x80, Unavailable: true, NameUnavailable: true, Time: dt}},
	}
}

// txShape says how minimodemSignal builds a caller-ID signal.
type txShape struct {
	// rate is the transmitter's bit-rate error (-0.05: 5 % slow). minimodem rounds its bit
	// length to whole samples, so it is asked for the off rate at 40 samples per bit, exactly.
	rate float64
	// minimodem8k has minimodem send at 8 kHz: 1200 bit/s rounded to 7 samples per bit, 4.8 %
	// slow, which is what its own 1200-baud transmitter does at the telephone rate.
	minimodem8k     bool
	noSeize, noMark bool
}

// minimodemSignal has minimodem transmit the channel seizure (30 x 0x55, 8-N-1), the mark signal
// (184 mark bits: 0xFF with no start or stop bits) and frame, shaped by tx, at 40 samples per
// bit, and sox join them and resample to 8 kHz at levelDBm0, with 200 ms of silence around.
func minimodemSignal(t testing.TB, dir, name string, frame []byte, freqs []string, levelDBm0 float64, tx txShape) []int16 {
	t.Helper()
	baud := 1200 * (1 + tx.rate)
	rate := 40 * baud
	if tx.minimodem8k {
		baud, rate = 1200, 8000
	}
	base := append([]string{"--tx", fmt.Sprint(baud), "-R", fmt.Sprint(rate), "-q"}, freqs...)
	run := func(out string, in []byte, extra ...string) string {
		p := filepath.Join(dir, name+"-"+out+".wav")
		args := append(append(append([]string{}, base...), extra...), "-f", p)
		dsptest.Run(t, in, "minimodem", args...)
		return p
	}
	seizure := []byte(strings.Repeat("\x55", 30))
	var parts []string
	switch {
	case tx.noSeize: // ETSI after a polarity reversal may send the mark signal alone
		parts = append(parts, run("mark", []byte(strings.Repeat("\xff", 23)), "--startbits", "0", "--stopbits", "0"))
	case tx.noMark: // in one transmission, as minimodem begins and ends each with mark bits
		frame = append(seizure, frame...)
	default:
		parts = append(parts, run("seize", seizure),
			run("mark", []byte(strings.Repeat("\xff", 23)), "--startbits", "0", "--stopbits", "0"))
	}
	parts = append(parts, run("msg", frame))
	joined := filepath.Join(dir, name+".wav")
	dsptest.Run(t, nil, "sox", append(append([]string{"-D"}, parts...), joined, "pad", "0.2", "0.2")...)
	// minimodem sends full-scale sines (+3.17 dBm0).
	return dsptest.Load(t, joined, levelDBm0-3.17)
}

// sameIdentity reports whether two results carry the same caller identity (minimodem prints no
// message type).
func sameIdentity(a, b callerid.Result) bool {
	return a.Number == b.Number && a.Name == b.Name && a.Time == b.Time &&
		a.Withheld == b.Withheld && a.Unavailable == b.Unavailable &&
		a.NameWithheld == b.NameWithheld && a.NameUnavailable == b.NameUnavailable
}

var (
	mmTime  = regexp.MustCompile(`(?m)^Time:\s+(\d\d)/(\d\d) (\d\d):(\d\d)`)
	mmPhone = regexp.MustCompile(`(?m)^Phone:\s+(.*)$`)
	mmName  = regexp.MustCompile(`(?m)^Name:\s+(.*)$`)
)

// minimodemReceive runs minimodem's own caller-ID receiver on samples and returns what it
// printed as a Result, and false when it found nothing.
func minimodemReceive(t testing.TB, dir, name string, samples []int16, freqs []string) (callerid.Result, bool) {
	t.Helper()
	p := filepath.Join(dir, name+"-rx.wav")
	dsptest.WriteWAV(t, p, samples)
	out := string(dsptest.Run(t, nil, "minimodem", append(append([]string{"--rx", "callerid", "-q"}, freqs...), "-f", p)...))
	if !strings.Contains(out, "CALLER-ID") {
		return callerid.Result{}, false
	}
	var r callerid.Result
	if m := mmTime.FindStringSubmatch(out); m != nil {
		// Atoi, not Sscan: Sscan reads "09" as a bad octal number.
		r.Time.Month, _ = strconv.Atoi(m[1])
		r.Time.Day, _ = strconv.Atoi(m[2])
		r.Time.Hour, _ = strconv.Atoi(m[3])
		r.Time.Minute, _ = strconv.Atoi(m[4])
	}
	if m := mmPhone.FindStringSubmatch(out); m != nil {
		switch v := strings.TrimSpace(m[1]); v {
		case "P", "[blocked]":
			r.Withheld = true
		case "O", "[N/A]":
			r.Unavailable = true
		default:
			r.Number = strings.ReplaceAll(v, "-", "")
		}
	}
	if m := mmName.FindStringSubmatch(out); m != nil {
		switch v := strings.TrimSpace(m[1]); v {
		case "[blocked]":
			r.NameWithheld = true
		case "[N/A]":
			r.NameUnavailable = true
		default:
			r.Name = v
		}
	}
	return r, true
}

func TestFSKCallerIDFromMinimodem(t *testing.T) {
	dsptest.RequireTool(t, "minimodem")
	dsptest.RequireTool(t, "sox")
	dir := t.TempDir()
	modems := []struct {
		std   callerid.Standard
		freqs []string
	}{
		{callerid.Bell202, nil},
		{callerid.V23, []string{"-M", "1300", "-S", "2100"}},
	}
	for _, m := range modems {
		for _, c := range cidCases() {
			if m.std == callerid.V23 && c.frame[0] == 0x04 {
				continue // ETSI has no SDMF
			}
			name := fmt.Sprintf("%v-%s", m.std, strings.ReplaceAll(c.name, " ", "_"))
			want := c.want
			want.Standard = m.std
			for _, cond := range []struct {
				label    string
				levelDBm float64
				snrDB    float64 // 0: no noise
				noSeize  bool
			}{
				{"nominal", -13.5, 0, false},
				{"low", -32, 0, false},
				{"noisy", -13.5, 20, false},
				{"low-noisy", -32, 20, false},
				{"no-seizure", -20, 20, true},
			} {
				t.Run(name+"/"+cond.label, func(t *testing.T) {
					s := minimodemSignal(t, dir, name, c.frame, m.freqs, cond.levelDBm, txShape{noSeize: cond.noSeize})
					if cond.snrDB > 0 {
						s = dsptest.AddNoise(s, cond.levelDBm-cond.snrDB, uint64(len(name)))
					}
					got, err := callerid.Decode(m.std, s)
					if err != nil {
						t.Fatalf("decode: %v", err)
					}
					if got != want {
						t.Fatalf("decoded %+v\nwant    %+v", got, want)
					}
					mm, ok := minimodemReceive(t, dir, name+cond.label, s, m.freqs)
					if !ok {
						if cond.label == "nominal" {
							t.Fatalf("minimodem's receiver found nothing in a clean signal")
						}
						t.Logf("minimodem's receiver found nothing (%s)", cond.label)
						return
					}
					if !sameIdentity(mm, got) {
						t.Errorf("minimodem read %+v, we read %+v", mm, got)
					}
				})
			}
		}
	}
}

func TestDTMFCallerIDFromSox(t *testing.T) {
	dsptest.RequireTool(t, "sox")
	dir := t.TempDir()
	rows := map[byte][2]string{}
	keys := "123A456B789C*0#D"
	rf := []string{"697", "770", "852", "941"}
	cf := []string{"1209", "1336", "1477", "1633"}
	for i := 0; i < len(keys); i++ {
		rows[keys[i]] = [2]string{rf[i/4], cf[i%4]}
	}
	cases := []struct {
		clip string
		want callerid.Result
	}{
		{"D5551234C", callerid.Result{Standard: callerid.DTMF, Number: "5551234"}},
		{"A4512345678#", callerid.Result{Standard: callerid.DTMF, Number: "4512345678"}},
		{"D0031201234567C", callerid.Result{Standard: callerid.DTMF, Number: "0031201234567"}},
		{"B10C", callerid.Result{Standard: callerid.DTMF, Withheld: true}},
		{"B00C", callerid.Result{Standard: callerid.DTMF, Unavailable: true}},
		{"D1#", callerid.Result{Standard: callerid.DTMF, Withheld: true}},
		{"D3#", callerid.Result{Standard: callerid.DTMF, Unavailable: true}},
	}
	for _, lvl := range []struct {
		label string
		tone  float64 // dBm0 per tone
		snr   float64
	}{{"nominal", -10, 0}, {"low", -28, 0}, {"noisy", -10, 20}, {"low-noisy", -28, 20}} {
		for _, c := range cases {
			t.Run(c.clip+"/"+lvl.label, func(t *testing.T) {
				var files []string
				for i := 0; i < len(c.clip); i++ {
					f := rows[c.clip[i]]
					p := filepath.Join(dir, fmt.Sprintf("%s-%s-%d.wav", lvl.label, c.clip, i))
					// remix 1,2 averages the two sines: each is at -2.85 dBm0 before gain.
					dsptest.Run(t, nil, "sox", "-D", "-n", "-r", "8000", "-c", "1", "-b", "16", p,
						"synth", "0.07", "sine", f[0], "sine", f[1], "remix", "1,2",
						"gain", fmt.Sprint(lvl.tone+2.85), "pad", "0", "0.07")
					files = append(files, p)
				}
				out := filepath.Join(dir, fmt.Sprintf("%s-%s.wav", lvl.label, c.clip))
				dsptest.Run(t, nil, "sox", append(files, out, "pad", "0.3", "0.3")...)
				s := dsptest.Load(t, out, 0)
				if lvl.snr > 0 {
					// Noise relative to the power of both tones together.
					s = dsptest.AddNoise(s, lvl.tone+3-lvl.snr, 3)
				}
				got, err := callerid.Decode(callerid.DTMF, s)
				if err != nil {
					t.Fatalf("decode: %v", err)
				}
				if got != c.want {
					t.Fatalf("decoded %+v, want %+v", got, c.want)
				}
			})
		}
	}
}

// The package's own generator (used by the simulated line) must produce what an independent
// receiver reads: minimodem decodes our Bell 202 and V.23 caller-ID signals.
func TestMinimodemReadsOurSignal(t *testing.T) {
	dsptest.RequireTool(t, "minimodem")
	dir := t.TempDir()
	dt := callerid.DateTime{Month: 3, Day: 9, Hour: 8, Minute: 5}
	for _, m := range []struct {
		std   callerid.Standard
		freqs []string
	}{{callerid.Bell202, nil}, {callerid.V23, []string{"-M", "1300", "-S", "2100"}}} {
		for _, r := range []callerid.Result{
			{Number: "3125550199", Name: "ACME PLUMBING", Time: dt},
			{Withheld: true, NameWithheld: true, Time: dt},
		} {
			frame, err := callerid.EncodeMDMF(r)
			if err != nil {
				t.Fatal(err)
			}
			s, err := callerid.FSKSignal(m.std, frame, callerid.SeizureBits, callerid.MarkBits, callerid.DefaultLevelDBm0)
			if err != nil {
				t.Fatal(err)
			}
			s = append(append(make([]int16, 1600), s...), make([]int16, 1600)...)
			got, ok := minimodemReceive(t, dir, fmt.Sprintf("ours-%v-%t", m.std, r.Withheld), s, m.freqs)
			if !ok {
				t.Errorf("%v: minimodem found no caller ID in our signal", m.std)
				continue
			}
			if got.Number != r.Number || got.Name != r.Name || got.Time != r.Time || got.Withheld != r.Withheld || got.NameWithheld != r.NameWithheld {
				t.Errorf("%v: minimodem read %+v, we sent %+v", m.std, got, r)
			}
		}
	}
}
