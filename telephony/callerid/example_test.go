package callerid_test

import (
	"fmt"
	"log/slog"

	"github.com/ringside/ringside/telephony/callerid"
)

// A line feeds its audio in 20 ms chunks between the first and second ring.
func ExampleFSKDecoder() {
	frame, _ := callerid.EncodeMDMF(callerid.Result{Number: "2125550123", Name: "SMITH JOHN",
		Time: callerid.DateTime{Month: 11, Day: 22, Hour: 15, Minute: 30}})
	audio, _ := callerid.FSKSignal(callerid.Bell202, frame, callerid.SeizureBits, callerid.MarkBits, -15)

	dec, err := callerid.NewFSKDecoder(callerid.Bell202, 0, slog.New(slog.DiscardHandler))
	if err != nil {
		panic(err)
	}
	var results []callerid.Result
	for i := 0; i < len(audio); i += 160 {
		results, err = dec.Process(results, audio[i:min(i+160, len(audio))])
		if err != nil {
			fmt.Println("bad frame:", err)
		}
	}
	for _, r := range results {
		fmt.Println(r.Number, r.Name, r.Time)
	}
	// Output: 2125550123 SMITH JOHN 11-22 15:30
}

// DTMF CLIP: the withheld code B10C.
func ExampleDecode_dtmf() {
	audio, _ := callerid.DTMFSignal(callerid.Result{Withheld: true}, -10)
	r, err := callerid.Decode(callerid.DTMF, audio)
	fmt.Println(r.Withheld, err)
	// Output: true <nil>
}
