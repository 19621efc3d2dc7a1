package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"

	"github.com/ringside/ringside/systemd"
)

// Target is one architecture to build for.
type Target struct {
	GOARCH string
	GOARM  string // "7" for armhf, empty otherwise
	Deb    string // Debian's name for the architecture
}

// Targets lists the architectures the appliance ships for.
func Targets() []Target {
	return []Target{
		{GOARCH: "amd64", Deb: "amd64"},
		{GOARCH: "arm64", Deb: "arm64"},
		{GOARCH: "arm", GOARM: "7", Deb: "armhf"},
	}
}

// TargetFor returns the target whose Debian architecture is deb.
func TargetFor(deb string) (Target, bool) {
	for _, t := range Targets() {
		if t.Deb == deb {
			return t, true
		}
	}
	return Target{}, false
}

// BuildTimeout bounds one `go build`; a cold build of the daemon for one
// architecture takes a few minutes on a two-core machine.
const BuildTimeout = 15 * time.Minute

// Builder builds binaries and packages from the repository at Src into Out.
type Builder struct {
	Src     string
	Out     string
	Version string
	Commit  string // the source's git commit, printed by `ringside version`; "" leaves it unknown
}

// version returns the version without a leading "v".
func (b Builder) version() string { return strings.TrimPrefix(b.Version, "v") }

// Build builds the static binary for t and packages it; it returns the
// .deb's path.
func (b Builder) Build(ctx context.Context, t Target) (string, error) {
	bin := filepath.Join(b.Out, "linux-"+t.Deb, "ringside")
	if err := b.Binary(ctx, t, bin); err != nil {
		return "", err
	}
	return b.Deb(t, bin)
}

// Binary runs `go build` for cmd/ringside, static (CGO_ENABLED=0), into dst.
func (b Builder) Binary(ctx context.Context, t Target, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("build %s: %w", t.Deb, err)
	}
	dst, err := filepath.Abs(dst)
	if err != nil {
		return fmt.Errorf("build %s: %w", t.Deb, err)
	}
	ctx, cancel := context.WithTimeout(ctx, BuildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool(), "build", "-trimpath",
		"-ldflags", "-s -w -X main.version="+b.version()+" -X main.commit="+b.Commit,
		"-o", dst, "./cmd/ringside")
	cmd.Dir = b.Src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+t.GOARCH, "GOARM="+t.GOARM)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build %s: go build: %w\n%s", t.Deb, err, stderr.String())
	}
	return nil
}

// goTool returns the go command: the first go on PATH (`go run` and
// `go test` put their own toolchain's bin first on PATH).
func goTool() string { return "go" }

// Deb packages the binary at bin for t into Out and returns the file's path.
func (b Builder) Deb(t Target, bin string) (string, error) {
	stage, err := os.MkdirTemp("", "ringside-package-")
	if err != nil {
		return "", fmt.Errorf("deb %s: %w", t.Deb, err)
	}
	defer os.RemoveAll(stage)
	src := func(fsys fs.FS, name string, mode os.FileMode) (string, error) {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return "", err
		}
		p := filepath.Join(stage, filepath.Base(name))
		return p, os.WriteFile(p, data, mode)
	}
	staged := map[string]string{}
	for _, f := range []struct {
		fsys fs.FS
		name string
		mode os.FileMode
	}{
		{systemd.Files, systemd.UnitFile, 0o644},
		{systemd.Files, systemd.ConfigFile, 0o640},
		{systemd.Files, systemd.UdevFile, 0o644},
		{maintainerScripts, "scripts/preinst", 0o755},
		{maintainerScripts, "scripts/postinst", 0o755},
		{maintainerScripts, "scripts/prerm", 0o755},
		{maintainerScripts, "scripts/postrm", 0o755},
	} {
		p, err := src(f.fsys, f.name, f.mode)
		if err != nil {
			return "", fmt.Errorf("deb %s: stage %s: %w", t.Deb, f.name, err)
		}
		staged[f.name] = p
	}

	info := &nfpm.Info{
		Name:        "ringside",
		Arch:        t.Deb,
		Platform:    "linux",
		Version:     b.version(),
		Section:     "comm",
		Priority:    "optional",
		Maintainer:  "Ringside <ringside@localhost>",
		Description: "Call-tracking appliance\nAnswers an office's phone lines over SIP and analog FXO, queues callers,\nrings agents' SIP phones, records and measures every call, drives status\nLEDs, serves a local web page and syncs summaries over MQTT.",
		Overridables: nfpm.Overridables{
			// adduser for the maintainer scripts; the binary is static.
			Depends: []string{"adduser"},
			Contents: files.Contents{
				{Source: bin, Destination: systemd.BinaryPath, FileInfo: &files.ContentFileInfo{Mode: 0o755}},
				{Source: staged[systemd.UnitFile], Destination: systemd.UnitPath, FileInfo: &files.ContentFileInfo{Mode: 0o644}},
				{Source: staged[systemd.UdevFile], Destination: systemd.UdevPath, FileInfo: &files.ContentFileInfo{Mode: 0o644}},
				// A conffile: dpkg keeps an edited copy on upgrade (deb-conffiles(5)).
				{Source: staged[systemd.ConfigFile], Destination: systemd.ConfigPath, Type: files.TypeConfigNoReplace,
					FileInfo: &files.ContentFileInfo{Mode: 0o640}},
			},
			Scripts: nfpm.Scripts{
				PreInstall:  staged["scripts/preinst"],
				PostInstall: staged["scripts/postinst"],
				PreRemove:   staged["scripts/prerm"],
				PostRemove:  staged["scripts/postrm"],
			},
		},
	}
	info = nfpm.WithDefaults(info)
	if err := nfpm.PrepareForPackager(info, "deb"); err != nil {
		return "", fmt.Errorf("deb %s: %w", t.Deb, err)
	}
	if err := os.MkdirAll(b.Out, 0o755); err != nil {
		return "", fmt.Errorf("deb %s: %w", t.Deb, err)
	}
	path := filepath.Join(b.Out, deb.Default.ConventionalFileName(info))
	f, err := os.Create(path)
	if err != nil {
		return "", fmt.Errorf("deb %s: %w", t.Deb, err)
	}
	if err := deb.Default.Package(info, f); err != nil {
		f.Close()
		return "", fmt.Errorf("deb %s: nfpm: %w", t.Deb, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("deb %s: %w", t.Deb, err)
	}
	return path, nil
}
