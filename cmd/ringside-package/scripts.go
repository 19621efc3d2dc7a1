package main

import "embed"

// maintainerScripts holds the Debian maintainer scripts.
//
//go:embed scripts/preinst scripts/postinst scripts/prerm scripts/postrm
var maintainerScripts embed.FS
