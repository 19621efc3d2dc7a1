package uplink_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringside/ringside/uplink"
	"github.com/ringside/ringside/uplink/uplinktest"
)

// lockedBuffer is a log sink the test can read while the publisher writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// runPublisher runs a Publisher in this process until the test ends.
func runPublisher(t *testing.T, cfg uplink.Config, ob uplink.Outbox) (*uplink.Publisher, *lockedBuffer) {
	t.Helper()
	logs := &lockedBuffer{}
	p, err := uplink.New(cfg, ob, slog.New(slog.NewTextHandler(logs, nil)), uplink.SystemClock{}, mrand.New(mrand.NewPCG(7, 7)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("Run did not return within 15 s of cancel")
		}
	})
	return p, logs
}

func waitStatus(t *testing.T, p *uplink.Publisher, what string, cond func(uplink.Status) bool) uplink.Status {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := p.Status()
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never became %s; last %+v", what, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func openOutbox(t *testing.T) *uplinktest.SQLiteOutbox {
	t.Helper()
	ob, err := uplinktest.OpenOutbox(filepath.Join(t.TempDir(), "outbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ob.Close() })
	return ob
}

func backlog(t *testing.T, ob uplink.Outbox) int64 {
	t.Helper()
	n, _, err := ob.OutboxBacklog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func countCalls(msgs []uplinktest.Received) int {
	ids := map[string]bool{}
	for _, m := range msgs {
		if s, err := uplink.DecodeSummary(m.Payload); err == nil {
			ids[s.ID] = true
		}
	}
	return len(ids)
}

var templateField = regexp.MustCompile(`^\{\{ value_json\.([a-z_]+) \}\}$`)

// TestHomeAssistantDiscovery: the six sensors are announced with valid configs and unique ids, their
// state topics carry the fields their templates read, and Home Assistant's birth message makes the
// publisher announce again.
func TestHomeAssistantDiscovery(t *testing.T) {
	m := uplinktest.StartMosquitto(t, uplinktest.BrokerOptions{})
	sub := uplinktest.Subscribe(t, m.URL(), "home-assistant", uplinktest.SubscriberOptions{},
		"homeassistant/sensor/+/config", testTopics.Abs("#"))
	cfg := childConfig(m.URL(), 0)
	cfg.HomeAssistant = true
	p, _ := runPublisher(t, cfg, openOutbox(t))
	p.SetLive(uplink.Live{At: time.Now(), CallersWaiting: 3, AgentsAvailable: 2, LongestWaitS: 41.5, CallsToday: 57, BlockedPctToday: 4.2, AvgWaitTodayS: 18})
	p.SetRollups([]uplink.Rollup{{Kind: "hour", PeriodStart: time.Now().Truncate(time.Hour), PeriodEnd: time.Now().Truncate(time.Hour).Add(time.Hour), Attempts: 9, Connected: 8, Outcomes: map[string]int64{"connected": 8, "busy": 1}}})

	configs := func(ms []uplinktest.Received) []uplinktest.Received {
		var out []uplinktest.Received
		for _, m := range ms {
			if strings.HasPrefix(m.Topic, "homeassistant/sensor/") {
				out = append(out, m)
			}
		}
		return out
	}
	lastOn := func(ms []uplinktest.Received, topic string) map[string]any {
		for i := len(ms) - 1; i >= 0; i-- {
			if ms[i].Topic == topic {
				var v map[string]any
				if json.Unmarshal(ms[i].Payload, &v) == nil {
					return v
				}
			}
		}
		return nil
	}
	if !sub.WaitFor(15*time.Second, func(ms []uplinktest.Received) bool {
		return len(configs(ms)) >= 6 && lastOn(ms, testTopics.Abs(uplink.TopicLive)) != nil &&
			lastOn(ms, testTopics.Abs(uplink.TopicRollupHour)) != nil && lastOn(ms, testTopics.Abs(uplink.TopicStatus)) != nil
	}) {
		t.Fatalf("discovery, live, rollup or status missing: %d messages", sub.Count())
	}
	msgs := sub.Messages()
	unique := map[string]bool{}
	for _, c := range configs(msgs)[:6] {
		var cfg map[string]any
		if err := json.Unmarshal(c.Payload, &cfg); err != nil {
			t.Fatalf("%s: invalid JSON: %v", c.Topic, err)
		}
		for _, k := range []string{"name", "unique_id", "default_entity_id", "state_topic", "value_template", "device", "availability"} {
			if cfg[k] == nil {
				t.Errorf("%s: no %q", c.Topic, k)
			}
		}
		uid, _ := cfg["unique_id"].(string)
		if unique[uid] {
			t.Errorf("unique id %s used twice", uid)
		}
		unique[uid] = true
		field := templateField.FindStringSubmatch(cfg["value_template"].(string))
		if field == nil {
			t.Fatalf("%s: template %q", uid, cfg["value_template"])
		}
		state := lastOn(msgs, cfg["state_topic"].(string))
		if _, ok := state[field[1]].(float64); !ok {
			t.Errorf("%s: state topic %s has no number %q: %v", uid, cfg["state_topic"], field[1], state)
		}
	}
	if len(unique) != 6 {
		t.Fatalf("%d unique ids", len(unique))
	}
	if live := lastOn(msgs, testTopics.Abs(uplink.TopicLive)); live["callers_waiting"] != 3.0 || live["blocked_pct_today"] != 4.2 {
		t.Errorf("live payload %v", live)
	}
	if r := lastOn(msgs, testTopics.Abs(uplink.TopicRollupHour)); r["attempts"] != 9.0 || r["site"] != "clinic" {
		t.Errorf("rollup payload %v", r)
	}

	// [MQTT-3.3.1-9] only a new subscriber sees the retain flag: Home Assistant starting later must
	// find all six configs and the live state.
	late := uplinktest.Subscribe(t, m.URL(), "late-home-assistant", uplinktest.SubscriberOptions{}, "homeassistant/sensor/+/config", testTopics.Abs(uplink.TopicLive))
	if !late.WaitFor(10*time.Second, func(ms []uplinktest.Received) bool {
		topics := map[string]bool{}
		for _, m := range ms {
			if m.Retained {
				topics[m.Topic] = true
			}
		}
		return len(topics) == 7
	}) {
		t.Fatalf("a late subscriber got %d messages, want 6 retained configs and the retained live state", late.Count())
	}

	before := len(configs(sub.Messages()))
	if err := sub.Publish("homeassistant/status", 1, false, []byte("online")); err != nil {
		t.Fatal(err)
	}
	if !sub.WaitFor(10*time.Second, func(ms []uplinktest.Received) bool { return len(configs(ms)) >= before+6 }) {
		t.Fatal("no new announcement after Home Assistant's birth message")
	}
}

// TestAuthRefusedThenFixed: wrong credentials give a clear error in the status and the log, keep
// the backlog, and delivery resumes once the broker accepts the credentials.
func TestAuthRefusedThenFixed(t *testing.T) {
	dir := t.TempDir()
	pw := uplinktest.PasswordFile(t, filepath.Join(dir, "passwd"), "dashboard", "dash-pw", "box1", "old-password")
	m := uplinktest.StartMosquitto(t, uplinktest.BrokerOptions{PasswordFile: pw})
	sub := uplinktest.Subscribe(t, m.URL(), "dashboard", uplinktest.SubscriberOptions{Username: "dashboard", Password: "dash-pw"}, testTopics.Abs(uplink.TopicCall))

	ob := openOutbox(t)
	writeSummaries(t, ob, 20, 20)
	cfg := childConfig(m.URL(), 0)
	cfg.Username, cfg.Password = "box1", "new-password"
	p, logs := runPublisher(t, cfg, ob)

	st := waitStatus(t, p, "auth_refused", func(s uplink.Status) bool { return s.State == uplink.StateAuthRefused })
	if !errors.Is(st.Err, uplink.ErrAuthRefused) {
		t.Fatalf("status error %v is not ErrAuthRefused", st.Err)
	}
	time.Sleep(300 * time.Millisecond) // a few more refused attempts
	if !strings.Contains(logs.String(), "state=auth_refused") || !strings.Contains(logs.String(), "refused the credentials") {
		t.Fatalf("log does not say the credentials were refused:\n%s", logs.String())
	}
	if n := backlog(t, ob); n != 20 {
		t.Fatalf("backlog %d, want 20 kept", n)
	}
	if sub.Count() != 0 {
		t.Fatal("something was delivered with refused credentials")
	}

	uplinktest.PasswordFile(t, pw, "dashboard", "dash-pw", "box1", "new-password") // the operator fixes the broker
	m.Restart()
	if !sub.WaitFor(20*time.Second, func(ms []uplinktest.Received) bool { return countCalls(ms) == 20 }) {
		t.Fatalf("after the fix %d of 20 summaries arrived; log:\n%s", countCalls(sub.Messages()), logs.String())
	}
	waitStatus(t, p, "connected with an empty backlog", func(s uplink.Status) bool {
		return s.State == uplink.StateConnected && s.Err == nil && s.Delivered == 20
	})
}

// certAuthority is a test CA made with crypto/x509.
type certAuthority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T, name string) *certAuthority {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &certAuthority{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue writes a leaf certificate and key signed by the CA; server certs name 127.0.0.1.
func (ca *certAuthority) issue(t *testing.T, dir, name string, server bool) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func writeFile(t *testing.T, path string, b []byte) string {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestTLSRefusedThenFixed: a broker whose certificate the box does not trust gives a clear TLS
// error, keeps the backlog, and delivery resumes once the broker presents the right certificate.
// The box authenticates with a client certificate (require_certificate) once TLS works.
func TestTLSRefusedThenFixed(t *testing.T) {
	dir := t.TempDir()
	trusted, stranger := newCA(t, "ringside test CA"), newCA(t, "some other CA")
	trustedFile := writeFile(t, filepath.Join(dir, "trusted-ca.pem"), trusted.pem)
	wrongCert, wrongKey := stranger.issue(t, dir, "wrong-server", true)
	goodCert, goodKey := trusted.issue(t, dir, "server", true)
	boxCert, boxKey := trusted.issue(t, dir, "box1", false)
	dashCert, dashKey := trusted.issue(t, dir, "dashboard", false)

	m := uplinktest.StartMosquitto(t, uplinktest.BrokerOptions{TLS: &uplinktest.BrokerTLS{
		CAFile: trustedFile, CertFile: wrongCert, KeyFile: wrongKey, RequireClientCert: true}})
	ob := openOutbox(t)
	writeSummaries(t, ob, 20, 20)
	tlsCfg, err := uplink.LoadTLS(trustedFile, boxCert, boxKey)
	if err != nil {
		t.Fatal(err)
	}
	cfg := childConfig(m.URL(), 0)
	cfg.TLS = tlsCfg
	p, logs := runPublisher(t, cfg, ob)

	st := waitStatus(t, p, "tls_failed", func(s uplink.Status) bool { return s.State == uplink.StateTLSFailed })
	if !errors.Is(st.Err, uplink.ErrTLS) {
		t.Fatalf("status error %v is not ErrTLS", st.Err)
	}
	if !strings.Contains(logs.String(), "state=tls_failed") || !strings.Contains(logs.String(), "TLS handshake failed") {
		t.Fatalf("log does not name the TLS failure:\n%s", logs.String())
	}
	if n := backlog(t, ob); n != 20 {
		t.Fatalf("backlog %d, want 20 kept", n)
	}

	m.Stop()
	m.SetOptions(uplinktest.BrokerOptions{TLS: &uplinktest.BrokerTLS{CAFile: trustedFile, CertFile: goodCert, KeyFile: goodKey, RequireClientCert: true}})
	m.Start()
	dashTLS, err := uplink.LoadTLS(trustedFile, dashCert, dashKey)
	if err != nil {
		t.Fatal(err)
	}
	// The dashboard subscribes after the fix; rows waiting in the outbox are still to come.
	sub := uplinktest.Subscribe(t, m.URL(), "dashboard", uplinktest.SubscriberOptions{TLS: dashTLS}, testTopics.Abs(uplink.TopicCall))
	if !sub.WaitFor(20*time.Second, func(ms []uplinktest.Received) bool { return countCalls(ms) == 20 }) {
		t.Fatalf("after the fix %d of 20 summaries arrived; log:\n%s", countCalls(sub.Messages()), logs.String())
	}
	waitStatus(t, p, "connected", func(s uplink.Status) bool { return s.State == uplink.StateConnected && s.Delivered == 20 })
}

// TestCleanStopPublishesOffline: when Run ends (SIGTERM in the appliance) the retained status says
// offline/stopped without waiting for the will, and Status says stopped.
func TestCleanStopPublishesOffline(t *testing.T) {
	m := uplinktest.StartMosquitto(t, uplinktest.BrokerOptions{})
	logs := &lockedBuffer{}
	p, err := uplink.New(childConfig(m.URL(), 0), openOutbox(t), slog.New(slog.NewTextHandler(logs, nil)), uplink.SystemClock{}, mrand.New(mrand.NewPCG(3, 3)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	waitStatus(t, p, "connected", func(s uplink.Status) bool { return s.State == uplink.StateConnected })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return")
	}
	if st := p.Status(); st.State != uplink.StateStopped {
		t.Fatalf("state %s after Run returned", st.State)
	}
	sub := uplinktest.Subscribe(t, m.URL(), "viewer", uplinktest.SubscriberOptions{}, testTopics.Abs(uplink.TopicStatus))
	if !sub.WaitFor(5*time.Second, func(ms []uplinktest.Received) bool {
		if len(ms) == 0 {
			return false
		}
		var s uplink.StatusPayload
		return ms[0].Retained && json.Unmarshal(ms[0].Payload, &s) == nil && s.State == "offline" && s.Uplink == uplink.StateStopped
	}) {
		t.Fatalf("retained status after a clean stop: %+v", sub.Messages())
	}
}

// TestTLSClientCertMissing: a broker that requires a client certificate refuses a box without one;
// with TLS 1.3 the refusal comes as an alert after the handshake, and must still read as a TLS failure.
func TestTLSClientCertMissing(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t, "ringside test CA")
	caFile := writeFile(t, filepath.Join(dir, "ca.pem"), ca.pem)
	cert, key := ca.issue(t, dir, "server", true)
	m := uplinktest.StartMosquitto(t, uplinktest.BrokerOptions{TLS: &uplinktest.BrokerTLS{CAFile: caFile, CertFile: cert, KeyFile: key, RequireClientCert: true}})
	tlsCfg, err := uplink.LoadTLS(caFile, "", "")
	if err != nil {
		t.Fatal(err)
	}
	ob := openOutbox(t)
	writeSummaries(t, ob, 3, 3)
	cfg := childConfig(m.URL(), 0)
	cfg.TLS = tlsCfg
	p, logs := runPublisher(t, cfg, ob)
	st := waitStatus(t, p, "tls_failed", func(s uplink.Status) bool { return s.State == uplink.StateTLSFailed })
	if !errors.Is(st.Err, uplink.ErrTLS) {
		t.Fatalf("status error %v; log:\n%s", st.Err, logs.String())
	}
	if n := backlog(t, ob); n != 3 {
		t.Fatalf("backlog %d, want 3 kept", n)
	}
}
