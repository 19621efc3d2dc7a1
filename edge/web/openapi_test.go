package web

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"
	"gopkg.in/yaml.v3"

	"github.com/ringside/ringside/edge/call"
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

// loadOpenAPI loads openapi.yaml with kin-openapi and validates it against the OpenAPI 3.0 rules.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile("openapi.yaml")
	if err != nil {
		t.Fatalf("load openapi.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is not valid OpenAPI: %v", err)
	}
	return doc
}

// TestOpenAPIValid: openapi.yaml is a valid OpenAPI 3.0 document, and the API's real answers
// (successes and a refusal) match the schemas it gives.
func TestOpenAPIValid(t *testing.T) {
	doc := loadOpenAPI(t)
	h := newHarness(t, harnessOpts{})
	doc.Servers = openapi3.Servers{{URL: h.ts.URL}} // the document's server is "/": this test's host
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatalf("router: %v", err)
	}
	at := time.Now().Add(-time.Hour)
	id := h.post(testCall{at: at, number: "+12125550101", caller: "+12125550111", outcome: call.Connected, wait: 5 * time.Second, talk: time.Minute, agent: "alice"})
	h.post(testCall{at: at.Add(time.Minute), number: "+12125550100", caller: "+12125550112", outcome: call.Abandoned, wait: 30 * time.Second})
	h.post(testCall{at: at.Add(2 * time.Minute), number: "+12125550100", outcome: call.Busy})
	h.sync()
	c := h.login()
	for _, path := range []string{
		"/api/v1/live",
		"/api/v1/calls?period=last7",
		"/api/v1/calls?caller=2125550111",
		"/api/v1/calls?limit=0",
		"/api/v1/calls/" + id,
		"/api/v1/calls/nosuchcall",
		"/api/v1/metrics?period=last7",
		"/api/v1/metrics/waits?period=last7",
		"/api/v1/abandoned?period=last7",
		"/api/v1/blocked?period=last7",
	} {
		req, err := http.NewRequest(http.MethodGet, c.base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		route, params, err := router.FindRoute(req)
		if err != nil {
			t.Errorf("%s: no route in openapi.yaml: %v", path, err)
			continue
		}
		in := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
			Status:                 resp.StatusCode,
			Header:                 resp.Header,
			Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
		}
		in.SetBodyBytes(body)
		if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
			t.Errorf("GET %s: %d answer does not match openapi.yaml: %v\n%s", path, resp.StatusCode, err, bytes.TrimSpace(body[:min(len(body), 400)]))
		}
	}
}
