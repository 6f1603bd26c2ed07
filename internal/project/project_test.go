package project

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kiln-build/kiln/internal/pyname"
)

func load(t *testing.T, dir string) *Project {
	t.Helper()
	p, err := Load(dir)
	if err != nil {
		t.Fatalf("Load(%s): %v", dir, err)
	}
	return p
}

// writeProject creates a project in a temporary directory from name ->
// content pairs.
func writeProject(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadFlat(t *testing.T) {
	p := load(t, "testdata/flat")
	if !filepath.IsAbs(p.Dir) {
		t.Errorf("Dir %q is not absolute", p.Dir)
	}
	if p.Name != "Flat.App" || p.NormalizedName != "flat-app" || p.Version != "1.2.0" || p.RequiresPython != ">=3.11" {
		t.Errorf("metadata = %q %q %q %q", p.Name, p.NormalizedName, p.Version, p.RequiresPython)
	}
	if want := []string{"flask>=3", "gunicorn"}; !reflect.DeepEqual(p.Dependencies, want) {
		t.Errorf("Dependencies = %q, want %q", p.Dependencies, want)
	}
	if want := []string{"dev", "docs"}; !reflect.DeepEqual(p.DefaultGroups, want) || p.AllDefaultGroups {
		t.Errorf("DefaultGroups = %q (all %v), want %q", p.DefaultGroups, p.AllDefaultGroups, want)
	}
	if p.Config.Port != 5000 {
		t.Errorf("Port = %d", p.Config.Port)
	}
	if p.Config.User != DefaultUser {
		t.Errorf("User = %+v, want the default", p.Config.User)
	}
	// tests/ has an __init__.py but is not application code; setup.py is
	// tooling.
	want := Layout{ImportRoot: ".", Packages: []string{"flat_app"}, Modules: []string{"helpers"}}
	if !reflect.DeepEqual(p.Layout, want) {
		t.Errorf("Layout = %+v, want %+v", p.Layout, want)
	}
}

func TestLoadSrc(t *testing.T) {
	p := load(t, "testdata/src")
	if p.Version != "" {
		t.Errorf("dynamic Version = %q", p.Version)
	}
	if !p.AllDefaultGroups || p.DefaultGroups != nil {
		t.Errorf(`default-groups = "all": got %q, all=%v`, p.DefaultGroups, p.AllDefaultGroups)
	}
	want := Layout{ImportRoot: "src", Packages: []string{"src_app"}, Modules: []string{"solo"}}
	if !reflect.DeepEqual(p.Layout, want) {
		t.Errorf("Layout = %+v, want %+v", p.Layout, want)
	}
	if m, ok := p.Layout.ModulePath("src/src_app/main.py"); !ok || m != "src_app.main" {
		t.Errorf("ModulePath = %q, %v", m, ok)
	}
}

func TestLayoutVariants(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  Layout
	}{{
		// A package called src is imported as src.x: flat.
		name:  "src is a package",
		files: map[string]string{"src/__init__.py": "", "src/app.py": ""},
		want:  Layout{ImportRoot: ".", Packages: []string{"src"}},
	}, {
		// src/ without Python code (e.g. frontend sources): flat.
		name:  "src without python",
		files: map[string]string{"src/index.ts": "", "app.py": ""},
		want:  Layout{ImportRoot: ".", Modules: []string{"app"}},
	}, {
		name:  "src namespace package",
		files: map[string]string{"src/demo/core.py": "", "src/data/x.json": ""},
		want:  Layout{ImportRoot: "src", Packages: []string{"demo"}},
	}, {
		// The project's own name counts without __init__.py; other
		// directories do not.
		name:  "flat namespace package named after the project",
		files: map[string]string{"demo/core.py": "", "scripts/run.py": "", "my-tool.py": ""},
		want:  Layout{ImportRoot: ".", Packages: []string{"demo"}},
	}, {
		name: "excluded src",
		files: map[string]string{
			".dockerignore": "src\n", "src/old/__init__.py": "", "pkg/__init__.py": "",
		},
		want: Layout{ImportRoot: ".", Packages: []string{"pkg"}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			tc.files["pyproject.toml"] = "[project]\nname = \"demo\"\n"
			p := load(t, writeProject(t, tc.files))
			if !reflect.DeepEqual(p.Layout, tc.want) {
				t.Errorf("Layout = %+v, want %+v", p.Layout, tc.want)
			}
		})
	}
}

