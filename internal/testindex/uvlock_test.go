package testindex

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func fixtureRoot() RootSpec {
	return RootSpec{
		Name:           "My_App",
		Version:        "0.1.0",
		RequiresPython: ">= 3.11",
		Dependencies:   []string{"alpha>=1.0", `Zope.Interface ; python_version >= "3.11"`},
		Groups:         map[string][]string{"dev": {"devtool"}, "Lint_Tools": {"gamma (==0.1)", "beta"}},
	}
}

func TestWriteUVLockGolden(t *testing.T) {
	dir := fixtureDir(t)
	project := t.TempDir()
	if err := WriteUVLock(project, "http://127.0.0.1:3141/simple/", dir, fixtureRoot()); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(project, "uv.lock"))
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "uv.lock.golden")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("uv.lock differs from %s (go test -update to accept):\n%s", golden, got)
	}
}

// The lock is valid TOML with the structure an installer walks.
func TestWriteUVLockStructure(t *testing.T) {
	dir := fixtureDir(t)
	project := t.TempDir()
	root := fixtureRoot()
	root.Virtual = true
	if err := WriteUVLock(project, "http://127.0.0.1:3141/simple", dir, root); err != nil {
		t.Fatal(err)
	}
	lock := readLock(t, filepath.Join(project, "uv.lock"))
	if lock.Version != 1 || lock.Revision != 3 || lock.RequiresPython != ">=3.11" {
		t.Errorf("header %d %d %q", lock.Version, lock.Revision, lock.RequiresPython)
	}
	var names []string
	for _, p := range lock.Package {
		names = append(names, p.Name)
	}
	// unrelated is in the wheelhouse but nothing needs it.
	if want := []string{"alpha", "beta", "devtool", "gamma", "my-app", "zope-interface"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("packages %q, want %q", names, want)
	}
	byName := map[string]lockPkg{}
	for _, p := range lock.Package {
		byName[p.Name] = p
	}
	app := byName["my-app"]
	if app.Source["virtual"] != "." || app.Version != "0.1.0" {
		t.Errorf("root source %v version %q", app.Source, app.Version)
	}
	if got := edgeNames(app.Dependencies); !reflect.DeepEqual(got, []string{"alpha", "zope-interface"}) {
		t.Errorf("root deps %q", got)
	}
	if app.Dependencies[1].Marker != "python_version >= '3.11'" {
		t.Errorf("root marker %q", app.Dependencies[1].Marker)
	}
	if got := edgeNames(app.DevDependencies["dev"]); !reflect.DeepEqual(got, []string{"devtool"}) {
		t.Errorf("dev group %q", got)
	}
	if got := edgeNames(app.DevDependencies["lint-tools"]); !reflect.DeepEqual(got, []string{"beta", "gamma"}) {
		t.Errorf("lint-tools group %q", got)
	}
	// alpha: Beta>=2.0 kept, the win32-only gamma kept with its marker,
	// the extra-only delta and the absent package dropped.
	alpha := byName["alpha"]
	if got := edgeNames(alpha.Dependencies); !reflect.DeepEqual(got, []string{"beta", "gamma"}) {
		t.Errorf("alpha deps %q", got)
	}
	if alpha.Dependencies[1].Marker != "sys_platform == 'win32'" {
		t.Errorf("alpha->gamma marker %q", alpha.Dependencies[1].Marker)
	}
	beta := byName["beta"]
	if beta.Source["registry"] != "http://127.0.0.1:3141/simple" || len(beta.Wheels) != 2 {
		t.Fatalf("beta %+v", beta)
	}
	for _, w := range beta.Wheels {
		if !strings.HasPrefix(w.URL, "http://127.0.0.1:3141/files/beta-2.0-cp311-cp311-manylinux_2_36_") ||
			!strings.HasPrefix(w.Hash, "sha256:") || len(w.Hash) != 71 || w.Size == 0 || w.UploadTime != "2024-01-01T00:00:00Z" {
			t.Errorf("beta wheel %+v", w)
		}
	}
}

