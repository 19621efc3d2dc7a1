package uplinktest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// RequireTool returns the path of a tool, failing the test when it is missing and CI=true, skipping
// it otherwise.
func RequireTool(t testing.TB, name string, candidates ...string) string {
	t.Helper()
	for _, c := range candidates {
		if fi, err := os.Stat(c); err == nil && !fi.IsDir() {
			return c
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed (CI=true): run .ci/install", name)
	}
	t.Skipf("%s is not installed; skipping (set CI=true to make this a failure)", name)
	return ""
}

// BrokerTLS makes the listener TLS-only.
type BrokerTLS struct {
	CAFile, CertFile, KeyFile string
	RequireClientCert         bool
}

// BrokerOptions configure the broker's single listener.
type BrokerOptions struct {
	PasswordFile string     // set: anonymous clients are refused
	TLS          *BrokerTLS // set: TLS listener
}

// Mosquitto is one mosquitto process on 127.0.0.1:Port with its config, persistence and log in Dir.
type Mosquitto struct {
	t    testing.TB
	bin  string
	Dir  string
	Port int
	opts BrokerOptions
	cmd  *exec.Cmd
	done chan struct{}
}

// StartMosquitto writes a config to a temporary directory and starts the broker; it is stopped at
// the end of the test.
func StartMosquitto(t testing.TB, opts BrokerOptions) *Mosquitto {
	t.Helper()
	m := &Mosquitto{t: t, bin: RequireTool(t, "mosquitto", "/usr/sbin/mosquitto"), Dir: t.TempDir(), Port: freePort(t), opts: opts}
	m.Start()
	t.Cleanup(m.Stop)
	return m
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// URL is the broker's address for paho: tcp://... or ssl://...
func (m *Mosquitto) URL() string {
	scheme := "tcp"
	if m.opts.TLS != nil {
		scheme = "ssl"
	}
	return fmt.Sprintf("%s://127.0.0.1:%d", scheme, m.Port)
}

// SetOptions changes the listener for the next Start (to "fix" a broker in a test).
func (m *Mosquitto) SetOptions(o BrokerOptions) { m.opts = o }

func (m *Mosquitto) config() string {
	var b strings.Builder
	fmt.Fprintf(&b, "user root\n")
	fmt.Fprintf(&b, "persistence true\npersistence_location %s/\nautosave_interval 1\n", m.Dir)
	fmt.Fprintf(&b, "log_dest file %s\nlog_type error\nlog_type warning\nlog_type notice\nlog_type information\nconnection_messages true\n", filepath.Join(m.Dir, "mosquitto.log"))
	// Unlimited queue for offline persistent sessions: the tests' subscriber must miss nothing.
	fmt.Fprintf(&b, "max_queued_messages 0\nmax_inflight_messages 0\nset_tcp_nodelay true\n")
	fmt.Fprintf(&b, "listener %d 127.0.0.1\n", m.Port)
	if m.opts.PasswordFile != "" {
		fmt.Fprintf(&b, "allow_anonymous false\npassword_file %s\n", m.opts.PasswordFile)
	} else {
		fmt.Fprintf(&b, "allow_anonymous true\n")
	}
	if tl := m.opts.TLS; tl != nil {
		fmt.Fprintf(&b, "cafile %s\ncertfile %s\nkeyfile %s\nrequire_certificate %t\n", tl.CAFile, tl.CertFile, tl.KeyFile, tl.RequireClientCert)
	}
	return b.String()
}

// Start runs the broker and waits until it accepts connections.
func (m *Mosquitto) Start() {
	m.t.Helper()
	if m.cmd != nil {
		m.t.Fatalf("mosquitto already running")
	}
	conf := filepath.Join(m.Dir, "mosquitto.conf")
	if err := os.WriteFile(conf, []byte(m.config()), 0o600); err != nil {
		m.t.Fatalf("write mosquitto config: %v", err)
	}
	cmd := exec.Command(m.bin, "-c", conf)
	cmd.Stderr, cmd.Stdout = nil, nil
	if err := cmd.Start(); err != nil {
		m.t.Fatalf("start mosquitto: %v", err)
	}
	m.cmd, m.done = cmd, make(chan struct{})
	go func(done chan struct{}) { // ends when the broker exits; Stop waits for it
		_ = cmd.Wait()
		close(done)
	}(m.done)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-m.done:
			m.cmd = nil
			m.t.Fatalf("mosquitto exited at start; log:\n%s", m.Log())
		default:
		}
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", m.Port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	m.t.Fatalf("mosquitto did not listen on %d within 10 s; log:\n%s", m.Port, m.Log())
}

// Stop ends the broker with SIGTERM, so it saves its persistence file, and waits for it (SIGKILL
// after 10 s).
func (m *Mosquitto) Stop() {
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(10 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.done
	}
	m.cmd = nil
}

// Restart stops and starts the broker on the same port, with the current options.
func (m *Mosquitto) Restart() {
	m.t.Helper()
	m.Stop()
	m.Start()
}

// Log returns the broker's log so far.
func (m *Mosquitto) Log() string {
	b, _ := os.ReadFile(filepath.Join(m.Dir, "mosquitto.log"))
	return string(b)
}

// PasswordFile makes a mosquitto password file with the given users (user, password, user,
// password...), using mosquitto_passwd.
func PasswordFile(t testing.TB, path string, userPassword ...string) string {
	t.Helper()
	bin := RequireTool(t, "mosquitto_passwd", "/usr/bin/mosquitto_passwd")
	_ = os.Remove(path)
	for i := 0; i+1 < len(userPassword); i += 2 {
		args := []string{"-b", path, userPassword[i], userPassword[i+1]}
		if i == 0 {
			args = append([]string{"-c"}, args...)
		}
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_passwd: %v: %s", err, out)
		}
	}
	return path
}
