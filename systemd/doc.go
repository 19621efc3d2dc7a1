// Package systemd holds the files that make Ringside a system service, and
// tests them:
//
//   - ringside.service: the unit (Type=notify with READY=1, WATCHDOG=1 and
//     STOPPING=1 from the daemon per sd_notify(3); WatchdogSec;
//     Restart=on-failure; StateDirectory and ConfigurationDirectory; the
//     dedicated ringside user; CAP_NET_BIND_SERVICE for port 5060; access to
//     /dev/gpiochip* and /dev/snd; hardening per systemd.exec(5)).
//   - ringside.yaml: the default /etc/ringside/ringside.yaml (a dpkg conffile).
//   - 60-ringside-gpio.rules: a udev rule giving /dev/gpiochip* to group gpio.
//
// [Files] embeds them for the package builder (cmd/ringside-package). The
// tests run `systemd-analyze verify` and `systemd-analyze security` on the
// unit and load the default config with edge/config.
package systemd