func TestModulePath(t *testing.T) {
	flat := Layout{ImportRoot: "."}
	src := Layout{ImportRoot: "src"}
	for _, tc := range []struct {
		l    Layout
		rel  string
		want string
		ok   bool
	}{
		{flat, "app.py", "app", true},
		{flat, "pkg/__init__.py", "pkg", true},
		{flat, "pkg/sub/main.py", "pkg.sub.main", true},
		{flat, "my-dir/main.py", "", false},
		{flat, "pkg/2fa.py", "", false},
		{src, "src/pkg/main.py", "pkg.main", true},
		{src, "app.py", "app", true}, // outside src: imported from the working directory
		{src, "srcx/a.py", "srcx.a", true},
	} {
		got, ok := tc.l.ModulePath(tc.rel)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s ModulePath(%q) = %q, %v; want %q, %v", tc.l.ImportRoot, tc.rel, got, ok, tc.want, tc.ok)
		}
	}
}

func TestLoadFullConfig(t *testing.T) {
	p := load(t, "testdata/full-config")
	want := Config{
		Base:      "python:3.12-slim-bookworm",
		Platforms: []string{"linux/amd64", "linux/arm64/v8"},
		Packages:  []string{"libpq5", "curl"},
		Command:   []string{"gunicorn", "mysite.wsgi", "--bind", "0.0.0.0:8000"},
		Port:      8000,
		Healthcheck: &Healthcheck{
			Path: "/health", Port: 9000, Interval: 30 * time.Second, Timeout: 3 * time.Second,
			StartPeriod: time.Minute, Retries: 5,
		},
		Env:         map[string]string{"DJANGO_SETTINGS_MODULE": "mysite.settings.production"},
		RequiredEnv: []string{"DATABASE_URL"},
		User:        User{Name: "web", UID: 2000, GID: 1001},
		Groups:      []string{"prod"},
		Exclude:     []string{"tests/", "docs/"},
		Labels:      map[string]string{"org.opencontainers.image.source": "https://github.com/acme/api"},
	}
	if !reflect.DeepEqual(p.Config, want) {
		t.Errorf("Config =\n%+v\nwant\n%+v", p.Config, want)
	}
}

