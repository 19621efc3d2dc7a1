package main

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ringside/ringside/edge/web"
)

// binary is the ringside command built once for these tests, so signals reach the real process.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ringside-cmd")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "ringside")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("build ringside: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func exampleConfig(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../../testdata/ringside.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// writeConfig writes a config into a temp dir with its state dir beside it.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "ringside.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// versionRe is the README's promise for `ringside version`.
var versionRe = regexp.MustCompile(`^ringside \S+ \(commit (unknown|[0-9a-f]{12}(\+modified)?), go\S+ [a-z0-9]+/[a-z0-9]+\)\n$`)

func TestVersion(t *testing.T) {
	out, err := exec.Command(binary, "version").CombinedOutput()
	if err != nil || !versionRe.Match(out) {
		t.Fatalf("version: %q, %v; want it to match %s", out, err, versionRe)
	}
}

// TestVersionCommit: the commit given with -ldflags -X main.commit (cmd/ringside-package does, and
// its test checks the packaged binaries) is printed even without Go's VCS stamp (CI builds with
// -buildvcs=false; a test binary has none either); with neither, "unknown" is.
func TestVersionCommit(t *testing.T) {
	defer func(v, c string) { version, commit = v, c }(version, commit)
	for _, c := range []struct{ version, commit, want string }{
		{"1.2.3", "0123456789abcdef0123456789abcdef01234567", "ringside 1.2.3 (commit 0123456789ab, "},
		{"1.2.3", "", "(commit unknown, "},
	} {
		version, commit = c.version, c.commit
		out := versionString() + "\n"
		if !versionRe.MatchString(out) || !strings.Contains(out, c.want) {
			t.Errorf("commit %q: version printed %q; want %q in it", c.commit, out, c.want)
		}
	}
}

func TestUnknownCommandFails(t *testing.T) {
	out, err := exec.Command(binary, "frobnicate").CombinedOutput()
	if exitCode(err) != 1 || !strings.Contains(string(out), `unknown command "frobnicate"`) {
		t.Fatalf("exit %d, %q", exitCode(err), out)
	}
}

func TestCheckConfigGood(t *testing.T) {
	out, err := exec.Command(binary, "check-config", "../../testdata/ringside.example.yaml").CombinedOutput()
	if err != nil || !strings.Contains(string(out), ": ok (") {
		t.Fatalf("check-config on the example: %q, %v", out, err)
	}
}

// brokenConfig breaks the example in four places on known lines.
func brokenConfig(t *testing.T) (string, []string) {
	lines := strings.Split(exampleConfig(t), "\n")
	var want []string
	for i, l := range lines {
		switch {
		case strings.Contains(l, "time_zone: America/New_York"):
			lines[i] = "  time_zone: Mars/Olympus_Mons"
			want = append(want, lineRef(i, "site.time_zone: unknown time zone"))
		case strings.Contains(l, "strategy: ring_all"):
			lines[i] = "    strategy: ring_some"
			want = append(want, lineRef(i, "queues[0].strategy"))
		case strings.Contains(l, "max_wait: 3m"):
			lines[i] = "    max_wait: soon"
			want = append(want, lineRef(i, "queues[0].max_wait: want a duration"))
		case strings.Contains(l, "wrap_up: 5s"):
			lines[i] = "    wrap_upp: 5s"
			want = append(want, lineRef(i, `queues[0].wrap_upp: unknown key "wrap_upp"`))
		}
	}
	if len(want) != 4 {
		t.Fatalf("example config changed: found %d of 4 places to break", len(want))
	}
	return writeConfig(t, strings.Join(lines, "\n")), want
}

func lineRef(i int, msg string) string { return ":" + strconv.Itoa(i+1) + ": " + msg }

