package dsptest

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RequireTool fails the test when name is not on PATH and CI=true, and skips it otherwise.
func RequireTool(tb testing.TB, name string) {
	tb.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%s is required in CI (install it with .ci/install): %v", name, err)
		}
		tb.Skipf("%s not installed: %v", name, err)
	}
}

// Run runs name with args (stdin from stdin when not nil), fails the test on error, and
// returns its standard output. Each run is bounded to one minute.
func Run(tb testing.TB, stdin []byte, name string, args ...string) []byte {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		tb.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, errb.String())
	}
	return out.Bytes()
}

// Load converts any audio file sox reads to 8 kHz mono 16-bit samples, with gainDB applied.
func Load(tb testing.TB, path string, gainDB float64) []int16 {
	tb.Helper()
	raw := Run(tb, nil, "sox", "-D", path, "-t", "raw", "-e", "signed", "-b", "16", "-L", "-c", "1", "-r", "8000", "-",
		"gain", ftoa(gainDB))
	s := make([]int16, len(raw)/2)
	for i := range s {
		s[i] = int16(binary.LittleEndian.Uint16(raw[2*i:]))
	}
	return s
}

// WriteWAV writes samples as an 8 kHz mono 16-bit PCM WAV file.
func WriteWAV(tb testing.TB, path string, samples []int16) {
	tb.Helper()
	var b bytes.Buffer
	n := uint32(len(samples) * 2)
	b.WriteString("RIFF")
	_ = binary.Write(&b, binary.LittleEndian, 36+n)
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(8000), uint32(16000), uint16(2), uint16(16)} {
		_ = binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	_ = binary.Write(&b, binary.LittleEndian, n)
	_ = binary.Write(&b, binary.LittleEndian, samples)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// RMSDBm0 returns the level of samples in dBm0 (a full-scale sine is +3.17 dBm0).
func RMSDBm0(samples []int16) float64 {
	var e float64
	for _, v := range samples {
		e += float64(v) * float64(v)
	}
	ms := e / float64(max(len(samples), 1))
	return 10*math.Log10(ms/(32767.0*32767.0/2)) + 3.17
}

// AddNoise returns samples plus white Gaussian noise at noiseDBm0 (deterministic for a seed).
func AddNoise(samples []int16, noiseDBm0 float64, seed uint64) []int16 {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	sigma := 32767 / math.Sqrt2 * math.Pow(10, (noiseDBm0-3.17)/20)
	out := make([]int16, len(samples))
	for i, v := range samples {
		x := math.Round(float64(v) + rng.NormFloat64()*sigma)
		out[i] = int16(max(min(x, math.MaxInt16), math.MinInt16))
	}
	return out
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
func itoa(i int) string     { return strconv.Itoa(i) }

// Speech writes about seconds of English speech by espeak-ng into dir and returns it at 8 kHz,
// at a normal telephone level (about -20 dBm0 average).
func Speech(tb testing.TB, dir string, seconds int) []int16 {
	tb.Helper()
	RequireTool(tb, "espeak-ng")
	RequireTool(tb, "sox")
	text := strings.Repeat(speechText, 1+seconds/40)
	wav := filepath.Join(dir, "speech.wav")
	// Two voices and speeds, so the test sees more than one pitch range.
	Run(tb, nil, "espeak-ng", "-s", "165", "-w", wav, text)
	wav2 := filepath.Join(dir, "speech2.wav")
	Run(tb, nil, "espeak-ng", "-v", "en+f3", "-p", "70", "-s", "140", "-w", wav2, text)
	a := Load(tb, wav, 0)
	b := Load(tb, wav2, 0)
	s := append(a, b...)
	if n := seconds * 8000; len(s) > n {
		s = s[:n]
	}
	return Normalize(s, -20)
}

// Normalize scales samples so their level is levelDBm0.
func Normalize(s []int16, levelDBm0 float64) []int16 {
	g := math.Pow(10, (levelDBm0-RMSDBm0(s))/20)
	out := make([]int16, len(s))
	for i, v := range s {
		x := math.Round(float64(v) * g)
		out[i] = int16(max(min(x, math.MaxInt16), math.MinInt16))
	}
	return out
}

// Music synthesises about seconds of music with sox into dir and returns it at 8 kHz, -18 dBm0:
// plucked-string chords, a square-wave bass line and a sine melody with vibrato (the kind of
// thing hold music is), each note a quarter second to a second long.
func Music(tb testing.TB, dir string, seconds int) []int16 {
	tb.Helper()
	RequireTool(tb, "sox")
	// A4 (440 Hz) and G4 (392 Hz) sit on the French, US and UK tone frequencies on purpose.
	chords := [][3]string{{"C4", "E4", "G4"}, {"A4", "C5", "E5"}, {"F3", "A3", "C4"}, {"G3", "B3", "D4"}, {"D4", "F4", "A4"}}
	var parts []string
	total := 0.0
	for i := 0; total < float64(seconds); i++ {
		c := chords[i%len(chords)]
		dur := []float64{0.25, 0.5, 0.75, 1}[i%4]
		p := filepath.Join(dir, "note"+itoa(i%16)+".wav")
		if i < 16 {
			switch i % 3 {
			case 0:
				Run(tb, nil, "sox", "-n", "-r", "8000", "-c", "1", "-b", "16", p, "synth", ftoa(dur),
					"pluck", c[0], "pluck", c[1], "pluck", c[2], "remix", "1,2,3", "fade", "0", ftoa(dur), "0.05")
			case 1:
				Run(tb, nil, "sox", "-n", "-r", "8000", "-c", "1", "-b", "16", p, "synth", ftoa(dur),
					"square", c[0], "sine", c[1], "remix", "1,2", "lowpass", "1500")
			default:
				Run(tb, nil, "sox", "-n", "-r", "8000", "-c", "1", "-b", "16", p, "synth", ftoa(dur),
					"sine", c[2], "sine", c[0], "remix", "1,2", "tremolo", "6", "40")
			}
		}
		parts = append(parts, p)
		total += dur
	}
	out := filepath.Join(dir, "music.wav")
	Run(tb, nil, "sox", append(parts, out)...)
	s := Load(tb, out, 0)
	if n := seconds * 8000; len(s) > n {
		s = s[:n]
	}
	return Normalize(s, -18)
}

const speechText = `Thank you for calling. All of our staff are busy helping other customers right now.
Please stay on the line and your call will be answered in the order it was received.
Our opening hours are Monday to Friday, from eight in the morning until six in the evening,
and Saturday from nine until one. If you are calling about an existing appointment, please
have your reference number ready. You can also visit our website to book online, check the
status of your order, or read answers to the questions we hear most often. Hello, this is
Doctor Smith's office, how can I help you today? I would like to make an appointment for my
daughter next Tuesday afternoon, if that's possible. Let me check the calendar for you. We have
a slot at two fifteen or at four thirty. Four thirty would be perfect, thank you very much.
`

// Voice is an espeak-ng voice and something to say in its language.
type Voice struct {
	Name string // espeak-ng -v argument: a language, optionally with a variant ("en+f3")
	Text string
}

// Voices returns callers in several languages and voices: English (a male and a female voice),
// French, German, Spanish and Italian, each saying about ten seconds of a service call.
func Voices() []Voice {
	return []Voice{
		{"en-us", "Hello, I am calling about the advertisement I saw for your plumbing services. We have a leak " +
			"under the kitchen sink, and the water has been dripping since Tuesday morning. Could someone come by " +
			"this afternoon, or tomorrow before noon?"},
		{"en-gb+f3", "Good morning, I would like to book an appointment for my daughter next Tuesday afternoon, " +
			"if that is possible. Four thirty would be perfect. My reference number is seven two nine, and my " +
			"postcode is one four eight. Thank you so much, goodbye."},
		{"fr-fr", "Bonjour, je vous appelle au sujet de votre annonce. Nous avons une fuite sous l'évier de la " +
			"cuisine, et l'eau coule depuis mardi matin. Est-ce que quelqu'un pourrait passer cet après-midi, " +
			"ou demain avant midi? Merci beaucoup, au revoir."},
		{"de", "Guten Tag, ich rufe wegen Ihrer Anzeige an. Wir haben ein Leck unter der Spüle in der Küche, und " +
			"das Wasser tropft seit Dienstag morgen. Könnte heute Nachmittag oder morgen Vormittag jemand " +
			"vorbeikommen? Vielen Dank, auf Wiederhören."},
		{"es", "Buenos días, le llamo por su anuncio. Tenemos una fuga debajo del fregadero de la cocina y el " +
			"agua gotea desde el martes por la mañana. ¿Podría venir alguien esta tarde o mañana antes del " +
			"mediodía? Muchas gracias, adiós."},
		{"it", "Buongiorno, la chiamo per il suo annuncio. Abbiamo una perdita sotto il lavello della cucina e " +
			"l'acqua gocciola da martedì mattina. Potrebbe passare qualcuno oggi pomeriggio o domani prima di " +
			"mezzogiorno? Grazie mille, arrivederci."},
	}
}

// SpeechOf has espeak-ng say v's text into dir and returns it at 8 kHz and levelDBm0.
func SpeechOf(tb testing.TB, dir string, v Voice, levelDBm0 float64) []int16 {
	tb.Helper()
	RequireTool(tb, "espeak-ng")
	RequireTool(tb, "sox")
	wav := filepath.Join(dir, "speech-"+strings.NewReplacer("+", "_", "/", "_").Replace(v.Name)+".wav")
	Run(tb, nil, "espeak-ng", "-v", v.Name, "-s", "160", "-w", wav, v.Text)
	return Normalize(Load(tb, wav, 0), levelDBm0)
}

// AddBursts returns s with tone bursts added over it: the sum of sines at freqs, each at
// levelDBm0, on and off for times drawn uniformly from minLen to maxLen (deterministic for
// seed). It is what a caller whistling, a sing-song voice or a beeping appliance in the
// background puts on a line: call-progress frequencies, at no cadence.
func AddBursts(s []int16, freqs []float64, levelDBm0 float64, minLen, maxLen time.Duration, seed uint64) []int16 {
	rng := rand.New(rand.NewPCG(seed, 0xb0b))
	amp := 32767 * math.Pow(10, (levelDBm0-3.17)/20)
	span := func() int {
		return int((minLen + time.Duration(rng.Int64N(int64(maxLen-minLen)+1))) * 8000 / time.Second)
	}
	out := make([]int16, len(s))
	copy(out, s)
	for i := rng.IntN(4000); i < len(out); {
		on := span()
		for j := 0; j < on && i+j < len(out); j++ {
			x := float64(out[i+j])
			for _, f := range freqs {
				x += amp * math.Sin(2*math.Pi*f*float64(j)/8000)
			}
			out[i+j] = int16(max(min(math.Round(x), math.MaxInt16), math.MinInt16))
		}
		i += on + span()
	}
	return out
}
