package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// valueError reports a bad scalar so that yaml.v3 collects it with the others instead of stopping.
func valueError(n *yaml.Node, format string, args ...any) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %s", n.Line, fmt.Sprintf(format, args...))}}
}

// Duration is a time.Duration written as Go writes it ("20s", "5m", "1h30m").
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalYAML accepts a duration string; a bare number is refused because its unit would be a guess.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return valueError(n, "want a duration such as 20s or 5m")
	}
	v, err := time.ParseDuration(strings.TrimSpace(n.Value))
	if err != nil {
		return valueError(n, "want a duration such as 20s or 5m, got %q", n.Value)
	}
	if v < 0 {
		return valueError(n, "duration %q is negative", n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration back in Go's notation.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// Money is an amount in cents, written in the config as a decimal ("12.50"); integer cents keep the
// cost arithmetic exact.
type Money int64

// ParseMoney reads "12", "12.5" or "12.50" as cents. More than two decimals is refused: a rate of
// 0.015 per minute must be written per 100 minutes instead.
func ParseMoney(s string) (Money, error) {
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	if neg {
		return 0, fmt.Errorf("amount %q is negative", s)
	}
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(frac) > 2 {
		return 0, fmt.Errorf("want an amount such as 12.50, got %q", s)
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > 1e12 {
		return 0, fmt.Errorf("want an amount such as 12.50, got %q", s)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("want an amount such as 12.50, got %q", s)
	}
	return Money(w*100 + f), nil
}

// UnmarshalYAML reads a decimal amount.
func (m *Money) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return valueError(n, "want an amount such as 12.50")
	}
	v, err := ParseMoney(n.Value)
	if err != nil {
		return valueError(n, "%v", err)
	}
	*m = v
	return nil
}

// MarshalYAML writes the amount back as the decimal it was read from.
func (m Money) MarshalYAML() (any, error) { return m.String(), nil }

// String writes cents as a decimal amount.
func (m Money) String() string { return fmt.Sprintf("%d.%02d", int64(m)/100, int64(m)%100) }
