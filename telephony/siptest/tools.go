package siptest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// NeedTool returns the path of a binary, failing the test when it is missing under CI=true and
// skipping otherwise.
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed (run .ci/install): %v", name, err)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

var unreplaced = regexp.MustCompile(`%[A-Z_]+%`)

// Sipp is one sipp process.
type Sipp struct {
	cmd  *exec.Cmd
	dir  string
	out  bytes.Buffer
	done chan error
}

// Scenario writes a scenario from a template file, replacing each %KEY% by its value, and
// returns the new file's path in dir.
func Scenario(t testing.TB, tmpl, dir string, vars map[string]string) string {
	t.Helper()
	b, err := os.ReadFile(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for k, v := range vars {
		s = strings.ReplaceAll(s, "%"+k+"%", v)
	}
	if m := unreplaced.FindString(s); m != "" {
		t.Fatalf("unreplaced variable %s in %s", m, tmpl)
	}
	p := filepath.Join(dir, fmt.Sprintf("%d-%s", time.Now().UnixNano(), filepath.Base(tmpl)))
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// StartSipp runs sipp with args (bounded by timeout) in dir.
func StartSipp(t testing.TB, dir string, timeout time.Duration, args ...string) *Sipp {
	t.Helper()
	bin := NeedTool(t, "sipp")
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	s := &Sipp{done: make(chan error, 1), dir: dir}
	s.cmd = exec.CommandContext(ctx, bin, append([]string{"-trace_err"}, args...)...)
	s.cmd.Dir = dir
	s.cmd.Stdout = &s.out
	s.cmd.Stderr = &s.out
	s.cmd.Stdin = nil
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			_ = s.cmd.Process.Kill()
		}
	})
	return s
}

// Wait waits for sipp to exit and returns its error (non-nil when calls failed) and output.
func (s *Sipp) Wait() (error, string) {
	err := <-s.done
	s.done <- err
	out := s.out.String()
	if err != nil {
		logs, _ := filepath.Glob(filepath.Join(s.dir, "*_[em][re][rs]*.log"))
		for _, l := range logs {
			b, _ := os.ReadFile(l)
			out += "\n--- " + filepath.Base(l) + "\n" + string(b)
		}
	}
	return err, out
}

// Stop kills sipp (for UAS instances that never exit by themselves).
func (s *Sipp) Stop() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
	}
}

// Signal sends sig to sipp (SIGUSR1: stop placing calls, exit when the calls in progress end).
func (s *Sipp) Signal(sig os.Signal) {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(sig)
	}
}

// msgSeparator starts each message in the log -trace_msg writes, followed by sipp's local time.
const msgSeparator = "----------------------------------------------- "

// Sent returns when sipp first sent a message whose first line starts with start (a method such
// as "BYE", or a status line such as "SIP/2.0 180"), read from the log sipp writes when run with
// -trace_msg; ok is false while it has sent none. The time is sipp's own clock, to microseconds:
// what the peer saw on the wire, measured outside the code under test.
func (s *Sipp) Sent(start string) (at time.Time, ok bool) {
	if s.cmd.Process == nil {
		return time.Time{}, false
	}
	logs, _ := filepath.Glob(filepath.Join(s.dir, "*_"+strconv.Itoa(s.cmd.Process.Pid)+"_messages.log"))
	if len(logs) == 0 {
		return time.Time{}, false
	}
	b, err := os.ReadFile(logs[0])
	if err != nil {
		return time.Time{}, false
	}
	for _, m := range strings.Split(string(b), msgSeparator)[1:] {
		stamp, rest, _ := strings.Cut(m, "\n")
		how, rest, _ := strings.Cut(rest, "\n")
		if !strings.Contains(how, "message sent") || !strings.HasPrefix(strings.TrimLeft(rest, "\r\n"), start) {
			continue
		}
		t, err := time.ParseInLocation("2006-01-02 15:04:05.000000", strings.TrimSpace(stamp), time.Local)
		if err != nil {
			continue
		}
		return t, true
	}
	return time.Time{}, false
}
