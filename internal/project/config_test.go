package project

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSet(t *testing.T) {
	c := Config{User: DefaultUser}
	steps := []struct{ key, value string }{
		{"base", "deb:bookworm"},
		{"platforms", "linux/amd64, linux/arm64"},
		{"packages", "libpq5,curl"},
		{"command", `["gunicorn", "app:app", "--bind", "0.0.0.0:80 80"]`},
		{"port", "8080"},
		{"healthcheck", "path=/health,interval=30s,retries=3"},
		{"healthcheck.timeout", "3s"},
		{"env", "A=1"},
		{"env", "B=x=y,z"},
		{"required-env", "DATABASE_URL"},
		{"user", "name=web,uid=2000"},
		{"user.gid", "3000"},
		{"groups", "prod,extra"},
		{"exclude", "tests/,docs/"},
		{"labels", "org.opencontainers.image.source=https://example.com/x"},
	}
	for _, s := range steps {
		if err := c.Set(s.key, s.value); err != nil {
			t.Fatalf("Set(%q, %q): %v", s.key, s.value, err)
		}
	}
	want := Config{
		Base:        "deb:bookworm",
		Platforms:   []string{"linux/amd64", "linux/arm64"},
		Packages:    []string{"libpq5", "curl"},
		Command:     []string{"gunicorn", "app:app", "--bind", "0.0.0.0:80 80"},
		Port:        8080,
		Healthcheck: &Healthcheck{Path: "/health", Interval: 30 * time.Second, Timeout: 3 * time.Second, Retries: 3},
		Env:         map[string]string{"A": "1", "B": "x=y,z"},
		RequiredEnv: []string{"DATABASE_URL"},
		User:        User{Name: "web", UID: 2000, GID: 3000},
		Groups:      []string{"prod", "extra"},
		Exclude:     []string{"tests/", "docs/"},
		Labels:      map[string]string{"org.opencontainers.image.source": "https://example.com/x"},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Config =\n%+v\nwant\n%+v", c, want)
	}

	// Other forms.
	if err := c.Set("command", "uvicorn  app:app --port 80"); err != nil {
		t.Fatal(err)
	}
	if want := []string{"uvicorn", "app:app", "--port", "80"}; !reflect.DeepEqual(c.Command, want) {
		t.Errorf("Command = %q, want %q", c.Command, want)
	}
	if err := c.Set("healthcheck", "/ready"); err != nil {
		t.Fatal(err)
	}
	if *c.Healthcheck != (Healthcheck{Path: "/ready"}) {
		t.Errorf("Healthcheck = %+v", c.Healthcheck)
	}
	if err := c.Set("healthcheck", ""); err != nil || c.Healthcheck != nil {
		t.Errorf("Set(healthcheck, \"\") = %v, Healthcheck %+v", err, c.Healthcheck)
	}
	if err := c.Set("groups", ""); err != nil || c.Groups == nil || len(c.Groups) != 0 {
		t.Errorf("Set(groups, \"\") = %v, Groups %q; want an empty, non-nil list", err, c.Groups)
	}
	if err := c.Set("user", "name=svc"); err != nil || c.User != (User{Name: "svc", UID: 1001, GID: 1001}) {
		t.Errorf("Set(user, name=svc) = %v, User %+v", err, c.User)
	}
}

func TestSetErrors(t *testing.T) {
	for _, tc := range []struct {
		key, value string
		want       []string
	}{
		{"nope", "1", []string{`unknown key "nope"`, "base, command, debian-mirror, debian-security-mirror, env, exclude, find-links"}},
		{"port.x", "1", []string{"port has no fields"}},
		{"healthcheck.foo", "1", []string{`unknown key "healthcheck.foo"`, "interval, path, port, retries, start-period, timeout"}},
		{"port", "abc", []string{"port: expected an integer"}},
		{"port", "0", []string{"port: port 0 is not in 1-65535"}},
		{"platforms", "linux/amd64,windows", []string{"platforms: item 1"}},
		{"packages", "libpq5 curl", []string{"packages: item 0"}},
		{"command", "", []string{"command: must not be empty"}},
		{"command", `["a", 1]`, []string{"command: not a JSON array of strings"}},
		{"env", "NOEQUALS", []string{"env: expected KEY=VALUE"}},
		{"env", "1A=x", []string{"env: invalid environment variable name"}},
		{"labels", "=x", []string{"labels: empty label key"}},
		{"healthcheck", "interval=3s", []string{"healthcheck: path is required"}},
		{"healthcheck", "path=/x,every=3s", []string{`unknown field "every"`}},
		{"healthcheck", "path", []string{`"path" is not KEY=VALUE`}},
		{"healthcheck.interval", "-1s", []string{"healthcheck.interval", "negative"}},
		{"healthcheck.retries", "-1", []string{"negative"}},
		{"healthcheck.path", "health", []string{"starting with /"}},
		{"user.uid", "0", []string{"user.uid", "root"}},
		{"user", "name=Bad Name", []string{"user: name", "invalid user name"}},
		{"exclude", "a,[", []string{"exclude: item 1", "invalid pattern"}},
		{"required-env", "A,B-C", []string{"required-env: item 1"}},
		{"groups", "-dev", []string{"groups: item 0"}},
		{"base", "", []string{"base: invalid image reference"}},
		{"max-unpacked-size", "lots", []string{"max-unpacked-size", `positive size such as "8 GiB"`}},
		{"max-unpacked-size", "0", []string{"max-unpacked-size", "positive size"}},
		{"max-compression-ratio", "0.5", []string{"max-compression-ratio", "not a finite number >= 1"}},
		{"max-compression-ratio", "NaN", []string{"max-compression-ratio", "not a finite number >= 1"}},
	} {
		c := Config{User: DefaultUser}
		err := c.Set(tc.key, tc.value)
		if err == nil {
			t.Errorf("Set(%q, %q) succeeded", tc.key, tc.value)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Set(%q, %q) = %q, want it to contain %q", tc.key, tc.value, err, w)
			}
		}
	}
}

