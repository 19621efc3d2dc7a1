package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ringside/ringside/telephony/siptest"
)

// runScript runs a maintainer script with PATH holding only recording stubs
// for the system tools it calls (adduser, chown, systemctl, ...), so nothing
// on this machine changes. userExists sets what `getent` answers. It
// returns the calls made, one per line.
func runScript(t *testing.T, name string, userExists bool, args ...string) string {
	t.Helper()
	sh := siptest.NeedTool(t, "sh")
	script, err := maintainerScripts.ReadFile("scripts/" + name)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "calls")
	getent := "exit 2"
	if userExists {
		getent = "exit 0"
	}
	stubs := map[string]string{"getent": getent}
	for _, tool := range []string{"adduser", "addgroup", "chown", "chmod", "udevadm", "deb-systemd-helper", "deb-systemd-invoke", "systemctl"} {
		stubs[tool] = "exit 0"
	}
	for tool, body := range stubs {
		stub := "#!" + sh + "\necho \"" + tool + " $*\" >> " + log + "\n" + body + "\n"
		if err := os.WriteFile(filepath.Join(bin, tool), []byte(stub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, script, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sh, append([]string{"-e", path}, args...)...)
	cmd.Env = []string{"PATH=" + bin, "LC_ALL=C"}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	calls, err := os.ReadFile(log)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(calls)
}

func TestMaintainerScripts(t *testing.T) {
	has := func(t *testing.T, calls, want string) {
		t.Helper()
		if !strings.Contains(calls, want) {
			t.Errorf("no call %q in:\n%s", want, calls)
		}
	}
	hasNot := func(t *testing.T, calls, unwanted string) {
		t.Helper()
		if strings.Contains(calls, unwanted) {
			t.Errorf("unexpected call %q in:\n%s", unwanted, calls)
		}
	}

	t.Run("preinst fresh install creates the user and gpio group", func(t *testing.T) {
		calls := runScript(t, "preinst", false, "install")
		has(t, calls, "addgroup --system --quiet gpio")
		has(t, calls, "adduser --system --group --quiet --home /var/lib/ringside --no-create-home --shell /usr/sbin/nologin")
		if !strings.HasSuffix(strings.TrimSpace(calls), " ringside") {
			t.Errorf("adduser not for ringside:\n%s", calls)
		}
	})
	t.Run("preinst upgrade keeps the existing user", func(t *testing.T) {
		calls := runScript(t, "preinst", true, "upgrade", "1.0.0")
		hasNot(t, calls, "adduser ")
		hasNot(t, calls, "addgroup ")
	})
	t.Run("postinst fresh install locks the config and enables the unit", func(t *testing.T) {
		calls := runScript(t, "postinst", true, "configure", "")
		has(t, calls, "chown root:ringside /etc/ringside/ringside.yaml")
		has(t, calls, "chmod 0640 /etc/ringside/ringside.yaml")
		has(t, calls, "deb-systemd-helper enable ringside.service")
	})
	t.Run("postinst upgrade leaves the config's owner alone", func(t *testing.T) {
		calls := runScript(t, "postinst", true, "configure", "1.0.0")
		hasNot(t, calls, "chown")
		hasNot(t, calls, "chmod")
		has(t, calls, "deb-systemd-helper --quiet was-enabled ringside.service")
	})
	t.Run("prerm and postrm purge", func(t *testing.T) {
		runScript(t, "prerm", true, "remove")
		calls := runScript(t, "postrm", true, "purge")
		has(t, calls, "deb-systemd-helper purge ringside.service")
		hasNot(t, calls, "deluser")
	})
}
