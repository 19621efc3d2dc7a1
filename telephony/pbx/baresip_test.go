package pbx

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringside/ringside/telephony/siptest"
)

// startBaresip runs baresip as agent user with password on ip:port, auto-answering, with audio
// through the aubridge module (no sound card). Its config lives in a temp dir.
// lockedBuffer is an output buffer safe to read while the process writes it.
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

func startBaresip(t *testing.T, env *testEnv, user, pass, listen string) *lockedBuffer {
	t.Helper()
	bin := siptest.NeedTool(t, "baresip")
	dir := t.TempDir()
	conf := fmt.Sprintf(`poll_method epoll
sip_listen %s
audio_player aubridge,ringside
audio_source aubridge,ringside
audio_alert aubridge,ringside
module_path /usr/lib/baresip/modules
module g711.so
module aubridge.so
module account.so
module menu.so
`, listen)
	acc := fmt.Sprintf("<sip:%s@%s>;auth_pass=%s;answermode=auto;regint=60\n", user, env.addr, pass)
	for name, body := range map[string]string{"config": conf, "accounts": acc, "contacts": "", "current_contact": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	cmd := exec.CommandContext(ctx, bin, "-f", dir, "-4")
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		cancel()
	})
	return out
}

func registered(s *Server, agent string) bool {
	for _, a := range s.Snapshot().Agents {
		if a.ID == agent {
			return a.Registered
		}
	}
	return false
}

func TestBaresipAgentAutoAnswers(t *testing.T) {
	t.Parallel()
	env := start(t, testConfig(15140))
	log := startBaresip(t, env, "a1", "pw-a1", "127.0.0.10:15240")
	bad := startBaresip(t, env, "a3", "not-the-password", "127.0.0.11:15241")
	deadline := time.Now().Add(10 * time.Second)
	for !registered(env.srv, "a1") {
		if time.Now().After(deadline) {
			t.Fatalf("baresip never registered:\n%s", tail(log.String(), 2000))
		}
		time.Sleep(50 * time.Millisecond)
	}
	caller := sippCaller(t, env, "127.0.0.4", 17140, mp(17140), 2*time.Second)
	mustPass(t, "caller", caller)
	e := env.rec.waitTerminal(t, 1, 5*time.Second)[0]
	if e.Outcome != Connected || e.Agent != "a1" {
		t.Fatalf("ended %+v%s\nbaresip:\n%s", e, env.rec.dump(), tail(log.String(), 2000))
	}
	if registered(env.srv, "a3") {
		t.Fatal("wrong password registered")
	}
	if !strings.Contains(bad.String(), "403") {
		t.Errorf("baresip with the wrong password did not see 403:\n%s", tail(bad.String(), 1500))
	}
	env.rec.checkOneTerminal(t)
}
