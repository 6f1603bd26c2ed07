package uvlock

import (
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/internal/pyname"
)

func find(t *testing.T, l *Lock, name, version string) *Package {
	t.Helper()
	for _, p := range l.Packages {
		if p.Name == name && p.Version == version {
			return p
		}
	}
	t.Fatalf("package %s %s not in %s", name, version, l.Path)
	return nil
}

func TestParseWorkspace(t *testing.T) {
	l := loadFixture(t, "workspace")
	if l.Version != 1 || l.Revision != 3 || l.RequiresPython != ">=3.10" {
		t.Errorf("header = %d %d %q", l.Version, l.Revision, l.RequiresPython)
	}
	if l.Path != filepath.Join("testdata", "workspace", "uv.lock") {
		t.Errorf("Path = %q", l.Path)
	}
	if want := []string{"mcp", "mcp-simple-tool", "mcp-types"}; !slices.Equal(l.Members, want) {
		t.Errorf("members = %v", l.Members)
	}
	if len(l.Packages) != 36 {
		t.Errorf("%d packages, want 36", len(l.Packages))
	}

	mcp := find(t, l, "mcp", "")
	if mcp.Source != (Source{Kind: KindEditable, Value: "."}) {
		t.Errorf("mcp source = %+v", mcp.Source)
	}
	if got := sortedKeys(mcp.OptionalDependencies); !slices.Equal(got, []string{"cli", "rich"}) {
		t.Errorf("mcp extras = %v", got)
	}
	if got := sortedKeys(mcp.DevDependencies); !slices.Equal(got, []string{"codegen", "dev", "docs"}) {
		t.Errorf("mcp groups = %v", got)
	}
	if !slices.Equal(mcp.DeclaredGroups, []string{"codegen", "dev", "docs", "typecheck"}) {
		t.Errorf("declared groups = %v", mcp.DeclaredGroups)
	}
	if !slices.Equal(mcp.ProvidesExtras, []string{"cli", "rich", "ws"}) {
		t.Errorf("provides-extras = %v", mcp.ProvidesExtras)
	}
	jwt := Dependency{Name: "pyjwt", Extras: []string{"crypto"}}
	if !reflect.DeepEqual(mcp.Dependencies[4], jwt) {
		t.Errorf("edge = %+v, want %+v", mcp.Dependencies[4], jwt)
	}
	if d := mcp.Dependencies[5]; d.Name != "pywin32" || d.Marker != "sys_platform == 'win32'" {
		t.Errorf("edge = %+v", d)
	}
	if d := mcp.DevDependencies["dev"][1]; d.Name != "mcp" || !slices.Equal(d.Extras, []string{"cli"}) {
		t.Errorf("dev edge = %+v", d)
	}

	snc := find(t, l, "strict-no-cover", "0.1.1")
	if snc.Source.Kind != KindGit || snc.Source.Value != "https://github.com/pydantic/strict-no-cover#7fc59da2c4dff919db2095a0f0e47101b657131d" {
		t.Errorf("git source = %+v", snc.Source)
	}
	if snc.Sdist != nil || snc.Wheels != nil {
		t.Error("git package has artifacts")
	}
	if v := find(t, l, "mcp-simple-tool", "0.1.0"); v.Source != (Source{Kind: KindVirtual, Value: "examples/servers/simple-tool"}) {
		t.Errorf("virtual source = %+v", v.Source)
	}

	anyio := find(t, l, "anyio", "4.10.0")
	if anyio.Sdist == nil || anyio.Sdist.Filename != "anyio-4.10.0.tar.gz" || anyio.Sdist.Size == 0 ||
		!strings.HasPrefix(anyio.Sdist.Hash, "sha256:") {
		t.Errorf("sdist = %+v", anyio.Sdist)
	}
	w := anyio.Wheels[0]
	if w.Filename != "anyio-4.10.0-py3-none-any.whl" || !strings.HasSuffix(w.URL, "/"+w.Filename) || len(w.Hash) != 71 || w.Size == 0 {
		t.Errorf("wheel = %+v", w)
	}
	// Names are normalised, file names are not.
	if jwt := find(t, l, "pyjwt", "2.10.1"); jwt.Wheels[0].Filename != "PyJWT-2.10.1-py3-none-any.whl" {
		t.Errorf("pyjwt wheel = %q", jwt.Wheels[0].Filename)
	}
}

