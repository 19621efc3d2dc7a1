package web

import (
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestOpenAPICoversRoutes: openapi.yaml documents every API route with its method.
func TestOpenAPICoversRoutes(t *testing.T) {
	b, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                    `yaml:"openapi"`
		Paths   map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi version %q", doc.OpenAPI)
	}
	h := newHarness(t, harnessOpts{})
	for _, r := range h.srv.Routes() {
		if !strings.HasPrefix(r.Pattern, "/api/") && r.Pattern != "/metrics" && r.Pattern != "/healthz" {
			continue
		}
		ops, ok := doc.Paths[r.Pattern]
		if !ok {
			t.Errorf("openapi.yaml lacks %s", r.Pattern)
			continue
		}
		if _, ok := ops[strings.ToLower(r.Method)]; !ok {
			t.Errorf("openapi.yaml lacks %s %s", r.Method, r.Pattern)
		}
	}
}
