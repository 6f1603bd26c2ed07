package verify

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
)

func TestLoadSettings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "verify.toml")
	os.WriteFile(path, []byte(`
max-image-size = "300 MiB"
max-wasted = 1000000
allow = ["secrets:/app/tests/fixtures/*"]
dev-packages = ["factory-boy"]
severity = { healthcheck = "error", base-pinned = "off", run-sigterm = "warning" }
health-path = "/healthz"
port = 8080
required-env = ["DATABASE_URL"]
commands = ["nginx -t"]
grace = "10s"
`), 0o644)
	s, err := LoadSettings(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Static.MaxImageBytes != 300<<20 || s.Static.MaxWastedBytes != 1000000 {
		t.Errorf("budgets = %d, %d", s.Static.MaxImageBytes, s.Static.MaxWastedBytes)
	}
	if s.Static.Severity["healthcheck"] != SeverityError || s.Static.Severity["base-pinned"] != SeverityOff {
		t.Errorf("severity = %v", s.Static.Severity)
	}
	if s.Run.HealthPath != "/healthz" || s.Run.Port != 8080 || s.Run.Grace != 10*time.Second ||
		len(s.Run.RequiredEnv) != 1 || len(s.Run.Commands) != 1 {
		t.Errorf("run = %+v", s.Run)
	}
	r := s.Static.Adjust(Result{Check: "run-sigterm", Status: StatusFail, Detail: "killed"})
	if r.Status != StatusWarn {
		t.Errorf("run-sigterm at warning: %+v", r)
	}
	if r := s.Static.Adjust(Result{Check: "run-health", Status: StatusFail}); r.Status != StatusFail {
		t.Errorf("run-health at the default severity: %+v", r)
	}
}

func TestSettingsErrors(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{`max-image-size = "3 parsecs"`, `max-image-size: "3 parsecs": unknown unit "parsecs"`},
		{`max-image-size = -1`, "max-image-size: -1 is not a positive number of bytes"},
		{`severity = { healthchek = "error" }`, `severity: unknown check "healthchek"`},
		{`severity = { healthcheck = "fatal" }`, `severity.healthcheck: "fatal" is not one of error, warning, off`},
		{`allow = ["secrets"]`, `allow: "secrets" is not CHECK:SUBJECT`},
		{`allow = ["secret:/x"]`, `unknown check "secret"`},
		{`budget = 3`, "unknown key budget"},
		{`grace = "soon"`, `grace: "soon" is not a positive duration`},
		{`engine = "lxc"`, `engine: "lxc" is not docker or podman`},
		{`health-path = "health"`, "does not start with /"},
		{`required-env = ["A B"]`, "is not an environment variable name"},
		{`port = "x"`, "line 1"},
	} {
		path := filepath.Join(t.TempDir(), "verify.toml")
		os.WriteFile(path, []byte(tc.file), 0o644)
		_, err := LoadSettings(path)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: err = %v, want it to name %s and say %q", tc.file, err, path, tc.want)
		}
	}
}

func TestParseSettingsTable(t *testing.T) {
	s, err := ParseSettings(map[string]any{"max-wasted": "20MB", "dev-packages": []any{"x"}})
	if err != nil || s.Static.MaxWastedBytes != 20e6 || len(s.Static.DevPackages) != 1 {
		t.Fatalf("ParseSettings = %+v, %v", s, err)
	}
	if _, err := ParseSettings(map[string]any{"nope": true}); err == nil || !strings.Contains(err.Error(), "unknown key nope") {
		t.Fatalf("unknown key: %v", err)
	}
}

func FuzzDecodeSettings(f *testing.F) {
	f.Add([]byte(`max-image-size = "300 MiB"` + "\nseverity = { size = \"off\" }\n"))
	f.Add([]byte(`grace = "1s"`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := decodeSettings(data)
		if err != nil {
			return
		}
		if s.Static.MaxImageBytes < 0 || s.Static.MaxWastedBytes < 0 || s.Run.Grace < 0 {
			t.Fatalf("negative budget or grace accepted: %+v", s)
		}
		for _, a := range s.Static.Allow {
			if ValidateAllow(a) != nil {
				t.Fatalf("invalid allow entry accepted: %q", a)
			}
		}
	})
}

// Every check Static reports is one a config may name.
func TestChecksListsStatic(t *testing.T) {
	results, err := Static(empty.Image, Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if !known(r.Check) {
			t.Errorf("check %s is missing from Checks", r.Check)
		}
	}
}
