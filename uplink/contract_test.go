package uplink

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"
)

func testEncoder(t *testing.T, mode CallerMode) *Encoder {
	t.Helper()
	e, err := NewEncoder(Topics{Prefix: "ringside/v1", Site: "clinic", Device: "box1"}, Privacy{Mode: mode, Secret: []byte("site-secret")})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestCallEncodeStampDecode(t *testing.T) {
	arrived := time.Date(2026, 11, 22, 9, 30, 0, 123456789, time.FixedZone("CET", 3600))
	s := Summary{CallID: "0193-abc", Arrived: arrived, Connected: arrived.Add(12 * time.Second), Ended: arrived.Add(90 * time.Second),
		WaitMs: 12000, TalkMs: 78000, Outcome: "connected", Line: "ata1", TrackingNumber: "+441632960001",
		Attribution: Attribution{Source: "paid_search", GCLID: "Cj0K"}, Tags: Tags{Lead: true}}
	m, err := testEncoder(t, CallerMasked).Call(s, "+441632960123")
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != "0193-abc/0" || m.Topic != TopicCall {
		t.Fatalf("message id %q topic %q", m.ID, m.Topic)
	}
	if strings.Contains(string(m.Payload), `"seq"`) || strings.Contains(string(m.Payload), "960123") {
		t.Fatalf("stored payload has a seq or the full number: %s", m.Payload)
	}
	stamped, err := StampSeq(m.Payload, 42)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeSummary(stamped)
	if err != nil {
		t.Fatalf("decode %s: %v", stamped, err)
	}
	if got.Seq != 42 || got.ID != m.ID || got.Site != "clinic" || got.Device != "box1" || got.Caller.Number != "****0123" ||
		!got.Arrived.Equal(arrived.Truncate(time.Millisecond)) || got.Arrived.Location() != time.UTC || got.Attribution.GCLID != "Cj0K" {
		t.Fatalf("round trip: %+v", got)
	}
	if _, err := DecodeSummary(m.Payload); !errors.Is(err, ErrPayload) {
		t.Fatalf("unstamped payload decoded: %v", err)
	}
}

func TestStampSeqEdges(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{
		{`{}`, `{"seq":7}`},
		{` {"a":1}`, `{"seq":7,"a":1}`},
		{"{\n}", `{"seq":7}`},
	} {
		b, err := StampSeq([]byte(tc.in), 7)
		if err != nil || string(b) != tc.want {
			t.Errorf("StampSeq(%q) = %s, %v; want %s", tc.in, b, err, tc.want)
		}
	}
	for _, bad := range []string{"", "[]", "{", "null"} {
		if _, err := StampSeq([]byte(bad), 1); !errors.Is(err, ErrPayload) {
			t.Errorf("StampSeq(%q) accepted", bad)
		}
	}
	if _, err := StampSeq([]byte(`{}`), 0); !errors.Is(err, ErrPayload) {
		t.Error("seq 0 accepted")
	}
}

func TestPrivacyModes(t *testing.T) {
	const n = "+441632960123"
	secret := []byte("site-secret")
	cases := map[CallerMode]string{CallerFull: n, CallerMasked: "****0123", CallerHashed: HashNumber(secret, n), CallerOmit: ""}
	for mode, want := range cases {
		c := Privacy{Mode: mode, Secret: secret}.Caller(n)
		if c.Number != want || c.Privacy != mode || c.Withheld {
			t.Errorf("%s: %+v, want number %q", mode, c, want)
		}
		w := Privacy{Mode: mode, Secret: secret}.Caller("")
		if !w.Withheld || w.Number != "" {
			t.Errorf("%s withheld: %+v", mode, w)
		}
	}
	h := HashNumber(secret, n)
	if len(h) != 64 || h == HashNumber([]byte("other"), n) || h != HashNumber(secret, n) {
		t.Errorf("hash %q is not a keyed, stable SHA-256 hex", h)
	}
	if MaskNumber("1234") != "****" || MaskNumber("+1 (555) 010-9999") != "****9999" {
		t.Error("mask edge cases")
	}
	if err := (Privacy{Mode: CallerHashed}).Validate(); !errors.Is(err, ErrConfig) {
		t.Error("hashed without secret accepted")
	}
	if _, err := ParseCallerMode("partial"); !errors.Is(err, ErrConfig) {
		t.Error("unknown mode accepted")
	}
	// the omitted number must not even appear as a key
	m, _ := testEncoder(t, CallerOmit).Call(Summary{CallID: "x", Outcome: "busy"}, n)
	if strings.Contains(string(m.Payload), `"number"`) {
		t.Errorf("omit mode payload: %s", m.Payload)
	}
}

func TestDiscoveryMessages(t *testing.T) {
	tp := Topics{Prefix: "ringside/v1", Site: "clinic", Device: "box 1"}
	ds, err := DiscoveryMessages(DefaultDiscoveryPrefix, tp, HADevice{SiteName: "Clinic"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 6 {
		t.Fatalf("%d sensors, want 6", len(ds))
	}
	seen := map[string]bool{}
	for _, d := range ds {
		var c map[string]any
		if err := json.Unmarshal(d.Payload, &c); err != nil {
			t.Fatalf("%s: %v", d.Topic, err)
		}
		uid, _ := c["unique_id"].(string)
		if uid == "" || seen[uid] || strings.ContainsAny(uid, " /") || d.Topic != "homeassistant/sensor/"+uid+"/config" {
			t.Errorf("unique id %q on %s", uid, d.Topic)
		}
		seen[uid] = true
		for _, k := range []string{"name", "default_entity_id", "state_topic", "value_template", "device", "availability"} {
			if _, ok := c[k]; !ok {
				t.Errorf("%s: no %s", uid, k)
			}
		}
	}
}

// TestDiscoveryDevice: default entity ids hold only what Home Assistant allows ([a-z0-9_], no
// leading, trailing or doubled underscore), the device is named once as Ringside, and the device
// and origin carry the version and the web page's URL.
func TestDiscoveryDevice(t *testing.T) {
	entityID := regexp.MustCompile(`^sensor\.[a-z0-9]+(_[a-z0-9]+)*$`)
	cases := []struct {
		site, device, name, want string
	}{
		{"ringside-dental", "ringside-dental", "Ringside Dental", "Ringside Dental"},
		{"clinic", "clinic", "Clinic", "Ringside Clinic"},
		{"clinic", "Box-2.east", "Clinic", "Ringside Clinic Box-2.east"},
	}
	for _, tc := range cases {
		tp := Topics{Prefix: "ringside/v1", Site: tc.site, Device: tc.device}
		ds, err := DiscoveryMessages(DefaultDiscoveryPrefix, tp, HADevice{SiteName: tc.name, Version: "1.4.2", WebURL: "http://ringside.local:8080/"})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			var c struct {
				UniqueID        string            `json:"unique_id"`
				DefaultEntityID string            `json:"default_entity_id"`
				Device          map[string]any    `json:"device"`
				Origin          map[string]string `json:"origin"`
			}
			if err := json.Unmarshal(d.Payload, &c); err != nil {
				t.Fatal(err)
			}
			if !entityID.MatchString(c.DefaultEntityID) {
				t.Errorf("%s: default_entity_id %q is not a valid entity id", c.UniqueID, c.DefaultEntityID)
			}
			dev := c.Device
			if dev["name"] != tc.want {
				t.Errorf("device name %q, want %q", dev["name"], tc.want)
			}
			if dev["sw_version"] != "1.4.2" || dev["configuration_url"] != "http://ringside.local:8080/" {
				t.Errorf("device %v: want sw_version 1.4.2 and configuration_url http://ringside.local:8080/", dev)
			}
			if c.Origin["name"] != "Ringside" || c.Origin["sw_version"] != "1.4.2" || c.Origin["support_url"] != "http://ringside.local:8080/" {
				t.Errorf("origin %v: want name, sw_version and support_url", c.Origin)
			}
		}
	}
	tp := Topics{Prefix: "ringside/v1", Site: "clinic", Device: "clinic"}
	for _, bad := range []string{"ringside.local", "ftp://x/", "http://"} {
		if _, err := DiscoveryMessages(DefaultDiscoveryPrefix, tp, HADevice{WebURL: bad}); !errors.Is(err, ErrConfig) {
			t.Errorf("web URL %q accepted: %v", bad, err)
		}
	}
}

func TestParseBirth(t *testing.T) {
	if on, err := ParseBirth([]byte("online")); !on || err != nil {
		t.Error("online")
	}
	if on, err := ParseBirth([]byte("offline\n")); on || err != nil {
		t.Error("offline")
	}
	if _, err := ParseBirth([]byte(`{"state":"online"}`)); !errors.Is(err, ErrPayload) {
		t.Error("json accepted")
	}
}

type manualClock struct{ now time.Time }

func (c *manualClock) Now() time.Time                       { return c.now }
func (c *manualClock) After(time.Duration) <-chan time.Time { return make(chan time.Time) }

func TestBucketPacesToRate(t *testing.T) {
	clk := &manualClock{now: time.Unix(1000, 0)}
	b := newBucket(clk, 100) // burst 10
	var waited time.Duration
	for i := 0; i < 1000; i++ {
		d := b.take()
		if d > 0 { // sleep as the caller would
			clk.now = clk.now.Add(d)
			waited += d
		}
	}
	// 1000 tokens at 100/s with 10 saved up: 9.9 s of waiting, whatever the step.
	if waited < 9800*time.Millisecond || waited > 10*time.Second {
		t.Fatalf("1000 messages at 100/s waited %v", waited)
	}
	if d := newBucket(clk, 0).take(); d != 0 {
		t.Fatal("rate 0 is not unlimited")
	}
}

func TestBackoffBoundsAndJitter(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	lo, hi := time.Second, time.Minute
	distinct := map[time.Duration]bool{}
	for n := 0; n < 20; n++ {
		step := min(hi, lo<<min(n, 30))
		d := backoff(n, lo, hi, r.Float64())
		if d < step/2 || d > step {
			t.Fatalf("attempt %d: %v outside [%v, %v]", n, d, step/2, step)
		}
		distinct[d] = true
	}
	if len(distinct) < 10 {
		t.Fatalf("no jitter: %v", distinct)
	}
}

func TestClassify(t *testing.T) {
	if st, err := classify(fmt.Errorf("x: %w", packets.ErrorRefusedNotAuthorised)); st != StateAuthRefused || !errors.Is(err, ErrAuthRefused) {
		t.Errorf("not authorised -> %s %v", st, err)
	}
	if st, err := classify(errors.New("dial tcp: refused")); st != StateOffline || !errors.Is(err, ErrConnect) {
		t.Errorf("dial -> %s %v", st, err)
	}
}

func TestResolveTopic(t *testing.T) {
	p := &Publisher{cfg: Config{Topics: Topics{Prefix: "ringside/v1", Site: "clinic", Device: "box1"}}}
	for stored, want := range map[string]string{
		"":                             "ringside/v1/clinic/box1/call",
		"call":                         "ringside/v1/clinic/box1/call",
		"ringside/v1/clinic/box1/call": "ringside/v1/clinic/box1/call",
		"rollup/hour":                  "ringside/v1/clinic/box1/rollup/hour",
	} {
		if got := p.resolve(stored); got != want {
			t.Errorf("resolve(%q) = %q, want %q", stored, got, want)
		}
	}
}
