package main

import (
	"bytes"
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ringside/ringside/systemd"
	"github.com/ringside/ringside/telephony/siptest"
)

func command(t *testing.T, timeout time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// The packages are built once (the build is the slow part) and shared by
// the checks below.
type built struct {
	dir     string
	version string
	commit  string            // given with -commit: stamped into the binaries (-ldflags -X)
	debs    map[string]string // Debian arch -> .deb path
}

func buildAll(t *testing.T) built {
	t.Helper()
	siptest.NeedTool(t, "dpkg-deb")
	b := built{dir: t.TempDir(), version: "1.2.3-rc.1", commit: "0123456789abcdef0123456789abcdef01234567", debs: map[string]string{}}
	var stdout bytes.Buffer
	// Cross-building the daemon for three architectures on a cold build
	// cache takes several minutes (16 min on a loaded 2-core machine; 40 s
	// warm): give it what is left of the test's own deadline, so a too
	// short -timeout fails here with a message instead of a panic.
	ctx, cancel := context.WithTimeout(context.Background(), 3*BuildTimeout)
	defer cancel()
	if dl, ok := t.Deadline(); ok {
		var c2 context.CancelFunc
		ctx, c2 = context.WithDeadline(ctx, dl.Add(-30*time.Second))
		defer c2()
	}
	// Through run, as .ci/build-packages calls it.
	err := run(ctx, []string{"-src", "../..", "-out", b.dir, "-version", "v" + b.version, "-commit", b.commit, "-arch", "amd64,arm64,armhf"}, &stdout)
	if err != nil {
		if ctx.Err() != nil {
			t.Fatalf("building the packages did not finish before the test deadline (cold build cache? run .ci/build-packages first or pass -timeout 30m): %v", err)
		}
		t.Fatal(err)
	}
	for _, line := range strings.Fields(stdout.String()) {
		m := regexp.MustCompile(`_(amd64|arm64|armhf)\.deb$`).FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("unexpected output line %q", line)
		}
		b.debs[m[1]] = line
	}
	if len(b.debs) != 3 {
		t.Fatalf("built %v, want amd64, arm64 and armhf", b.debs)
	}
	return b
}

