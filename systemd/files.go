package systemd

import "embed"

// Files holds ringside.service, ringside.yaml and 60-ringside-gpio.rules,
// for the package builder.
//
//go:embed ringside.service ringside.yaml 60-ringside-gpio.rules
var Files embed.FS

// The names of the embedded files and where a package installs them.
const (
	UnitFile    = "ringside.service"
	UnitPath    = "/lib/systemd/system/ringside.service"
	ConfigFile  = "ringside.yaml"
	ConfigPath  = "/etc/ringside/ringside.yaml"
	UdevFile    = "60-ringside-gpio.rules"
	UdevPath    = "/lib/udev/rules.d/60-ringside-gpio.rules"
	BinaryPath  = "/usr/bin/ringside"
	ServiceUser = "ringside"
)