func TestCheckConfigNamesEveryProblem(t *testing.T) {
	path, want := brokenConfig(t)
	out, err := exec.Command(binary, "check-config", path).CombinedOutput()
	if exitCode(err) != 1 {
		t.Fatalf("exit %d, want 1; output %s", exitCode(err), out)
	}
	for _, w := range want {
		if !strings.Contains(string(out), w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

func TestRunRefusesBrokenConfig(t *testing.T) {
	path, _ := brokenConfig(t)
	cmd := exec.Command(binary, "run", "--config", path)
	out, err := runWithTimeout(cmd, 20*time.Second)
	if exitCode(err) != 1 || !strings.Contains(string(out), "refusing to start") {
		t.Fatalf("exit %d, want 1; output %s", exitCode(err), out)
	}
	if !strings.Contains(string(out), "site.time_zone") || !strings.Contains(string(out), "queues[0].max_wait") {
		t.Errorf("the log does not name the problems:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(path), "state")); err == nil {
		t.Error("a refused config still created the state directory")
	}
}

func runWithTimeout(cmd *exec.Cmd, d time.Duration) ([]byte, error) {
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return buf.Bytes(), err
	case <-time.After(d):
		cmd.Process.Kill()
		<-done
		return buf.Bytes(), errors.New("timed out")
	}
}

// TestSystemdNotifyAndDrain starts the daemon as systemd would (NOTIFY_SOCKET, WATCHDOG_USEC) and
// checks READY=1, then WATCHDOG=1 pings, then STOPPING=1 after SIGTERM and exit status 0.
func TestSystemdNotifyAndDrain(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	msgs := make(chan string, 64)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(msgs)
				return
			}
			for _, m := range strings.Split(strings.TrimSpace(string(buf[:n])), "\n") {
				msgs <- m
			}
		}
	}()

	cfg := strings.Replace(exampleConfig(t), "state_dir: ./state", "state_dir: "+filepath.Join(dir, "state"), 1)
	cfg = strings.NewReplacer("127.0.0.1:5060", "127.0.0.1:25060", "127.0.0.1:8080", "127.0.0.1:28080").Replace(cfg)
	path := writeConfig(t, cfg)
	cmd := exec.Command(binary, "run", "--config", path)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock, "WATCHDOG_USEC=300000")
	logs := &syncBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	expect := func(want string) {
		t.Helper()
		deadline := time.After(15 * time.Second)
		for {
			select {
			case m, ok := <-msgs:
				if !ok {
					t.Fatalf("notify socket closed before %s", want)
				}
				if m == want {
					return
				}
				if want == "READY=1" && m != "READY=1" {
					t.Fatalf("first message %q, want READY=1", m)
				}
			case <-deadline:
				t.Fatalf("no %s within 15 s; log:\n%s", want, logs.String())
			}
		}
	}
	expect("READY=1")
	expect("WATCHDOG=1")
	expect("WATCHDOG=1")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	expect("STOPPING=1")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v; log:\n%s", err, logs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no exit within 20 s of SIGTERM")
	}
	if !strings.Contains(logs.String(), "draining live calls") {
		t.Errorf("SIGTERM did not drain:\n%s", logs.String())
	}
}

// TestDemoStarts runs the demo on loopback and stops it with SIGINT.
func TestDemoStarts(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(binary, "demo", "--dir", filepath.Join(dir, "demo"), "--sip", "127.0.0.1:25170", "--web", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stdout)
	var seen bool
	var code string
	for sc.Scan() {
		line := sc.Text()
		seen = seen || strings.Contains(line, "web page:  http://127.0.0.1:")
		if c, ok := strings.CutPrefix(line, "  setup code: "); ok {
			code, _, _ = strings.Cut(c, " ")
		}
		if strings.Contains(line, "stop:") {
			break
		}
	}
	if !seen {
		t.Fatalf("demo printed no pointers; log:\n%s", logs.String())
	}
	// A first run prints the one-time setup code (issue 15 item 10), the one in the state folder.
	if b, err := os.ReadFile(filepath.Join(dir, "demo", web.SetupCodeFile)); err != nil || code == "" || strings.TrimSpace(string(b)) != code {
		t.Errorf("demo banner's setup code %q, file: %q %v; want the same code", code, b, err)
	}
	go func() {
		for sc.Scan() {
		}
	}()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(logs.String(), "ready") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo exit: %v; log:\n%s", err, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("demo did not stop on SIGINT")
	}
	if _, err := os.Stat(filepath.Join(dir, "demo", "ringside.db")); err != nil {
		t.Fatalf("demo database: %v", err)
	}
}