func TestPackages(t *testing.T) {
	b := buildAll(t)
	unit, _ := systemd.Files.ReadFile(systemd.UnitFile)
	conf, _ := systemd.Files.ReadFile(systemd.ConfigFile)
	machines := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "armhf": elf.EM_ARM}

	for arch, deb := range b.debs {
		t.Run(arch, func(t *testing.T) {
			if got := filepath.Base(deb); got != "ringside_1.2.3~rc.1_"+arch+".deb" {
				t.Errorf("file name %q", got)
			}
			info, err := command(t, time.Minute, "dpkg-deb", "--info", deb)
			if err != nil {
				t.Fatalf("dpkg-deb --info: %v\n%s", err, info)
			}
			for _, want := range []string{
				"Package: ringside", "Version: 1.2.3~rc.1", "Architecture: " + arch,
				"Depends: adduser", "Maintainer: ", "Description: Call-tracking appliance",
				" conffiles", " preinst", " postinst", " prerm", " postrm", " md5sums",
			} {
				if !strings.Contains(info, want) {
					t.Errorf("dpkg-deb --info lacks %q:\n%s", want, info)
				}
			}
			contents, err := command(t, time.Minute, "dpkg-deb", "--contents", deb)
			if err != nil {
				t.Fatalf("dpkg-deb --contents: %v\n%s", err, contents)
			}
			for _, want := range []*regexp.Regexp{
				regexp.MustCompile(`(?m)^-rwxr-xr-x root/root .* \./usr/bin/ringside$`),
				regexp.MustCompile(`(?m)^-rw-r--r-- root/root .* \./lib/systemd/system/ringside\.service$`),
				regexp.MustCompile(`(?m)^-rw-r--r-- root/root .* \./lib/udev/rules\.d/60-ringside-gpio\.rules$`),
				regexp.MustCompile(`(?m)^-rw-r----- root/root .* \./etc/ringside/ringside\.yaml$`),
			} {
				if !want.MatchString(contents) {
					t.Errorf("dpkg-deb --contents lacks %s:\n%s", want, contents)
				}
			}

			// The control archive: conffiles and the scripts as written.
			ctrl := t.TempDir()
			if out, err := command(t, time.Minute, "dpkg-deb", "--control", deb, ctrl); err != nil {
				t.Fatalf("dpkg-deb --control: %v\n%s", err, out)
			}
			cf, err := os.ReadFile(filepath.Join(ctrl, "conffiles"))
			if err != nil || strings.TrimSpace(string(cf)) != systemd.ConfigPath {
				t.Errorf("conffiles %q (%v), want just %s", cf, err, systemd.ConfigPath)
			}
			for _, s := range []string{"preinst", "postinst", "prerm", "postrm"} {
				got, err := os.ReadFile(filepath.Join(ctrl, s))
				if err != nil {
					t.Fatal(err)
				}
				want, _ := maintainerScripts.ReadFile("scripts/" + s)
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs from scripts/%s", s, s)
				}
				if st, err := os.Stat(filepath.Join(ctrl, s)); err != nil || st.Mode().Perm()&0o111 == 0 {
					t.Errorf("%s is not executable", s)
				}
			}

			// The data archive: the files as written, the binary for the
			// right machine and static.
			root := t.TempDir()
			if out, err := command(t, time.Minute, "dpkg-deb", "-x", deb, root); err != nil {
				t.Fatalf("dpkg-deb -x: %v\n%s", err, out)
			}
			for path, want := range map[string][]byte{systemd.UnitPath: unit, systemd.ConfigPath: conf} {
				got, err := os.ReadFile(filepath.Join(root, path))
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("%s differs from the systemd package's copy (%v)", path, err)
				}
			}
			bin := filepath.Join(root, systemd.BinaryPath)
			f, err := elf.Open(bin)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Machine != machines[arch] {
				t.Errorf("binary is for %v, want %v", f.Machine, machines[arch])
			}
			for _, p := range f.Progs {
				if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
					t.Errorf("binary is dynamically linked (%v)", p.Type)
				}
			}
			if arch == "armhf" {
				// GOARM=7 is recorded in the build info.
				out, err := command(t, time.Minute, goTool(), "version", "-m", bin)
				if err != nil || !strings.Contains(out, "GOARM=7") || !strings.Contains(out, "CGO_ENABLED=0") {
					t.Errorf("go version -m: %v\n%s", err, out)
				}
			}
		})
	}

	// `ringside version` on each architecture: natively for amd64, under
	// Debian's qemu-user-static for the ARM ones.
	runners := map[string][]string{"amd64": nil, "arm64": {"qemu-aarch64-static"}, "armhf": {"qemu-arm-static"}}
	for arch, runner := range runners {
		t.Run(arch+"/version", func(t *testing.T) {
			if runtimeArch() != "amd64" && arch == "amd64" {
				t.Skip("not an amd64 host")
			}
			root := t.TempDir()
			if out, err := command(t, time.Minute, "dpkg-deb", "-x", b.debs[arch], root); err != nil {
				t.Fatalf("dpkg-deb -x: %v\n%s", err, out)
			}
			argv := append(runner, filepath.Join(root, systemd.BinaryPath), "version")
			if len(runner) > 0 {
				argv[0] = siptest.NeedTool(t, runner[0])
			}
			out, err := command(t, 2*time.Minute, argv[0], argv[1:]...)
			if err != nil {
				t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
			}
			if !strings.HasPrefix(out, "ringside "+b.version+" (commit "+b.commit[:12]+", ") {
				t.Fatalf("`ringside version` printed %q, want the package version %s and commit %s", out, b.version, b.commit[:12])
			}
		})
	}
}
