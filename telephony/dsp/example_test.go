package dsp_test

import (
	"fmt"

	"github.com/ringside/ringside/telephony/dsp"
)

// Disconnect supervision: hang up after two cycles of busy or reorder tone.
func ExampleProgressDetector() {
	uk, err := dsp.LookupCountry("GB")
	if err != nil {
		panic(err)
	}
	det := dsp.NewProgressDetector(uk, 0, 0)
	audio := dsp.AppendProgressTone(nil, uk.Tones[1], 3, -20) // BT busy tone, three cycles
	var events []dsp.ProgressEvent
	for i := 0; i < len(audio); i += 160 {
		events = det.Process(events[:0], audio[i:min(i+160, len(audio))])
		for _, ev := range events {
			if ev.Kind != dsp.DialTone && ev.Cycles >= 2 {
				fmt.Println("far end gone:", ev.Kind, ev.Cycles)
			}
		}
	}
	// Output: far end gone: busy 2
}