func TestLoadErrors(t *testing.T) {
	missing := t.TempDir()
	for _, tc := range []struct {
		name string
		dir  string
		want []string // substrings of the error
	}{
		{"missing pyproject", missing, []string{filepath.Join(missing, "pyproject.toml"), "not found"}},
		{"missing dir", filepath.Join(missing, "none"), []string{filepath.Join(missing, "none"), "directory not found"}},
		{"unknown key", "testdata/unknown-key", []string{
			"unknown-key/pyproject.toml", "healthcheck.foo", "unknown key",
			"interval, path, port, retries, start-period, timeout",
		}},
		{"wrong type", "testdata/wrong-type", []string{
			"wrong-type/pyproject.toml", "[tool.kiln] port", "expected an integer", `string "8000"`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.dir)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, toml string
		want       []string
	}{
		{"no project", "[tool.kiln]\nport = 1\n", []string{"no [project] table"}},
		{"no name", "[project]\nversion = \"1\"\n", []string{"[project] name is missing"}},
		{"bad name", "[project]\nname = \"-x-\"\n", []string{`name "-x-"`}},
		{"name type", "[project]\nname = 3\n", []string{"[project] name", "expected a string", "integer 3"}},
		{"syntax", "[project\nname = 1", []string{"line 1"}},
		{"project not table", "project = 1\n", []string{"project", "expected a table"}},
		{"tool.kiln not table", "tool = { kiln = [] }\n[project]\nname = \"x\"\n", []string{"kiln", "expected a table", "an array"}},
		{"unknown top key", "[project]\nname = \"x\"\n[tool.kiln]\nportt = 1\n", []string{
			"portt: unknown key", "known keys of [tool.kiln]: base, command, debian-mirror, debian-security-mirror, env, exclude, find-links, groups, healthcheck, labels, lock, max-compression-ratio, max-unpacked-size, packages, platforms, port, required-env, user",
		}},
		{"unknown user key", "[project]\nname = \"x\"\n[tool.kiln]\nuser = { home = \"/\" }\n", []string{
			"user.home: unknown key", "known keys of user: gid, name, uid",
		}},
		{"healthcheck without path", "[project]\nname = \"x\"\n[tool.kiln]\nhealthcheck = { interval = \"1s\" }\n", []string{"healthcheck: path is required"}},
		{"bad duration", "[project]\nname = \"x\"\n[tool.kiln]\nhealthcheck = { path = \"/\", timeout = \"3\" }\n", []string{"healthcheck.timeout", "duration"}},
		{"duration type", "[project]\nname = \"x\"\n[tool.kiln]\nhealthcheck = { path = \"/\", timeout = 3 }\n", []string{"healthcheck.timeout", "expected a duration string", "integer 3"}},
		{"list item type", "[project]\nname = \"x\"\n[tool.kiln]\nplatforms = [\"linux/amd64\", 1]\n", []string{"platforms: item 1", "expected a string"}},
		{"bad platform", "[project]\nname = \"x\"\n[tool.kiln]\nplatforms = [\"amd64\"]\n", []string{"platforms: item 0", "OS/ARCH"}},
		{"port range", "[project]\nname = \"x\"\n[tool.kiln]\nport = 70000\n", []string{"port", "not in 1-65535"}},
		{"huge int", "[project]\nname = \"x\"\n[tool.kiln]\nport = 9223372036854775807\n", []string{"port", "out of range"}},
		{"env value type", "[project]\nname = \"x\"\n[tool.kiln]\nenv = { PORT = 8000 }\n", []string{"env: PORT", "expected a string"}},
		{"env name", "[project]\nname = \"x\"\n[tool.kiln]\nenv = { \"A-B\" = \"1\" }\n", []string{"env", `"A-B"`}},
		{"root uid", "[project]\nname = \"x\"\n[tool.kiln]\nuser = { uid = 0 }\n", []string{"user.uid", "root"}},
		{"bad exclude", "[project]\nname = \"x\"\n[tool.kiln]\nexclude = [\"[\"]\n", []string{"exclude: item 0", "invalid pattern"}},
		{"empty command", "[project]\nname = \"x\"\n[tool.kiln]\ncommand = []\n", []string{"command: must not be empty"}},
		{"command type", "[project]\nname = \"x\"\n[tool.kiln]\ncommand = \"gunicorn app:app\"\n", []string{"command", "expected an array of strings"}},
		{"default-groups", "[project]\nname = \"x\"\n[tool.uv]\ndefault-groups = \"some\"\n", []string{"[tool.uv] default-groups", `"all"`}},
		{"scripts", "[project]\nname = \"x\"\n[project.scripts]\nrun = \"not a ref\"\n", []string{"[project.scripts] run", "module:attr"}},
		{"script name", "[project]\nname = \"x\"\n[project.scripts]\n\"../x\" = \"a:b\"\n", []string{"invalid script name"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse([]byte(tc.toml))
			if err == nil {
				t.Fatal("parse succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestBadDockerignore(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"pyproject.toml": "[project]\nname = \"x\"\n",
		".dockerignore":  "ok\n[\n",
	})
	_, err := Load(dir)
	if err == nil || !strings.Contains(err.Error(), ".dockerignore") || !strings.Contains(err.Error(), `"["`) {
		t.Fatalf("Load = %v, want an error naming .dockerignore and the pattern", err)
	}
}

func TestNormalizeName(t *testing.T) {
	for in, want := range map[string]string{
		"Flask": "flask", "zope.interface": "zope-interface", "Foo__Bar-.baz": "foo-bar-baz", "a": "a",
	} {
		if got := pyname.Normalize(in); got != want {
			t.Errorf("pyname.Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

// [tool.kiln.verify] belongs to `kiln verify`: Load keeps it aside instead
// of refusing it as an unknown build key.
func TestVerifyTableKeptAside(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"pyproject.toml": "[project]\nname = \"x\"\n[tool.kiln]\nport = 8000\n[tool.kiln.verify]\nmax-image-size = \"300 MiB\"\n",
		"x.py":           "",
	})
	p := load(t, dir)
	if p.Config.Port != 8000 || p.Verify["max-image-size"] != "300 MiB" {
		t.Errorf("Config.Port = %d, Verify = %v", p.Config.Port, p.Verify)
	}
}