func TestParseMultiVersion(t *testing.T) {
	l := loadFixture(t, "multiversion")
	if !slices.Equal(l.SupportedMarkers, []string{"sys_platform == 'linux'", "sys_platform == 'darwin'"}) {
		t.Errorf("supported-markers = %v", l.SupportedMarkers)
	}
	bench := find(t, l, "bench", "0.3.0")
	cpu := Source{Kind: KindRegistry, Value: "https://download.pytorch.org/whl/cpu"}
	torch := bench.Dependencies[6]
	if torch.Name != "torch" || torch.Version != "2.7.1+cpu" || torch.Source == nil || *torch.Source != cpu ||
		!strings.HasPrefix(torch.Marker, "(platform_machine != 'aarch64'") {
		t.Errorf("torch edge = %+v", torch)
	}
	// The file name is the percent-decoded last URL segment.
	tc := find(t, l, "torch", "2.7.1+cpu")
	if got := tc.Wheels[1].Filename; got != "torch-2.7.1+cpu-cp312-cp312-manylinux_2_28_x86_64.whl" {
		t.Errorf("filename = %q", got)
	}
	if !strings.Contains(tc.Wheels[1].URL, "%2Bcpu") {
		t.Errorf("URL = %q", tc.Wheels[1].URL)
	}
	if got := find(t, l, "numpy", "2.2.6").ResolutionMarkers; len(got) != 2 {
		t.Errorf("numpy resolution-markers = %v", got)
	}

	ia := find(t, l, "internal-auth", "0.4.0")
	if ia.Source != (Source{Kind: KindPath, Value: "vendor/internal_auth-0.4.0-py3-none-any.whl"}) {
		t.Errorf("path source = %+v", ia.Source)
	}
	if w := ia.Wheels[0]; w.Filename != "internal_auth-0.4.0-py3-none-any.whl" || w.URL != "" || w.Path != "" {
		t.Errorf("path wheel = %+v", w)
	}
	am := find(t, l, "acme-metrics", "1.2.0")
	if am.Source.Kind != KindURL || am.Wheels[0].Filename != "acme_metrics-1.2.0-py3-none-any.whl" || am.Wheels[0].Size != 0 {
		t.Errorf("url package = %+v %+v", am.Source, am.Wheels)
	}
	if d := find(t, l, "docopt", "0.6.2"); d.Wheels != nil || d.Sdist == nil {
		t.Errorf("docopt = %+v", d)
	}
}

func TestParseConflictsAndManifest(t *testing.T) {
	l := loadFixture(t, "conflicts")
	want := [][]ConflictItem{{{Package: "test", Extra: "chgnet"}, {Package: "test", Extra: "m3gnet"}}}
	if !reflect.DeepEqual(l.Conflicts, want) {
		t.Errorf("conflicts = %+v", l.Conflicts)
	}
	n := loadFixture(t, "nonproject")
	if !reflect.DeepEqual(n.Requirements, []Requirement{{Name: "gunicorn", Specifier: ">=23"}}) {
		t.Errorf("requirements = %+v", n.Requirements)
	}
	if got := sortedKeys(n.DependencyGroups); !slices.Equal(got, []string{"dev", "lint"}) {
		t.Errorf("groups = %v", got)
	}
	if n.DependencyGroups["dev"][0].Name != "pytest" || n.DependencyGroups["dev"][0].Specifier != ">=8.3" {
		t.Errorf("dev = %+v", n.DependencyGroups["dev"])
	}
}

const minimal = `version = 1
requires-python = ">=3.12"

[[package]]
name = "app"
version = "1.0"
source = { editable = "." }
dependencies = [{ name = "six" }]

[[package]]
name = "six"
version = "1.17.0"
source = { registry = "https://pypi.org/simple" }
wheels = [{ url = "https://files.example/six-1.17.0-py2.py3-none-any.whl", hash = "sha256:4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274" }]
`

func TestParseMinimal(t *testing.T) {
	l, err := Parse("", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if l.Path != "uv.lock" || l.Revision != 0 || l.Members != nil {
		t.Errorf("lock = %+v", l)
	}
	// The old `distribution` spelling of `package` is read too.
	l, err = Parse("old.lock", []byte(strings.ReplaceAll(minimal, "[[package]]", "[[distribution]]")))
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Packages) != 2 {
		t.Errorf("%d packages", len(l.Packages))
	}
}

