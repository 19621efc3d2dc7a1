package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ringside-package:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("ringside-package", flag.ContinueOnError)
	version := fs.String("version", "0.0.0-dev", "package version (semver; a leading v is dropped)")
	out := fs.String("out", "dist", "output directory for binaries and .deb files")
	src := fs.String("src", ".", "repository root (holds go.mod and cmd/ringside)")
	archs := fs.String("arch", "amd64,arm64,armhf", "Debian architectures to build, comma separated")
	commit := fs.String("commit", "", "git commit the binaries are built from (default: git rev-parse HEAD in -src)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	var targets []Target
	for _, a := range strings.Split(*archs, ",") {
		t, ok := TargetFor(strings.TrimSpace(a))
		if !ok {
			return fmt.Errorf("-arch: unknown architecture %q (want amd64, arm64 or armhf)", a)
		}
		targets = append(targets, t)
	}
	if len(targets) == 0 {
		return errors.New("-arch: no architecture")
	}
	if *commit == "" {
		*commit = gitCommit(ctx, *src)
	}
	if *commit != "" && !commitRe.MatchString(*commit) {
		return fmt.Errorf("-commit: want a git commit in hex, got %q", *commit)
	}
	b := Builder{Src: *src, Out: *out, Version: *version, Commit: *commit}
	for _, t := range targets {
		deb, err := b.Build(ctx, t)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, deb)
	}
	return nil
}

var commitRe = regexp.MustCompile(`^[0-9a-f]{7,64}$`)

// gitCommit is the commit checked out in src, or "" when git cannot tell (no git, not a
// repository): the binaries then say "commit unknown".
func gitCommit(ctx context.Context, src string) string {
	out, err := exec.CommandContext(ctx, "git", "-C", src, "rev-parse", "HEAD").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
