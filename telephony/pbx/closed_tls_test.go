package pbx

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ringside/ringside/telephony/sdp"
	"github.com/ringside/ringside/telephony/siptest"
)

// writeWAV writes d of 8 kHz mono PCM16 silence-ish tone to a file.
func writeWAV(t *testing.T, d time.Duration) string {
	t.Helper()
	n := int(d.Seconds() * 8000)
	data := make([]byte, 2*n)
	for i := range n {
		binary.LittleEndian.PutUint16(data[2*i:], uint16(int16((i%16)*500-4000)))
	}
	hdr := make([]byte, 44)
	copy(hdr, "RIFF")
	binary.LittleEndian.PutUint32(hdr[4:], uint32(36+len(data)))
	copy(hdr[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(hdr[16:], 16)
	binary.LittleEndian.PutUint16(hdr[20:], 1)
	binary.LittleEndian.PutUint16(hdr[22:], 1)
	binary.LittleEndian.PutUint32(hdr[24:], 8000)
	binary.LittleEndian.PutUint32(hdr[28:], 16000)
	binary.LittleEndian.PutUint16(hdr[32:], 2)
	binary.LittleEndian.PutUint16(hdr[34:], 16)
	copy(hdr[36:], "data")
	binary.LittleEndian.PutUint32(hdr[40:], uint32(len(data)))
	p := filepath.Join(t.TempDir(), "closed.wav")
	if err := os.WriteFile(p, append(hdr, data...), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNightModeAnnouncesClosed(t *testing.T) {
	t.Parallel()
	cfg := testConfig(15138)
	cfg.Queues[0].ClosedAction = ClosedAnnounce
	cfg.Queues[0].ClosedMessage = writeWAV(t, time.Second)
	env := start(t, cfg)
	env.srv.SetNightMode(true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	caller := siptest.NewPhone(t, "127.0.0.4", "c", "")
	oc, err := caller.Call(ctx, "sip:5550100@"+env.addr, caller.Offer(sdp.SendRecv, 1))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-oc.DC.Context().Done(): // the appliance hung up after the message
	case <-time.After(5 * time.Second):
		t.Fatal("closed message never ended the call")
	}
	if n := len(caller.RTP.Received()); n < 40 {
		t.Errorf("caller heard %d packets of the 1 s closed message", n)
	}
	e := env.rec.waitTerminal(t, 1, 2*time.Second)[0]
	if e.Kind != CallEnded || e.Outcome != Closed {
		t.Fatalf("terminal %+v", e)
	}
	if !env.srv.Snapshot().Night {
		t.Error("snapshot does not show night mode")
	}
}

func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ringside"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}

func TestTLSListenerAnswersOptions(t *testing.T) {
	t.Parallel()
	cfg := testConfig(15139)
	cert, key := selfSigned(t)
	cfg.Listeners = append(cfg.Listeners, Listener{Network: "tls", Addr: "127.0.0.1:15239", CertFile: cert, KeyFile: key})
	start(t, cfg)
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 3 * time.Second}, "tcp", "127.0.0.1:15239", &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	msg := "OPTIONS sip:127.0.0.1:15239;transport=tls SIP/2.0\r\nVia: SIP/2.0/TLS " + local + ";branch=z9hG4bK-tls1\r\n" +
		"From: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: tls-1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	if _, err := conn.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 2048)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(buf[:n]), "SIP/2.0 200") {
		t.Fatalf("OPTIONS over TLS: %q", buf[:n])
	}
}