func TestParseErrors(t *testing.T) {
	const six = `[[package]]
name = "six"
version = "1.17.0"
source = { registry = "https://pypi.org/simple" }
`
	tests := []struct {
		name, lock string
		want       []string
	}{
		{"version 2", "version = 2\n", []string{"bad.lock", "unsupported uv.lock schema version 2"}},
		{"no version", "requires-python = \">=3.12\"\n", []string{"bad.lock", "no lock schema version"}},
		{"not toml", "version = 1\n[[package]\n", []string{"bad.lock:2:"}},
		{"version type", "version = \"1\"\n", []string{"bad.lock"}},
		{"field type", "version = 1\n[[package]]\nname = \"six\"\nversion = 1\n", []string{"bad.lock"}},
		{"no source", "version = 1\n[[package]]\nname = \"six\"\nversion = \"1\"\n", []string{"bad.lock", "package six", "no source"}},
		{"two sources", "version = 1\n[[package]]\nname = \"six\"\nversion = \"1\"\nsource = { registry = \"r\", git = \"g\" }\n",
			[]string{"package six", "exactly one of"}},
		{"bad name", "version = 1\n[[package]]\nname = \"../six\"\nversion = \"1\"\nsource = { registry = \"r\" }\n", []string{"invalid name"}},
		{"registry without version", "version = 1\n[[package]]\nname = \"six\"\nsource = { registry = \"r\" }\n", []string{"package six", "without a version"}},
		{"dangling edge", "version = 1\n" + six + "dependencies = [{ name = \"nope\" }]\n",
			[]string{"bad.lock", "package six 1.17.0", "dependencies", "nope is not in the lock"}},
		{"ambiguous edge", "version = 1\n" + six + "dependencies = [{ name = \"six\" }]\n" + strings.Replace(six, "1.17.0", "1.16.0", 1),
			[]string{"package six 1.17.0", "ambiguous"}},
		{"edge to missing version", "version = 1\n" + six + "dependencies = [{ name = \"six\", version = \"2\" }]\n",
			[]string{"six 2 is not in the lock"}},
		{"duplicate", "version = 1\n" + six + six, []string{"six 1.17.0", "listed twice"}},
		{"bad wheel name", "version = 1\n" + six + "wheels = [{ url = \"https://x/six.tar.gz\", hash = \"sha256:00\" }]\n",
			[]string{"package six", "six.tar.gz: not a wheel file name"}},
		{"bad hash", "version = 1\n" + six + "wheels = [{ url = \"https://x/six-1.17.0-py3-none-any.whl\", hash = \"sha256:XYZ\" }]\n",
			[]string{"package six", "malformed hash"}},
		{"wheel with two locations", "version = 1\n" + six + "wheels = [{ url = \"https://x/a-1-py3-none-any.whl\", path = \"a-1-py3-none-any.whl\" }]\n",
			[]string{"exactly one of url, path, filename"}},
		{"encoded slash in file name", "version = 1\n" + six + "wheels = [{ url = \"https://x/a%2F..%2Fb-1-py3-none-any.whl\" }]\n",
			[]string{"no usable file name"}},
		{"traversal in filename", "version = 1\n" + six + "wheels = [{ filename = \"../six-1.17.0-py3-none-any.whl\" }]\n",
			[]string{"no usable file name"}},
		{"negative size", "version = 1\n" + six + "sdist = { url = \"https://x/six-1.17.0.tar.gz\", size = -1 }\n",
			[]string{"sdist", "negative size"}},
		{"unknown member", "version = 1\n[manifest]\nmembers = [\"six\"]\n" + six, []string{"members", "six has no workspace package"}},
		{"bad conflict", "version = 1\nconflicts = [[{ package = \"a\", extra = \"x\", group = \"y\" }]]\n", []string{"conflicts[0]", "both an extra and a group"}},
		{"bad extra", "version = 1\n" + six + "dependencies = [{ name = \"six\", extra = [\"a b\"] }]\n", []string{"invalid extra name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("bad.lock", []byte(tt.lock))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadMissing(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "uv.lock")); err == nil {
		t.Fatal("no error")
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"Typing_Extensions": "typing-extensions",
		"zope.interface":    "zope-interface",
		"a--_.b":            "a-b",
		"PyJWT":             "pyjwt",
	} {
		if got := pyname.Normalize(in); got != want {
			t.Errorf("pyname.Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}
