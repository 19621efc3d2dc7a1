package callerid_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/ringside/ringside/telephony/callerid"
	"github.com/ringside/ringside/telephony/dsp/dsptest"
)

// robustFrame is the message of the robustness tests: an MDMF call set-up with date, number and
// name, 33 bytes of message.
func robustFrame() ([]byte, callerid.Result) {
	want := callerid.Result{MessageType: callerid.TypeCallSetup, Number: "2125550123", Name: "SMITH JOHN",
		Time: callerid.DateTime{Month: 11, Day: 22, Hour: 15, Minute: 30}}
	return handFrame(0x80, param(1, "11221530")+param(2, "2125550123")+param(7, "SMITH JOHN")), want
}

// Transmitters off their nominal rate (minimodem's own 1200-baud sender at 8 kHz is 4.8 % slow),
// a channel seizure followed by the message with no mark signal, and a second of noise before the
// signal: each decodes to exactly the message sent, for both modems, at 20 dB SNR.
func TestFSKOffRateAndShapeFromMinimodem(t *testing.T) {
	dsptest.RequireTool(t, "minimodem")
	dsptest.RequireTool(t, "sox")
	dir := t.TempDir()
	frame, want := robustFrame()
	const level = -13.5
	for _, m := range []struct {
		std   callerid.Standard
		freqs []string
	}{{callerid.Bell202, nil}, {callerid.V23, []string{"-M", "1300", "-S", "2100"}}} {
		want.Standard = m.std
		for _, c := range []struct {
			name string
			tx   txShape
		}{
			{"minimodem-8k-4.8pc-slow", txShape{minimodem8k: true}},
			{"5pc-slow", txShape{rate: -0.05}},
			{"5pc-fast", txShape{rate: 0.05}},
			{"seizure-no-mark", txShape{noMark: true}},
			{"seizure-no-mark-5pc-fast", txShape{noMark: true, rate: 0.05}},
			{"mark-only-5pc-slow", txShape{noSeize: true, rate: -0.05}},
		} {
			name := fmt.Sprintf("%v-%s", m.std, c.name)
			t.Run(name, func(t *testing.T) {
				s := minimodemSignal(t, dir, name, frame, m.freqs, level, c.tx)
				// A second of line noise before the signal, as when the decoder starts at the
				// end of the first ring.
				s = append(make([]int16, 8000), s...)
				s = dsptest.AddNoise(s, level-20, 1)
				d, err := callerid.NewFSKDecoder(m.std, 0, discard())
				if err != nil {
					t.Fatal(err)
				}
				got, err := d.Process(nil, s)
				if err != nil {
					t.Errorf("decode: %v", err)
				}
				if len(got) != 1 || got[0] != want {
					t.Fatalf("decoded %+v\nwant    %+v", got, want)
				}
			})
		}
	}
	// Noise alone, ten seconds of it, yields nothing.
	for _, std := range []callerid.Standard{callerid.Bell202, callerid.V23} {
		d, _ := callerid.NewFSKDecoder(std, 0, discard())
		if got, _ := d.Process(nil, dsptest.AddNoise(make([]int16, 80000), level, 2)); len(got) > 0 {
			t.Errorf("%v: decoded %+v from noise", std, got)
		}
	}
}

// TestFSKRobustnessTable decodes the same files with our decoder and with minimodem's caller-ID
// receiver: an MDMF message (seizure, mark, message, from minimodem's transmitter) in Bell 202
// and in V.23, sent at -5, 0 and +5 % of the nominal rate, under white noise at 30 to 6 dB SNR
// (over the 4 kHz band, noise before the signal too), several noise draws per cell. It fails
// where minimodem reads more files than we do. The normal run is one draw per cell; the table
// in the README:
//
//	RINGSIDE_FSK_TABLE=20 go test ./telephony/callerid -run TestFSKRobustnessTable -v
func TestFSKRobustnessTable(t *testing.T) {
	dsptest.RequireTool(t, "minimodem")
	dsptest.RequireTool(t, "sox")
	trials := 1
	if n, err := strconv.Atoi(os.Getenv("RINGSIDE_FSK_TABLE")); err == nil && n > 0 {
		trials = n
	}
	dir := t.TempDir()
	frame, want := robustFrame()
	const level = -13.5
	snrs := []float64{30, 20, 15, 10, 6}
	rates := []float64{-0.05, 0, 0.05}
	for _, m := range []struct {
		std   callerid.Standard
		freqs []string
	}{{callerid.Bell202, nil}, {callerid.V23, []string{"-M", "1300", "-S", "2100"}}} {
		want.Standard = m.std
		var b strings.Builder
		fmt.Fprintf(&b, "%v MDMF, %d noise draws per cell: ours / minimodem --rx callerid\n", m.std, trials)
		fmt.Fprintf(&b, "%8s", "SNR dB")
		for _, r := range rates {
			fmt.Fprintf(&b, " %12s", fmt.Sprintf("%+.0f %%", r*100))
		}
		b.WriteString("\n")
		clean := map[float64][]int16{}
		for _, r := range rates {
			clean[r] = minimodemSignal(t, dir, fmt.Sprintf("table-%v%+.0f", m.std, r*100), frame, m.freqs, level, txShape{rate: r})
		}
		for _, snr := range snrs {
			fmt.Fprintf(&b, "%8.0f", snr)
			for _, r := range rates {
				ours, theirs := 0, 0
				for seed := range trials {
					s := dsptest.AddNoise(clean[r], level-snr, uint64(seed)+uint64(snr)*1000)
					if got, err := callerid.Decode(m.std, s); err == nil && got == want {
						ours++
					}
					name := fmt.Sprintf("table-%v%+.0f-%.0f-%d", m.std, r*100, snr, seed)
					if mm, ok := minimodemReceive(t, dir, name, s, m.freqs); ok && sameIdentity(mm, want) {
						theirs++
					}
				}
				fmt.Fprintf(&b, " %12s", fmt.Sprintf("%d / %d", ours, theirs))
				if ours < theirs {
					t.Errorf("%v %+.0f %% at %.0f dB: we read %d of %d, minimodem %d", m.std, r*100, snr, ours, trials, theirs)
				}
			}
			b.WriteString("\n")
		}
		t.Log("\n" + b.String())
	}
}
