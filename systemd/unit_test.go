package systemd

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringside/ringside/edge/config"
)

// needTool returns the path of a command-line tool; without it the test
// fails when CI=true and is skipped otherwise.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed (CI=true): run .ci/install", name)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}

// unitForVerify writes the unit into a temp dir with ExecStart pointing at a
// real executable (this test binary), since verify checks that the
// ExecStart command exists and is executable; everything else is unchanged.
func unitForVerify(t *testing.T, edit func(string) string) string {
	t.Helper()
	unit, err := Files.ReadFile(UnitFile)
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "ringside")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	text := string(unit)
	if !strings.Contains(text, "\nExecStart="+BinaryPath+" ") {
		t.Fatalf("unit's ExecStart does not start with %s", BinaryPath)
	}
	text = strings.Replace(text, "\nExecStart="+BinaryPath+" ", "\nExecStart="+bin+" ", 1)
	if edit != nil {
		text = edit(text)
	}
	path := filepath.Join(dir, UnitFile)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func verify(t *testing.T, path string) (string, error) {
	tool := needTool(t, "systemd-analyze")
	cmd := exec.Command(tool, "verify", "--man=no", path)
	cmd.Env = append(os.Environ(), "SYSTEMD_LOG_LEVEL=notice", "SYSTEMD_PAGER=", "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func TestUnitVerifies(t *testing.T) {
	out, err := verify(t, unitForVerify(t, nil))
	if err != nil || out != "" {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestVerifyCatchesMistakes makes sure the check above can fail: verify
// must complain about a misspelt directive and a missing executable.
func TestVerifyCatchesMistakes(t *testing.T) {
	for name, edit := range map[string]func(string) string{
		"misspelt key": func(s string) string { return strings.Replace(s, "WatchdogSec=", "WatchdogSecs=", 1) },
		"missing binary": func(s string) string {
			return regexp.MustCompile(`(?m)^ExecStart=\S+`).ReplaceAllString(s, "ExecStart=/nonexistent/ringside")
		},
	} {
		out, err := verify(t, unitForVerify(t, edit))
		if err == nil && out == "" {
			t.Errorf("%s: verify said nothing", name)
		}
	}
}

func TestUnitSecurityExposure(t *testing.T) {
	tool := needTool(t, "systemd-analyze")
	path := unitForVerify(t, nil)
	cmd := exec.Command(tool, "security", "--offline=yes", "--no-pager", path)
	cmd.Env = append(os.Environ(), "SYSTEMD_PAGER=", "LC_ALL=C", "SYSTEMD_COLORS=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	score, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("exposure %.1f (0 = locked down, 10 = unprotected)", score)
	// 2.0 today; the rest is what the appliance needs (network, devices,
	// CAP_NET_BIND_SERVICE). Loosening the hardening shows up here.
	if score > 2.5 {
		t.Fatalf("exposure %.1f > 2.5:\n%s", score, out)
	}
}

// directives reads the unit's [Service] (and other) keys; a key given twice
// keeps every value.
func directives(t *testing.T) map[string][]string {
	t.Helper()
	unit, err := Files.ReadFile(UnitFile)
	if err != nil {
		t.Fatal(err)
	}
	d := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(unit))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("bad line %q", line)
			}
			d[section+"."+k] = append(d[section+"."+k], v)
		}
	}
	return d
}

