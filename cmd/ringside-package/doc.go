// Command ringside-package builds Ringside's static binaries for
// linux/amd64, linux/arm64 and linux/arm (GOARM=7), and a Debian package for
// each with nfpm used as a library (github.com/goreleaser/nfpm/v2).
//
// Each .deb holds /usr/bin/ringside, /lib/systemd/system/ringside.service,
// /lib/udev/rules.d/60-ringside-gpio.rules and /etc/ringside/ringside.yaml,
// the last as a conffile (dpkg never overwrites an edited one on upgrade).
// Its preinst creates the ringside system user and the gpio group; its
// postinst enables and starts the service (deb-systemd-helper, as
// dh_installsystemd does); prerm stops it on removal. Formats: deb(5),
// deb-conffiles(5), Debian Policy chapter 6 (maintainer scripts).
//
// Usage, from the repository root:
//
//	go run ./cmd/ringside-package -version 1.2.3 -out dist [-arch amd64,arm64,armhf] [-commit HASH]
//
// The binaries are built with CGO_ENABLED=0, -trimpath and
// -ldflags "-s -w -X main.version=VERSION -X main.commit=HASH", so
// cmd/ringside must keep package-level `var version` and `var commit` for
// `ringside version` to print. HASH defaults to `git rev-parse HEAD` in -src;
// CI builds with -buildvcs=false, so Go's own VCS stamp cannot be relied on.
package main
