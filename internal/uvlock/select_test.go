package uvlock

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/internal/marker"
)

func testEnv(t *testing.T, python, arch string) Environment {
	t.Helper()
	env, err := marker.LinuxCPython(python, arch)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func loadFixture(t *testing.T, name string) *Lock {
	t.Helper()
	l, err := Load(filepath.Join("testdata", name, "uv.lock"))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// parseEdited parses a fixture after replacing old (which must occur) by new.
func parseEdited(t *testing.T, name, old, new string) *Lock {
	t.Helper()
	path := filepath.Join("testdata", name, "uv.lock")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	l, err := Parse(path, []byte(strings.Replace(string(data), old, new, 1)))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// ids renders packages as "name==version" for comparison.
func ids(ps []*Package) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name + "==" + p.Version
	}
	return out
}

func pkgNames(ps []*Package) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return out
}

func with(base []string, more ...string) []string {
	out := slices.Concat(base, more)
	slices.Sort(out)
	return out
}

func mustSelect(t *testing.T, l *Lock, opts SelectOptions) *Selection {
	t.Helper()
	s, err := l.Select(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func selectErr(t *testing.T, l *Lock, opts SelectOptions, want ...string) {
	t.Helper()
	s, err := l.Select(opts)
	if err == nil {
		t.Fatalf("Select succeeded with project %v, third party %v; want an error", ids(s.Project), ids(s.ThirdParty))
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

var arches = []string{"amd64", "arm64"}

// The workspace fixture is modelled on modelcontextprotocol/python-sdk: an
// editable root without a version, an editable and a virtual member, groups
// (one holding a git package), extras on edges.
var workspaceProd = []string{
	"anyio", "certifi", "cffi", "click", "cryptography", "h11", "httpcore", "httpx", "httpx-sse",
	"idna", "pycparser", "pyjwt", "sniffio", "typing-extensions", "uvicorn",
}

func TestSelectWorkspace(t *testing.T) {
	l := loadFixture(t, "workspace")
	cliDeps := []string{"markdown-it-py", "mdurl", "pygments", "python-dotenv", "rich", "shellingham", "typer"}
	tests := []struct {
		name        string
		python      string
		opts        SelectOptions
		project     []string
		thirdParty  []string
		notSelected []string
	}{
		{
			name:    "production",
			python:  "3.12.8",
			project: []string{"mcp", "mcp-types"},
			// exceptiongroup is < 3.11 only, pywin32 win32 only; the virtual
			// member is not a root by default; no group is installed.
			thirdParty:  workspaceProd,
			notSelected: []string{"exceptiongroup", "pywin32", "mcp-simple-tool", "python-dotenv", "ruff", "mkdocs", "coverage"},
		},
		{
			name:       "python 3.10 markers",
			python:     "3.10.14",
			project:    []string{"mcp", "mcp-types"},
			thirdParty: with(workspaceProd, "exceptiongroup"),
		},
		{
			name:       "extra activates root optional-dependencies",
			python:     "3.12.8",
			opts:       SelectOptions{Extras: []string{"cli"}},
			project:    []string{"mcp", "mcp-types"},
			thirdParty: with(workspaceProd, cliDeps...),
		},
		{
			name:       "named group",
			python:     "3.12.8",
			opts:       SelectOptions{Groups: []string{"Docs"}},
			project:    []string{"mcp", "mcp-types"},
			thirdParty: with(workspaceProd, "markdown", "mergedeep", "mkdocs", "pyyaml"),
		},
		{
			name:       "two groups",
			python:     "3.12.8",
			opts:       SelectOptions{Groups: []string{"docs", "codegen"}},
			project:    []string{"mcp", "mcp-types"},
			thirdParty: with(workspaceProd, "markdown", "mergedeep", "mkdocs", "pyyaml", "ruff"),
		},
		{
			name:       "group declared without dependencies",
			python:     "3.12.8",
			opts:       SelectOptions{Groups: []string{"typecheck"}},
			project:    []string{"mcp", "mcp-types"},
			thirdParty: workspaceProd,
		},
		{
			name:       "extra provided without dependencies",
			python:     "3.12.8",
			opts:       SelectOptions{Extras: []string{"ws"}},
			project:    []string{"mcp", "mcp-types"},
			thirdParty: workspaceProd,
		},
		{
			name:   "all packages",
			python: "3.12.8",
			opts:   SelectOptions{AllPackages: true},
			// The virtual member is application source, and its own
			// dependency python-dotenv is selected.
			project:    []string{"mcp", "mcp-simple-tool", "mcp-types"},
			thirdParty: with(workspaceProd, "python-dotenv"),
		},
	}
	for _, tt := range tests {
		for _, arch := range arches {
			t.Run(tt.name+"/"+arch, func(t *testing.T) {
				opts := tt.opts
				opts.Env = testEnv(t, tt.python, arch)
				s := mustSelect(t, l, opts)
				if got := pkgNames(s.Project); !slices.Equal(got, tt.project) {
					t.Errorf("project = %v, want %v", got, tt.project)
				}
				if got := pkgNames(s.ThirdParty); !slices.Equal(got, tt.thirdParty) {
					t.Errorf("third party = %v, want %v", got, tt.thirdParty)
				}
				for _, p := range s.ThirdParty {
					if p.Source.Kind != KindRegistry || len(p.Wheels) == 0 {
						t.Errorf("third party %s: source %s, %d wheels", p.Name, p.Source, len(p.Wheels))
					}
				}
				for _, p := range s.Project {
					if p.Name == "mcp-simple-tool" && p.Source.Kind != KindVirtual {
						t.Errorf("mcp-simple-tool source = %s, want virtual", p.Source)
					}
				}
			})
		}
	}
}

func TestSelectWorkspaceErrors(t *testing.T) {
	l := loadFixture(t, "workspace")
	env := testEnv(t, "3.12.8", "amd64")
	file := filepath.Join("testdata", "workspace", "uv.lock")

	// The dev group holds a git package: refused, naming it and its source.
	selectErr(t, l, SelectOptions{Env: env, Groups: []string{"dev"}},
		file, "strict-no-cover 0.1.1", "git https://github.com/pydantic/strict-no-cover#7fc59da2c4dff919db2095a0f0e47101b657131d",
		"wheels only", "never builds sdists")
	selectErr(t, l, SelectOptions{Env: env, Groups: []string{"test"}},
		file, `dependency group "test"`, "codegen, dev, docs, typecheck")
	selectErr(t, l, SelectOptions{Env: env, Extras: []string{"server"}},
		file, `extra "server"`, "cli, rich, ws")
	// requires-python first: Python 3.9 cannot use the lock at all.
	selectErr(t, l, SelectOptions{Env: testEnv(t, "3.9.21", "amd64")},
		file, `requires-python ">=3.10"`, "3.9.21")
	selectErr(t, l, SelectOptions{}, file, "no target environment")
}

func TestSelectDevGroupWithoutGit(t *testing.T) {
	// With the git package gone from the dev group, the group installs, and
	// its `mcp[cli]` edge activates the root's cli extra.
	l := parseEdited(t, "workspace", "    { name = \"strict-no-cover\" },\n", "")
	for _, arch := range arches {
		s := mustSelect(t, l, SelectOptions{Env: testEnv(t, "3.12.8", arch), Groups: []string{"dev"}})
		want := with(workspaceProd, "coverage", "markdown-it-py", "mdurl", "pygments", "python-dotenv", "rich", "shellingham", "typer")
		if got := pkgNames(s.ThirdParty); !slices.Equal(got, want) {
			t.Errorf("%s: third party = %v, want %v", arch, got, want)
		}
	}
}

// The multiversion fixture is modelled on vllm-project/guidellm: forks on the
// Python version and the platform, and edges naming version and source.
func TestSelectMultiVersion(t *testing.T) {
	l := loadFixture(t, "multiversion")
	common := []string{"acme-metrics==1.2.0", "aiohttp==3.14.0", "attrs==25.3.0", "filelock==3.18.0", "idna==3.10",
		"internal-auth==0.4.0", "multidict==6.6.3", "propcache==0.3.2", "typing-extensions==4.14.1", "yarl==1.20.1"}
	tests := []struct {
		python, arch string
		want         []string
	}{
		{"3.12.8", "amd64", with(common, "numpy==2.3.2", "setuptools==80.9.0", "torch==2.7.1+cpu", "torchcodec==0.5+cpu")},
		{"3.12.8", "arm64", with(common, "numpy==2.3.2", "setuptools==80.9.0", "torch==2.7.1", "torchcodec==0.5+cpu")},
		{"3.11.13", "amd64", with(common, "numpy==2.3.2", "torch==2.7.1+cpu", "torchcodec==0.5+cpu")},
		{"3.10.14", "arm64", with(common, "async-timeout==5.0.1", "numpy==2.2.6", "torch==2.7.1", "torchcodec==0.5+cpu")},
	}
	for _, tt := range tests {
		s := mustSelect(t, l, SelectOptions{Env: testEnv(t, tt.python, tt.arch)})
		if got := ids(s.Project); !slices.Equal(got, []string{"bench==0.3.0"}) {
			t.Errorf("%s %s: project = %v", tt.python, tt.arch, got)
		}
		if got := ids(s.ThirdParty); !slices.Equal(got, tt.want) {
			t.Errorf("%s %s: third party =\n%v\nwant\n%v", tt.python, tt.arch, got, tt.want)
		}
		for _, p := range s.ThirdParty {
			if p.Name == "torchcodec" && p.Source.Value != "https://download.pytorch.org/whl/cpu" {
				t.Errorf("torchcodec source = %s", p.Source)
			}
		}
	}
}

func TestSelectMultiVersionErrors(t *testing.T) {
	l := loadFixture(t, "multiversion")
	env := testEnv(t, "3.12.8", "amd64")
	file := filepath.Join("testdata", "multiversion", "uv.lock")

	selectErr(t, l, SelectOptions{Env: env, Extras: []string{"cli"}},
		file, "docopt 0.6.2", "registry https://pypi.org/simple", "no wheels", "never builds sdists")
	selectErr(t, l, SelectOptions{Env: testEnv(t, "3.9.21", "arm64")},
		file, `">=3.10.0, <4.0"`, "Python 3.9.21")

	darwin := parseEdited(t, "multiversion", "    \"sys_platform == 'linux'\",\n", "")
	selectErr(t, darwin, SelectOptions{Env: env}, file, "supported-markers", "sys_platform == 'darwin'")

	// Both numpy edges true at once: one environment cannot hold both.
	both := parseEdited(t, "multiversion", `version = "2.2.6", source = { registry = "https://pypi.org/simple" }, marker = "python_full_version < '3.11'"`,
		`version = "2.2.6", source = { registry = "https://pypi.org/simple" }, marker = "python_full_version >= '3.12'"`)
	selectErr(t, both, SelectOptions{Env: env}, file, "numpy is selected twice", "2.2.6", "2.3.2")
}

// The conflicts fixture follows the lock quoted in astral-sh/uv#11479: two
// conflicting extras select different torch versions through conflict
// markers.
func TestSelectConflicts(t *testing.T) {
	l := loadFixture(t, "conflicts")
	tests := []struct {
		extras []string
		want   []string
	}{
		{nil, []string{"numpy==1.26.4"}},
		{[]string{"chgnet"}, []string{"chgnet==0.3.8", "filelock==3.18.0", "numpy==1.26.4", "setuptools==80.9.0", "torch==2.5.1", "typing-extensions==4.14.1"}},
		{[]string{"m3gnet"}, []string{"filelock==3.18.0", "matgl==1.1.3", "numpy==1.26.4", "torch==2.2.1", "typing-extensions==4.14.1"}},
		// m3gnet is activated only through an edge (test[m3gnet]); the first
		// pass must learn it, or torch 2.5.1 would be selected as well.
		{[]string{"materials"}, []string{"filelock==3.18.0", "matgl==1.1.3", "numpy==1.26.4", "torch==2.2.1", "typing-extensions==4.14.1"}},
	}
	for _, tt := range tests {
		for _, arch := range arches {
			s := mustSelect(t, l, SelectOptions{Env: testEnv(t, "3.12.8", arch), Extras: tt.extras})
			if got := ids(s.ThirdParty); !slices.Equal(got, tt.want) {
				t.Errorf("extras %v on %s: third party = %v, want %v", tt.extras, arch, got, tt.want)
			}
			if got := ids(s.Project); !slices.Equal(got, []string{"test==0.1.0"}) || s.Project[0].Source.Kind != KindVirtual {
				t.Errorf("project = %v", got)
			}
		}
	}
	env := testEnv(t, "3.12.8", "amd64")
	selectErr(t, l, SelectOptions{Env: env, Extras: []string{"chgnet", "m3gnet"}}, "test[chgnet] and test[m3gnet]", "conflicting")
	selectErr(t, l, SelectOptions{Env: env, Extras: []string{"materials", "chgnet"}}, "test[chgnet] and test[m3gnet]", "conflicting")
}

// recordingEnv wraps an Environment and keeps the extras sets it was given.
type recordingEnv struct {
	Environment
	seen []map[string]bool
}

func (r *recordingEnv) Matches(m string, extras map[string]bool) (bool, error) {
	r.seen = append(r.seen, extras)
	return r.Environment.Matches(m, extras)
}

func TestSelectExtrasOnlyWithConflicts(t *testing.T) {
	// Without `conflicts`, markers get no extras at all.
	rec := &recordingEnv{Environment: testEnv(t, "3.12.8", "amd64")}
	mustSelect(t, loadFixture(t, "workspace"), SelectOptions{Env: rec, Extras: []string{"cli"}})
	if len(rec.seen) == 0 {
		t.Fatal("no marker evaluated")
	}
	for _, x := range rec.seen {
		if x != nil {
			t.Fatalf("Matches got extras %v for a lock without conflicts", x)
		}
	}
	rec = &recordingEnv{Environment: testEnv(t, "3.12.8", "amd64")}
	mustSelect(t, loadFixture(t, "conflicts"), SelectOptions{Env: rec, Extras: []string{"chgnet"}})
	want := map[string]bool{"project-4-test": true, "extra-4-test-chgnet": true}
	last := rec.seen[len(rec.seen)-1]
	if len(last) != len(want) || !last["project-4-test"] || !last["extra-4-test-chgnet"] {
		t.Fatalf("activated set = %v, want %v", last, want)
	}
}

// The nonproject fixture is a workspace whose root has no [project]: every
// member is a root, plus [manifest] requirements and dependency groups.
func TestSelectNonProjectWorkspace(t *testing.T) {
	l := loadFixture(t, "nonproject")
	prod := []string{"anyio", "gunicorn", "idna", "orjson", "packaging", "redis", "sniffio", "starlette"}
	tests := []struct {
		opts SelectOptions
		want []string
	}{
		{SelectOptions{}, prod},
		{SelectOptions{AllPackages: true}, prod},
		{SelectOptions{Groups: []string{"lint"}}, with(prod, "ruff")},
		{SelectOptions{Groups: []string{"dev"}}, with(prod, "iniconfig", "pluggy", "pytest")},
	}
	for _, tt := range tests {
		for _, arch := range arches {
			opts := tt.opts
			opts.Env = testEnv(t, "3.12.8", arch)
			s := mustSelect(t, l, opts)
			if got := pkgNames(s.Project); !slices.Equal(got, []string{"api", "common", "worker"}) {
				t.Errorf("%+v: project = %v", tt.opts, got)
			}
			if got := pkgNames(s.ThirdParty); !slices.Equal(got, tt.want) {
				t.Errorf("%+v on %s: third party = %v, want %v", tt.opts, arch, got, tt.want)
			}
		}
	}
	env := testEnv(t, "3.12.8", "amd64")
	selectErr(t, l, SelectOptions{Env: env, Extras: []string{"vendored"}},
		"vendor-sdk 2.0.0", "editable ../vendor-sdk", "wheels only")
	selectErr(t, l, SelectOptions{Env: env, Groups: []string{"docs"}}, `"docs"`, "dev, lint")
}

func TestThirdPartyKey(t *testing.T) {
	key := func(l *Lock, arch string) string {
		t.Helper()
		return mustSelect(t, l, SelectOptions{Env: testEnv(t, "3.12.8", arch)}).ThirdPartyKey()
	}
	l := loadFixture(t, "multiversion")
	amd := key(l, "amd64")
	if !strings.HasPrefix(amd, "sha256:") || len(amd) != len("sha256:")+64 {
		t.Fatalf("key = %q", amd)
	}
	if again := key(loadFixture(t, "multiversion"), "amd64"); again != amd {
		t.Errorf("key not stable: %s then %s", amd, again)
	}
	// torch differs between the architectures.
	if arm := key(l, "arm64"); arm == amd {
		t.Error("amd64 and arm64 selections have the same key")
	}
	// A new project version, or a new project dependency on a package already
	// selected, leaves the key alone.
	bumped := parseEdited(t, "multiversion", "version = \"0.3.0\"\nsource = { editable = \".\" }", "version = \"0.4.0\"\nsource = { editable = \".\" }")
	if got := key(bumped, "amd64"); got != amd {
		t.Error("project version bump changed the third-party key")
	}
	// Any third-party change changes it.
	for _, edit := range [][2]string{
		{"sha256:c401f4f8377c4464e6db25fff06205fd89bdd83b65eb0488ed1b160f780e21de", "sha256:d401f4f8377c4464e6db25fff06205fd89bdd83b65eb0488ed1b160f780e21de"},
		{"name = \"filelock\"\nversion = \"3.18.0\"", "name = \"filelock\"\nversion = \"3.18.1\""},
		{"source = { path = \"vendor/internal_auth-0.4.0-py3-none-any.whl\" }", "source = { path = \"vendor2/internal_auth-0.4.0-py3-none-any.whl\" }"},
	} {
		if got := key(parseEdited(t, "multiversion", edit[0], edit[1]), "amd64"); got == amd {
			t.Errorf("edit %q -> %q kept the key", edit[0], edit[1])
		}
	}
}

// A non-project root's requirement names no version; among several locked
// packages of that name the one whose forks fit the target is taken.
const forkedRequirement = `version = 1
revision = 3
requires-python = ">=3.10"

[manifest]
requirements = [{ name = "numpy", specifier = ">=2" }]

[[package]]
name = "numpy"
version = "2.2.6"
source = { registry = "https://pypi.org/simple" }
resolution-markers = ["python_full_version < '3.11'"]
wheels = [{ url = "https://files.example/numpy-2.2.6-cp310-cp310-manylinux_2_17_x86_64.whl", hash = "sha256:b412caa2d8a6d4e4b3a1e8e1a8f5c0ef5aa1b2d4f3e0a1b2c3d4e5f60718293a" }]

[[package]]
name = "numpy"
version = "2.3.2"
source = { registry = "https://pypi.org/simple" }
resolution-markers = ["python_full_version >= '3.11'"]
wheels = [{ url = "https://files.example/numpy-2.3.2-cp312-cp312-manylinux_2_28_x86_64.whl", hash = "sha256:c412caa2d8a6d4e4b3a1e8e1a8f5c0ef5aa1b2d4f3e0a1b2c3d4e5f60718293a" }]
`

func TestSelectRequirementByForks(t *testing.T) {
	l, err := Parse("forks.lock", []byte(forkedRequirement))
	if err != nil {
		t.Fatal(err)
	}
	for python, want := range map[string]string{"3.10.14": "numpy==2.2.6", "3.12.8": "numpy==2.3.2"} {
		s := mustSelect(t, l, SelectOptions{Env: testEnv(t, python, "amd64")})
		if got := ids(s.ThirdParty); !slices.Equal(got, []string{want}) || len(s.Project) != 0 {
			t.Errorf("Python %s: project %v, third party %v, want %s", python, ids(s.Project), got, want)
		}
	}
	// Without fork markers both fit.
	ambiguous := forkedRequirement
	for _, m := range []string{"resolution-markers = [\"python_full_version >= '3.11'\"]\n", "resolution-markers = [\"python_full_version < '3.11'\"]\n"} {
		ambiguous = strings.Replace(ambiguous, m, "", 1)
	}
	l, err = Parse("forks.lock", []byte(ambiguous))
	if err != nil {
		t.Fatal(err)
	}
	selectErr(t, l, SelectOptions{Env: testEnv(t, "3.12.8", "amd64")}, "forks.lock", "[manifest].requirements", "numpy matches several")
}

// Conflicting dependency groups select different torch builds through
// group conflict markers.
const groupConflicts = `version = 1
revision = 3
requires-python = ">=3.12"
conflicts = [[
    { package = "app", group = "cpu" },
    { package = "app", group = "cu126" },
]]

[[package]]
name = "app"
version = "0.1.0"
source = { editable = "." }

[package.dev-dependencies]
cpu = [
    { name = "torch", version = "2.7.1+cpu", source = { registry = "https://download.pytorch.org/whl/cpu" }, marker = "extra == 'group-3-app-cpu'" },
]
cu126 = [
    { name = "torch", version = "2.7.1+cu126", source = { registry = "https://download.pytorch.org/whl/cu126" }, marker = "extra == 'group-3-app-cu126' and extra != 'group-3-app-cpu'" },
]

[[package]]
name = "torch"
version = "2.7.1+cpu"
source = { registry = "https://download.pytorch.org/whl/cpu" }
wheels = [{ url = "https://download.pytorch.org/whl/cpu/torch-2.7.1%2Bcpu-cp312-cp312-manylinux_2_28_x86_64.whl", hash = "sha256:d412caa2d8a6d4e4b3a1e8e1a8f5c0ef5aa1b2d4f3e0a1b2c3d4e5f60718293a" }]

[[package]]
name = "torch"
version = "2.7.1+cu126"
source = { registry = "https://download.pytorch.org/whl/cu126" }
wheels = [{ url = "https://download.pytorch.org/whl/cu126/torch-2.7.1%2Bcu126-cp312-cp312-manylinux_2_28_x86_64.whl", hash = "sha256:e412caa2d8a6d4e4b3a1e8e1a8f5c0ef5aa1b2d4f3e0a1b2c3d4e5f60718293a" }]
`

func TestSelectGroupConflicts(t *testing.T) {
	l, err := Parse("groups.lock", []byte(groupConflicts))
	if err != nil {
		t.Fatal(err)
	}
	env := testEnv(t, "3.12.8", "amd64")
	for group, want := range map[string][]string{"cpu": {"torch==2.7.1+cpu"}, "cu126": {"torch==2.7.1+cu126"}, "": nil} {
		opts := SelectOptions{Env: env}
		if group != "" {
			opts.Groups = []string{group}
		}
		s := mustSelect(t, l, opts)
		if got := ids(s.ThirdParty); !slices.Equal(got, want) {
			t.Errorf("group %q: third party %v, want %v", group, got, want)
		}
	}
	selectErr(t, l, SelectOptions{Env: env, Groups: []string{"cpu", "cu126"}},
		"groups.lock", "group cpu of app and group cu126 of app", "conflicting")
}

func TestSelectBadMarker(t *testing.T) {
	l, err := Parse("bad.lock", []byte(strings.Replace(minimal, `dependencies = [{ name = "six" }]`,
		`dependencies = [{ name = "six", marker = "sys_platform ~= 'linux' and" }]`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	selectErr(t, l, SelectOptions{Env: testEnv(t, "3.12.8", "arm64")}, "bad.lock", "package app 1.0", "dependency six", "sys_platform ~= 'linux' and")
}
