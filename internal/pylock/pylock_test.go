package pylock

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/internal/uvlock"
)

// fixtureHash is the sha256 the fixtures record for label: they were
// written with sha256(label) in place of real file hashes.
func fixtureHash(label string) string {
	sum := sha256.Sum256([]byte(label))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func load(t *testing.T, name string) *Lock {
	t.Helper()
	l, err := Load(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func byName(l *Lock) map[string]*Package {
	m := map[string]*Package{}
	for _, p := range l.Packages {
		m[p.Name] = p
	}
	return m
}

func TestParseUVExport(t *testing.T) {
	l := load(t, "pylock.uv.toml")
	if l.LockVersion != "1.0" || l.CreatedBy != "uv" || l.RequiresPython != ">=3.12" {
		t.Errorf("header = %q %q %q", l.LockVersion, l.CreatedBy, l.RequiresPython)
	}
	if len(l.Extras)+len(l.DependencyGroups)+len(l.DefaultGroups)+len(l.Environments) != 0 {
		t.Errorf("single-use lock has extras/groups/environments: %+v", l)
	}
	if len(l.Packages) != 9 {
		t.Fatalf("%d packages, want 9", len(l.Packages))
	}
	p := byName(l)

	anyio := p["anyio"]
	if anyio.Kind != KindWheels || anyio.Version != "4.8.0" || anyio.Index != "https://pypi.org/simple" {
		t.Errorf("anyio = %+v", anyio)
	}
	want := uvlock.Artifact{
		URL:      "https://files.pythonhosted.org/packages/46/eb/e7f063ad1fec6b3178a3cd82d1a3c4de82cccf283fc42746168188e1cdd5/anyio-4.8.0-py3-none-any.whl",
		Filename: "anyio-4.8.0-py3-none-any.whl",
		Hash:     fixtureHash("anyio-wheel"),
		Size:     96041,
	}
	if len(anyio.Wheels) != 1 || anyio.Wheels[0] != want {
		t.Errorf("anyio wheels = %+v, want %+v", anyio.Wheels, want)
	}
	if anyio.Sdist == nil || anyio.Sdist.Filename != "anyio-4.8.0.tar.gz" || anyio.Sdist.Hash != fixtureHash("anyio-sdist") {
		t.Errorf("anyio sdist = %+v", anyio.Sdist)
	}

	// The name key wins over the URL's spelling (MarkupSafe-…).
	ms := p["markupsafe"]
	if len(ms.Wheels) != 4 {
		t.Fatalf("markupsafe has %d wheels", len(ms.Wheels))
	}
	if w := ms.Wheels[2]; w.Filename != "markupsafe-3.0.2-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl" ||
		!strings.Contains(w.URL, "/MarkupSafe-3.0.2-") || w.Hash != fixtureHash("markupsafe-x86_64") || w.Size != 23118 {
		t.Errorf("markupsafe x86_64 wheel = %+v", w)
	}

	if tr := p["triton"]; tr.Sdist != nil || tr.Kind != KindWheels || tr.Marker != "platform_machine == 'x86_64' and sys_platform == 'linux'" {
		t.Errorf("triton = %+v", tr)
	}
	if ws := p["webshop"]; ws.Kind != KindDirectory || ws.Source != "." || ws.Version != "" || len(ws.Wheels) != 0 {
		t.Errorf("webshop = %+v", ws)
	}
}

func TestParseMultiUse(t *testing.T) {
	l := load(t, "pylock.multiuse.toml")
	if got := strings.Join(l.Extras, ","); got != "postgres,redis" {
		t.Errorf("extras = %s (want normalised)", got)
	}
	if got := strings.Join(l.DependencyGroups, ","); got != "dev,docs" {
		t.Errorf("dependency-groups = %s", got)
	}
	if got := strings.Join(l.DefaultGroups, ","); got != "default" {
		t.Errorf("default-groups = %s", got)
	}
	if len(l.Environments) != 2 {
		t.Errorf("environments = %q", l.Environments)
	}
	p := byName(l)
	if p["flask"] == nil {
		t.Fatal("Flask not normalised to flask")
	}
	if h := p["flask"].Wheels[0].Hash; h != fixtureHash("flask") {
		t.Errorf("flask hash = %s (sha256 must be taken over sha512)", h)
	}
	// No name key: the URL's last segment.
	if f := p["redis"].Wheels[0].Filename; f != "redis-5.2.1-py3-none-any.whl" {
		t.Errorf("redis filename = %s", f)
	}
	// An archive that is a wheel is that package's one wheel.
	a := p["acme-internal"]
	if a.Kind != KindArchive || len(a.Wheels) != 1 || a.Wheels[0].Path != "wheels/acme_internal-1.4.0-py3-none-any.whl" ||
		a.Wheels[0].Filename != "acme_internal-1.4.0-py3-none-any.whl" || a.Wheels[0].Size != 18244 || a.Source != a.Wheels[0].Path {
		t.Errorf("acme-internal = %+v", a)
	}
	if d := p["docs-theme"]; d.Kind != KindVCS || d.Source != "https://github.com/acme/docs-theme.git" {
		t.Errorf("docs-theme = %+v", d)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		want       []string
	}{
		{"future major version", "bad-lock-version.toml", []string{"bad-lock-version.toml", "unsupported lock-version 2.0"}},
		{"wheel without hashes", "bad-missing-hashes.toml", []string{"bad-missing-hashes.toml", "package idna", "no hashes"}},
		{"wheel without sha256", "bad-no-sha256.toml", []string{"bad-no-sha256.toml", "package idna", "no sha256", "sha256-checked"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(filepath.Join("testdata", tc.file))
			if err == nil {
				t.Fatal("parsed")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// wheelEntry is a well-formed wheel for a package named demo.
const wheelEntry = `wheels = [{ url = "https://example.org/demo-1.0-py3-none-any.whl", hashes = { sha256 = "` +
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" + `" } }]`

func TestParseInline(t *testing.T) {
	head := "lock-version = \"1.0\"\ncreated-by = \"test\"\n"
	pkg := head + "[[packages]]\nname = \"demo\"\nversion = \"1.0\"\n"
	for _, tc := range []struct {
		name, doc string
		want      string // "" = parses
	}{
		{"minimal", pkg + wheelEntry, ""},
		{"no packages at all", head + "packages = []", ""},
		{"minor version with unknown keys", strings.Replace(pkg, "1.0", "1.3", 1) + wheelEntry + "\nnew-key = 1\n[tool.x]\ny = 2", ""},
		{"upper-case sha256", pkg + strings.Replace(wheelEntry, "0123456789abcdef", "0123456789ABCDEF", 1), ""},
		{"percent-encoded URL", head + "[[packages]]\nname = \"torch\"\nversion = \"2.5.1+cpu\"\n" +
			`wheels = [{ url = "https://download.pytorch.org/whl/cpu/torch-2.5.1%2Bcpu-cp312-cp312-linux_x86_64.whl", hashes = { sha256 = "` +
			strings.Repeat("ab", 32) + `" } }]`, ""},
		{"path only", pkg + `wheels = [{ path = "dist/demo-1.0-py3-none-any.whl", hashes = { sha256 = "` + strings.Repeat("0", 64) + `" } }]`, ""},

		{"not TOML", "lock-version = \"1.0\"\n[[packages]\n", "test.toml:"},
		{"no lock-version", "created-by = \"x\"\n", "no lock-version"},
		{"lock-version not a string", "lock-version = 1.0\n", "lock-version"},
		{"lock-version malformed", "lock-version = \"one\"\ncreated-by = \"x\"\n", "want major.minor"},
		{"no created-by", "lock-version = \"1.0\"\npackages = []\n", "no created-by"},
		{"no packages key", head, "no [[packages]]"},
		{"packages wrong type", head + "packages = \"x\"\n", "packages"},
		{"extras wrong type", head + "extras = \"cli\"\npackages = []\n", "extras"},
		{"size wrong type", pkg + strings.Replace(wheelEntry, "hashes", "size = \"big\", hashes", 1), "size"},
		{"marker wrong type", pkg + "marker = true\n" + wheelEntry, "marker"},
		{"hashes wrong type", pkg + `wheels = [{ url = "https://example.org/demo-1.0-py3-none-any.whl", hashes = "sha256:00" }]`, "hashes"},
		{"bad top-level requires-python", strings.Replace(head, "created-by", "requires-python = \">=three\"\ncreated-by", 1) + "packages = []", "requires-python"},
		{"bad environment marker", head + "environments = [\"sys_platform = 'linux'\"]\npackages = []", "environments"},
		{"bad group name", head + "dependency-groups = [\"-dev\"]\npackages = []", "dependency-groups"},
		{"bad package name", head + "[[packages]]\nname = \"demo!\"\n" + wheelEntry, "invalid name"},
		{"bad version", head + "[[packages]]\nname = \"demo\"\nversion = \"one\"\n" + wheelEntry, "package demo: version"},
		{"bad marker", pkg + "marker = \"python_version >>= '3'\"\n" + wheelEntry, "package demo: marker"},
		{"bad requires-python", pkg + "requires-python = \"=>3.8\"\n" + wheelEntry, "package demo: requires-python"},
		{"no source", pkg, "package demo: no source"},
		{"empty wheels", pkg + "wheels = []", "package demo: no source"},
		{"conflicting sources", pkg + wheelEntry + "\ndirectory = { path = \".\" }", "conflicting sources: directory, sdist/wheels"},
		{"vcs and archive", head + "[[packages]]\nname = \"demo\"\nvcs = { type = \"git\", url = \"https://x/y.git\", commit-id = \"abc\" }\narchive = { url = \"https://x/demo.zip\", hashes = { sha256 = \"" + strings.Repeat("0", 64) + "\" } }", "conflicting sources: vcs, archive"},
		{"vcs without commit", head + "[[packages]]\nname = \"demo\"\nvcs = { type = \"git\", url = \"https://x/y.git\" }", "commit-id"},
		{"directory without path", head + "[[packages]]\nname = \"demo\"\ndirectory = { editable = true }", "directory: no path"},
		{"wheel without url or path", pkg + `wheels = [{ name = "demo-1.0-py3-none-any.whl", hashes = { sha256 = "` + strings.Repeat("0", 64) + `" } }]`, "needs url or path"},
		{"not a wheel name", pkg + strings.Replace(wheelEntry, "demo-1.0-py3-none-any.whl", "demo-1.0.tar.gz", 1), "demo-1.0.tar.gz"},
		{"wheel of another project", pkg + strings.Replace(wheelEntry, "demo-1.0", "other-1.0", 1), "a wheel of other, not demo"},
		{"wheel of another version", pkg + strings.Replace(wheelEntry, "demo-1.0", "demo-2.0", 1), "is version 2.0, the entry locks 1.0"},
		{"name with a slash", pkg + strings.Replace(wheelEntry, "{ url", "{ name = \"../demo-1.0-py3-none-any.whl\", url", 1), "no usable file name"},
		{"URL without file name", pkg + strings.Replace(wheelEntry, "demo-1.0-py3-none-any.whl", "", 1), "no usable file name"},
		{"malformed sha256", pkg + strings.Replace(wheelEntry, "0123456789abcdef\" }", "0123456789abcdeg\" }", 1), "malformed sha256"},
		{"negative size", pkg + strings.Replace(wheelEntry, "hashes", "size = -1, hashes", 1), "negative size"},
		{"empty hashes", pkg + `wheels = [{ url = "https://example.org/demo-1.0-py3-none-any.whl", hashes = {} }]`, "no hashes"},
		{"archive wheel without sha256", head + "[[packages]]\nname = \"demo\"\narchive = { url = \"https://x/demo-1.0-py3-none-any.whl\", hashes = { md5 = \"" + strings.Repeat("0", 32) + "\" } }", "archive: demo-1.0-py3-none-any.whl: no sha256"},
		{"second package unnamed", pkg + wheelEntry + "\n[[packages]]\nversion = \"1\"\n", "package #2: invalid name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := Parse("test.toml", []byte(tc.doc))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("error: %v", err)
			case tc.want == "":
				if len(l.Packages) > 0 {
					w := l.Packages[0].Wheels[0]
					if !strings.HasPrefix(w.Hash, "sha256:") || len(w.Hash) != 71 || w.Hash != strings.ToLower(w.Hash) {
						t.Errorf("hash %q", w.Hash)
					}
				}
			case err == nil:
				t.Fatalf("parsed, want error mentioning %q", tc.want)
			case !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "test.toml"):
				t.Errorf("error %q: want file name and %q", err, tc.want)
			}
		})
	}
}

func TestPercentDecodedFilename(t *testing.T) {
	doc := "lock-version = \"1.0\"\ncreated-by = \"uv\"\n[[packages]]\nname = \"torch\"\nversion = \"2.5.1+cpu\"\n" +
		`wheels = [{ url = "https://download.pytorch.org/whl/cpu/torch-2.5.1%2Bcpu-cp312-cp312-linux_x86_64.whl", hashes = { sha256 = "` +
		strings.Repeat("ab", 32) + `" } }]`
	l, err := Parse("", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if f := l.Packages[0].Wheels[0].Filename; f != "torch-2.5.1+cpu-cp312-cp312-linux_x86_64.whl" {
		t.Errorf("filename = %s", f)
	}
	if l.Path != "pylock.toml" {
		t.Errorf("default path = %s", l.Path)
	}
}

func TestIsLockName(t *testing.T) {
	for name, want := range map[string]bool{
		"pylock.toml":         true,
		"pylock.prod.toml":    true,
		"pylock.spam-1.toml":  true,
		"pylock..toml":        false,
		"pylock.a.b.toml":     false,
		"pylock.toml.bak":     false,
		"Pylock.toml":         false,
		"pylock.TOML":         false,
		"mypylock.toml":       false,
		"pylock":              false,
		"uv.lock":             false,
		"requirements.txt":    false,
		"pylock.prod.toml.in": false,
	} {
		if got := IsLockName(name); got != want {
			t.Errorf("IsLockName(%q) = %v, want %v", name, got, want)
		}
	}
}
