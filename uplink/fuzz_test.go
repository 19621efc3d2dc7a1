package uplink

import (
	"encoding/json"
	"strconv"
	"testing"
)

// FuzzDecodeSummary: any bytes on .../call must decode or fail with ErrPayload, never panic; what
// decodes re-encodes to something that decodes the same.
func FuzzDecodeSummary(f *testing.F) {
	f.Add([]byte(`{"seq":1,"v":1,"id":"a/0","call_id":"a","outcome":"busy","arrived":"2026-11-22T09:00:00Z","ended":"2026-11-22T09:00:01Z","caller":{"privacy":"masked","number":"****1234","withheld":false}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeSummary(b)
		if err != nil {
			return
		}
		again, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		s2, err := DecodeSummary(again)
		if err != nil || s2.ID != s.ID || s2.Seq != s.Seq {
			t.Fatalf("re-decode: %v %+v", err, s2)
		}
	})
}

// FuzzStampSeq: a stamped object is valid JSON with that seq whenever the input was a JSON object
// without a seq.
func FuzzStampSeq(f *testing.F) {
	f.Add([]byte(`{"v":1,"id":"x"}`), int64(5))
	f.Add([]byte(` {}`), int64(1))
	f.Fuzz(func(t *testing.T, b []byte, seq int64) {
		out, err := StampSeq(b, seq)
		if err != nil {
			return
		}
		var in map[string]json.RawMessage
		if json.Unmarshal(b, &in) != nil {
			return // garbage in may stay garbage; the publisher only stamps its own payloads
		}
		if _, has := in["seq"]; has {
			return
		}
		var got map[string]json.RawMessage
		if err := json.Unmarshal(out, &got); err != nil || string(got["seq"]) != strconv.FormatInt(seq, 10) {
			t.Fatalf("StampSeq(%q, %d) = %q: %v", b, seq, out, err)
		}
	})
}

// FuzzParseBirth: Home Assistant's status topic is open to anyone allowed to publish there.
func FuzzParseBirth(f *testing.F) {
	f.Add([]byte("online"))
	f.Add([]byte("offline"))
	f.Fuzz(func(t *testing.T, b []byte) {
		on, err := ParseBirth(b)
		if on && err != nil {
			t.Fatal("online with an error")
		}
	})
}