// Every key Keys lists can be set, and every top-level key of [tool.kiln]
// is listed.
func TestKeys(t *testing.T) {
	values := map[string]string{
		"base": "deb:bookworm", "platforms": "linux/amd64", "packages": "curl", "command": "run",
		"lock": "requirements.txt", "find-links": "wheels",
		"debian-mirror": "http://127.0.0.1:1/debian", "debian-security-mirror": "http://127.0.0.1:1/debian-security",
		"port": "1", "healthcheck": "/h", "healthcheck.path": "/h", "healthcheck.port": "2",
		"healthcheck.interval": "1s", "healthcheck.timeout": "1s", "healthcheck.start-period": "1s",
		"healthcheck.retries": "1", "env": "A=b", "required-env": "A", "user": "uid=5",
		"user.name": "x", "user.uid": "5", "user.gid": "5", "groups": "g", "exclude": "x",
		"labels": "a=b", "max-unpacked-size": "1 GiB", "max-compression-ratio": "500",
	}
	seen := map[string]bool{}
	for _, k := range Keys() {
		seen[k.Name] = true
		if k.Form == "" {
			t.Errorf("key %s has no documented form", k.Name)
		}
		v, ok := values[k.Name]
		if !ok {
			t.Errorf("key %s has no test value", k.Name)
			continue
		}
		c := Config{User: DefaultUser}
		if err := c.Set(k.Name, v); err != nil {
			t.Errorf("Set(%q, %q): %v", k.Name, v, err)
		}
	}
	for name := range values {
		if !seen[name] {
			t.Errorf("Keys() does not list %s", name)
		}
	}
}

func TestSetLeavesConfigOnError(t *testing.T) {
	c := Config{User: User{Name: "web", UID: 5, GID: 6}, Healthcheck: &Healthcheck{Path: "/h"}}
	before := c
	for _, kv := range [][2]string{{"user", "name=x,uid=0"}, {"healthcheck", "interval=1s"}, {"command", " "}} {
		if err := c.Set(kv[0], kv[1]); err == nil {
			t.Fatalf("Set(%q, %q) succeeded", kv[0], kv[1])
		}
	}
	if !reflect.DeepEqual(c, before) || *c.Healthcheck != (Healthcheck{Path: "/h"}) {
		t.Errorf("config changed by failed Sets: %+v", c)
	}
}

func TestValidate(t *testing.T) {
	c := Config{User: DefaultUser}
	if err := c.Validate(); err != nil {
		t.Fatalf("empty config: %v", err)
	}
	// A healthcheck field set alone from a flag leaves the healthcheck
	// without a path.
	if err := c.Set("healthcheck.interval", "5s"); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "healthcheck: path is required") {
		t.Fatalf("Validate = %v", err)
	}
	if err := c.Set("healthcheck.path", "/h"); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestWheelLimitKeys(t *testing.T) {
	for _, tc := range []struct {
		t     map[string]any
		size  int64
		ratio float64
		err   string
	}{
		{t: map[string]any{"max-unpacked-size": "8 GiB", "max-compression-ratio": int64(300)}, size: 8 << 30, ratio: 300},
		{t: map[string]any{"max-unpacked-size": int64(1000), "max-compression-ratio": 2.5}, size: 1000, ratio: 2.5},
		{t: map[string]any{"max-unpacked-size": "512m"}, size: 512 << 20},
		{t: map[string]any{"max-unpacked-size": int64(-1)}, err: "max-unpacked-size: -1 is not a positive number of bytes"},
		{t: map[string]any{"max-unpacked-size": true}, err: "max-unpacked-size: expected a size"},
		{t: map[string]any{"max-compression-ratio": "200"}, err: "max-compression-ratio: expected a number"},
		{t: map[string]any{"max-compression-ratio": int64(0)}, err: "max-compression-ratio: ratio 0 is not a finite number >= 1"},
	} {
		c, err := parseConfig(tc.t)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%v: error %v, want %q", tc.t, err, tc.err)
			}
			continue
		}
		if err != nil || c.MaxUnpackedSize != tc.size || c.MaxCompressionRatio != tc.ratio {
			t.Errorf("%v: %v, %d, %v", tc.t, err, c.MaxUnpackedSize, c.MaxCompressionRatio)
		}
	}
}