func TestUnitHasWhatTheIssueAsks(t *testing.T) {
	d := directives(t)
	want := map[string]string{
		"Service.Type":                    "notify",
		"Service.ExecStart":               BinaryPath + " run --config " + ConfigPath,
		"Service.Restart":                 "on-failure",
		"Service.StateDirectory":          "ringside",
		"Service.ConfigurationDirectory":  "ringside",
		"Service.User":                    ServiceUser,
		"Service.AmbientCapabilities":     "CAP_NET_BIND_SERVICE",
		"Service.SupplementaryGroups":     "gpio audio",
		"Service.ProtectSystem":           "strict",
		"Service.PrivateTmp":              "yes",
		"Service.NoNewPrivileges":         "yes",
		"Service.ProtectHome":             "yes",
		"Service.KillSignal":              "SIGTERM",
		"Service.NotifyAccess":            "main",
		"Install.WantedBy":                "multi-user.target",
		"Service.DevicePolicy":            "closed",
		"Service.RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6 AF_NETLINK",
	}
	for k, v := range want {
		if got := d[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	allow := strings.Join(d["Service.DeviceAllow"], ";")
	for _, dev := range []string{"char-gpiochip rw", "char-alsa rw"} {
		if !strings.Contains(allow, dev) {
			t.Errorf("DeviceAllow lacks %q: %q", dev, allow)
		}
	}
	if !strings.Contains(strings.Join(d["Service.SystemCallFilter"], ";"), "@system-service") {
		t.Errorf("SystemCallFilter lacks @system-service: %q", d["Service.SystemCallFilter"])
	}

	// The watchdog must be on, and systemd must wait longer than the daemon
	// drains live calls on SIGTERM (plus room to flush the store).
	wd, err := time.ParseDuration(first(d["Service.WatchdogSec"]))
	if err != nil || wd <= 0 {
		t.Errorf("WatchdogSec %q: %v", d["Service.WatchdogSec"], err)
	}
	stop, err := time.ParseDuration(first(d["Service.TimeoutStopSec"]))
	if err != nil {
		t.Fatalf("TimeoutStopSec %q: %v", d["Service.TimeoutStopSec"], err)
	}
	if margin := 15 * time.Second; stop < config.DefaultDrainTimeout+margin {
		t.Errorf("TimeoutStopSec %v is not longer than drain_timeout's default %v plus %v to flush", stop, config.DefaultDrainTimeout, margin)
	}
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func TestDefaultConfigLoads(t *testing.T) {
	data, err := Files.ReadFile(ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ringside.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(path)
	if err != nil {
		t.Fatalf("the packaged config does not load:\n%v", err)
	}
	if c.StateDir != config.DefaultStateDir {
		t.Errorf("state_dir %q, want %q (systemd StateDirectory=ringside)", c.StateDir, config.DefaultStateDir)
	}
	if c.LEDs.Simulated {
		t.Error("the packaged config simulates the LEDs; it should use GPIO where there is some")
	}
}

func TestUdevRule(t *testing.T) {
	data, err := Files.ReadFile(UdevFile)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^SUBSYSTEM=="gpio", KERNEL=="gpiochip\*", GROUP="gpio", MODE="0660"$`).Match(data) {
		t.Fatalf("udev rule:\n%s", data)
	}
}

// TestCredentialsExample: the unit's comment shows how to keep a SIP password out of
// ringside.yaml with LoadCredential= (issue 15 item 11). The drop-in line it shows verifies with
// the unit, and the packaged config with an agent naming the credential as the comment shows
// loads the password from $CREDENTIALS_DIRECTORY.
func TestCredentialsExample(t *testing.T) {
	unit, err := Files.ReadFile(UnitFile)
	if err != nil {
		t.Fatal(err)
	}
	load := regexp.MustCompile(`(?m)^#\s+(LoadCredential=([^:\s]+):(/\S+))$`).FindSubmatch(unit)
	file := regexp.MustCompile(`(?m)^#\s+password_file: (\$\{CREDENTIALS_DIRECTORY\}/(\S+))$`).FindSubmatch(unit)
	if load == nil || file == nil {
		t.Fatal("the unit shows no LoadCredential= drop-in and password_file: ${CREDENTIALS_DIRECTORY}/... example")
	}
	if string(file[2]) != string(load[2]) {
		t.Fatalf("the example loads credential %q but the config names %q", load[2], file[2])
	}
	path := unitForVerify(t, func(s string) string {
		return strings.Replace(s, "\n[Service]\n", "\n[Service]\n"+string(load[1])+"\n", 1)
	})
	if out, err := verify(t, path); err != nil || out != "" {
		t.Fatalf("the unit with %s: %v\n%s", load[1], err, out)
	}

	creds := t.TempDir()
	const secret = "a-sip-secret-from-systemd"
	if err := os.WriteFile(filepath.Join(creds, string(load[2])), []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CREDENTIALS_DIRECTORY", creds)
	data, err := Files.ReadFile(ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, fmt.Sprintf("agents:\n  - id: alice\n    username: alice\n    password_file: %s\n", file[1])...)
	cfgPath := filepath.Join(t.TempDir(), "ringside.yaml")
	if err := os.WriteFile(cfgPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(cfgPath)
	if err != nil {
		t.Fatalf("the packaged config with a credential: %v", err)
	}
	if c.Agents[0].Password != secret {
		t.Errorf("alice's password %q, want the credential's %q", c.Agents[0].Password, secret)
	}
}