func TestWriteUVLockErrors(t *testing.T) {
	dir := fixtureDir(t)
	cases := map[string]func(*RootSpec){
		"missing dependency":  func(r *RootSpec) { r.Dependencies = append(r.Dependencies, "absent") },
		"missing group entry": func(r *RootSpec) { r.Groups["dev"] = []string{"absent"} },
		"unsatisfied":         func(r *RootSpec) { r.Dependencies = []string{"alpha>=2"} },
		"extras on edge":      func(r *RootSpec) { r.Dependencies = []string{"alpha[fast]"} },
		"url requirement":     func(r *RootSpec) { r.Dependencies = []string{"alpha @ https://example.com/a.whl"} },
		"root is a wheel":     func(r *RootSpec) { r.Name = "Alpha" },
	}
	for name, mutate := range cases {
		root := fixtureRoot()
		mutate(&root)
		project := t.TempDir()
		if err := WriteUVLock(project, "http://127.0.0.1:1/simple", dir, root); err == nil {
			t.Errorf("%s: no error", name)
		}
		if _, err := os.Stat(filepath.Join(project, "uv.lock")); !os.IsNotExist(err) {
			t.Errorf("%s: uv.lock written anyway", name)
		}
	}
	if err := WriteUVLock(t.TempDir(), "http://127.0.0.1:1/pypi", dir, fixtureRoot()); err == nil {
		t.Error("index URL without /simple: no error")
	}
	makeWheel(t, dir, "gamma-0.2-py3-none-any.whl", meta("gamma", "0.2"))
	if err := WriteUVLock(t.TempDir(), "http://127.0.0.1:1/simple", dir, fixtureRoot()); err == nil {
		t.Error("two versions of gamma: no error")
	}
}

func TestReadRootSpec(t *testing.T) {
	root, err := ReadRootSpec("../../examples/flask-service")
	if err != nil {
		t.Fatal(err)
	}
	want := RootSpec{
		Name:           "flask-service",
		Version:        "0.1.0",
		RequiresPython: ">=3.11",
		Dependencies:   []string{"flask>=2.2", "gunicorn>=20.1", "kiln-demo-ext>=1.0"},
		Groups:         map[string][]string{"dev": {"kiln-dev-tool"}},
	}
	if !reflect.DeepEqual(root, want) {
		t.Errorf("got %+v\nwant %+v", root, want)
	}

	dir := t.TempDir()
	write := func(s string) {
		os.WriteFile(filepath.Join(dir, "pyproject.toml"), []byte(s), 0o644)
	}
	write("[project]\nname = \"x\"\nversion = \"1\"\nrequires-python = \">=3.11\"\n")
	if r, err := ReadRootSpec(dir); err != nil || !r.Virtual {
		t.Errorf("no build-system: %+v %v", r, err)
	}
	write("[project]\nname = \"x\"\nversion = \"1\"\nrequires-python = \">=3.11\"\n[build-system]\nrequires = []\n[tool.uv]\npackage = false\n")
	if r, err := ReadRootSpec(dir); err != nil || !r.Virtual {
		t.Errorf("tool.uv.package = false: %+v %v", r, err)
	}
	write("[project]\nname = \"x\"\nversion = \"1\"\nrequires-python = \">=3.11\"\n[dependency-groups]\nall = [{include-group = \"dev\"}]\n")
	if _, err := ReadRootSpec(dir); err == nil {
		t.Error("include-group: no error")
	}
	write("[project]\nname = \"x\"\n")
	if _, err := ReadRootSpec(dir); err == nil {
		t.Error("no version: no error")
	}
	write("[project\n")
	if _, err := ReadRootSpec(dir); err == nil {
		t.Error("bad TOML: no error")
	}
}

type lockEdgeWire struct {
	Name   string `toml:"name"`
	Marker string `toml:"marker"`
}

type lockPkg struct {
	Name            string                    `toml:"name"`
	Version         string                    `toml:"version"`
	Source          map[string]string         `toml:"source"`
	Dependencies    []lockEdgeWire            `toml:"dependencies"`
	DevDependencies map[string][]lockEdgeWire `toml:"dev-dependencies"`
	Wheels          []struct {
		URL        string `toml:"url"`
		Hash       string `toml:"hash"`
		Size       int64  `toml:"size"`
		UploadTime string `toml:"upload-time"`
	} `toml:"wheels"`
}

