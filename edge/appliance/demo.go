package appliance

import (
	_ "embed"
	"fmt"

	"github.com/ringside/ringside/edge/config"
)

//go:embed demo.yaml
var demoYAML []byte

// DemoConfig returns the embedded demo configuration with its state kept in stateDir.
func DemoConfig(stateDir string) (*config.Config, error) {
	cfg, err := config.Parse(demoYAML, "demo.yaml (embedded)", ".")
	if err != nil {
		return nil, fmt.Errorf("embedded demo config: %w", err)
	}
	cfg.StateDir = stateDir
	return cfg, nil
}
