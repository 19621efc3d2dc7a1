package callerid_test

import (
	"testing"
	"time"

	"github.com/ringside/ringside/telephony/callerid"
	"github.com/ringside/ringside/telephony/dsp"
)

// BenchmarkLinePipeline runs everything an analog line runs on its audio (caller-ID FSK
// demodulation and framing, DTMF detection, call-progress detection, silence timing, the
// dual-tone alerting signal) over one
// second of audio fed in 20 ms chunks, and reports the cost as a multiple of real time:
// x-realtime from the wall clock, x-realtime-cpu from the CPU time the process used (the
// figure to trust when other work shares the machine; the two agree on an idle one).
func BenchmarkLinePipeline(b *testing.B) {
	for _, std := range []callerid.Standard{callerid.Bell202, callerid.V23} {
		b.Run(std.String(), func(b *testing.B) {
			frame, _ := callerid.EncodeMDMF(callerid.Result{Number: "2125550123", Name: "SMITH JOHN",
				Time: callerid.DateTime{Month: 11, Day: 22, Hour: 15, Minute: 30}})
			audio, _ := callerid.FSKSignal(std, frame, callerid.SeizureBits, callerid.MarkBits, -15)
			us, _ := dsp.LookupCountry("US")
			audio = dsp.AppendProgressTone(audio, us.Tones[1], 1, -20)
			audio = audio[:dsp.SampleRate] // exactly one second
			fsk, err := callerid.NewFSKDecoder(std, 0, discard())
			if err != nil {
				b.Fatal(err)
			}
			dtmf := dsp.NewDTMFDetector(dsp.DTMFConfig{})
			prog := dsp.NewProgressDetector(us, 0, 0)
			sil := dsp.NewSilenceDetector(0)
			alert := dsp.NewAlertDetector(0)
			var (
				res    []callerid.Result
				digits []dsp.Digit
				events []dsp.ProgressEvent
				alerts []dsp.Alert
			)
			found := 0
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := processCPU()
			for range b.N {
				fsk.Reset()
				for i := 0; i < len(audio); i += 160 {
					chunk := audio[i : i+160]
					res, _ = fsk.Process(res[:0], chunk)
					found += len(res)
					digits = dtmf.Process(digits[:0], chunk)
					events = prog.Process(events[:0], chunk)
					sil.Process(chunk)
					alerts = alert.Process(alerts[:0], chunk)
				}
			}
			b.StopTimer()
			cpu := processCPU() - cpu0
			if found != b.N {
				b.Fatalf("decoded %d caller IDs in %d runs", found, b.N)
			}
			perSecond := b.Elapsed() / time.Duration(b.N)
			b.ReportMetric(float64(time.Second)/float64(perSecond), "x-realtime")
			if cpu > 0 {
				b.ReportMetric(float64(time.Second)*float64(b.N)/float64(cpu), "x-realtime-cpu")
			}
		})
	}
}