type lockFile struct {
	Version        int       `toml:"version"`
	Revision       int       `toml:"revision"`
	RequiresPython string    `toml:"requires-python"`
	Package        []lockPkg `toml:"package"`
}

func readLock(t *testing.T, path string) lockFile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var l lockFile
	if err := toml.Unmarshal(data, &l); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return l
}

func edgeNames(edges []lockEdgeWire) []string {
	var out []string
	for _, e := range edges {
		out = append(out, e.Name)
	}
	return out
}

func TestParseRequirement(t *testing.T) {
	cases := []struct {
		in   string
		want requirement
	}{
		{"flask", requirement{name: "flask"}},
		{"Flask >= 2.2 , < 3", requirement{name: "Flask", specifier: ">=2.2,<3"}},
		{"Babel (>=2.7)", requirement{name: "Babel", specifier: ">=2.7"}},
		{`asgiref>=3.2; extra == "async"`, requirement{name: "asgiref", specifier: ">=3.2", marker: `extra == "async"`}},
		{"requests[Socks, security]~=2.31", requirement{name: "requests", extras: []string{"security", "socks"}, specifier: "~=2.31"}},
		{"zope.interface===6.0", requirement{name: "zope.interface", specifier: "===6.0"}},
		{"foo==1.*", requirement{name: "foo", specifier: "==1.*"}},
	}
	for _, c := range cases {
		got, err := parseRequirement(c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: got %+v, want %+v", c.in, got, c.want)
		}
	}
	for _, bad := range []string{"", "-foo", "foo >= ", "foo @ https://x/y.whl", "foo;", "foo[b@d]", "foo bar"} {
		if _, err := parseRequirement(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestMarkerExtra(t *testing.T) {
	for m, want := range map[string]bool{
		`extra == "async"`:                         true,
		`extra=="async"`:                           true,
		`python_version < "3.10" and extra == "x"`: true,
		`(extra == "x")`:                           true,
		`"x" == extra`:                             true,
		`sys_platform == "win32"`:                  false,
		`platform_extra == "x"`:                    false,
		`implementation_name == "extra"`:           false,
		``:                                         false,
		`python_version >= "3.8" or extra != "tests"`: true,
	} {
		if got := markerExtra.MatchString(m); got != want {
			t.Errorf("%q: %v, want %v", m, got, want)
		}
	}
}

func TestUVMarker(t *testing.T) {
	for in, want := range map[string]string{
		`sys_platform == "win32"`:                        `sys_platform == 'win32'`,
		`python_version  <  "3.10"   and  os_name=="nt"`: `python_version < '3.10' and os_name=='nt'`,
		`platform_release == "it's"`:                     `platform_release == "it's"`,
		`a == "b  c"`:                                    `a == 'b  c'`,
		`a == "unterminated`:                             `a == "unterminated`,
	} {
		if got := uvMarker(in); got != want {
			t.Errorf("uvMarker(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseRequirement(f *testing.F) {
	f.Add(`asgiref>=3.2; extra == "async"`)
	f.Add("requests[socks]~=2.31, !=2.32.0")
	f.Add("Babel (>=2.7)")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseRequirement(s)
		if err != nil {
			return
		}
		if !validName.MatchString(r.name) {
			t.Fatalf("%q: name %q", s, r.name)
		}
		// What was parsed parses back to the same thing.
		again := r.name
		if len(r.extras) > 0 {
			again += "[" + strings.Join(r.extras, ",") + "]"
		}
		again += r.specifier
		if r.marker != "" {
			again += "; " + r.marker
		}
		r2, err := parseRequirement(again)
		if err != nil {
			t.Fatalf("%q re-parsed as %q: %v", s, again, err)
		}
		if !reflect.DeepEqual(r, r2) {
			t.Fatalf("%q: %+v then %+v", s, r, r2)
		}
	})
}

func FuzzUVMarker(f *testing.F) {
	f.Add(`sys_platform == "win32" and python_version < '3.10'`)
	f.Fuzz(func(t *testing.T, m string) {
		once := uvMarker(m)
		if twice := uvMarker(once); twice != once {
			t.Fatalf("not idempotent: %q -> %q -> %q", m, once, twice)
		}
	})
}
