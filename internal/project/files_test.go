package project

import (
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// copyTree copies a fixture into a temporary directory so that tests can add
// what cannot live in the repository (.git, .venv, symlinks).
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, name)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func addFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, name := range names {
		full := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func rels(files []File) []string {
	var out []string
	for _, f := range files {
		out = append(out, f.Rel)
	}
	return out
}

func TestFilesDockerignore(t *testing.T) {
	dir := copyTree(t, "testdata/dockerignore")
	addFiles(t, dir,
		".git/config", ".venv/lib/python3.12/site-packages/x.py", "venv/bin/activate",
		"__pycache__/x.cpython-312.pyc", "app/__pycache__/m.cpython-312.pyc", "app/old.pyc", "app/old.pyo",
		".env", ".env.production", "app/.env", "id_rsa", "id_rsa.pub", "keys/id_ed25519", "keys/id_ecdsa",
		"certs/server.pem", "certs/server.key", ".netrc", ".pypirc",
		".mypy_cache/x", ".pytest_cache/x", ".ruff_cache/x", ".tox/py312/x", "frontend/node_modules/x/index.js",
		"src/app.egg-info/PKG-INFO",
		"dist/app-1.0-py3-none-any.whl", // re-included by "!dist"
		"build/lib/app/x.py",            // "!**/*.py" does not name build: stays out
		"frontend/build/main.js",        // only the root build/ is a default
		"docs/x.py",                     // re-included by "!**/*.py"
	)
	p := load(t, dir)
	files, err := p.Files()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		".dockerignore",
		"README.md",
		"app/__init__.py",
		"app/sub/guide.md",
		"dist/app-1.0-py3-none-any.whl",
		"docs/public/index.html",
		"docs/x.py",
		"frontend/build/main.js",
		"notes/keep.txt",
		"pyproject.toml",
	}
	if got := rels(files); !reflect.DeepEqual(got, want) {
		t.Errorf("Files =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, f := range files {
		if f.Rel == "README.md" && (f.Size != 7 || !f.Mode.IsRegular()) {
			t.Errorf("README.md: size %d mode %v", f.Size, f.Mode)
		}
	}

	// Config.Exclude set after Load (a flag) applies too.
	if err := p.Config.Set("exclude", "frontend,!notes/keep.txt,notes"); err != nil {
		t.Fatal(err)
	}
	files, err = p.Files()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasPrefix(f.Rel, "frontend/") || strings.HasPrefix(f.Rel, "notes/") {
			t.Errorf("%s not excluded", f.Rel)
		}
	}
}

func TestFilesNoDockerignore(t *testing.T) {
	dir := copyTree(t, "testdata/flat")
	addFiles(t, dir, ".git/HEAD", "flat_app/__pycache__/web.cpython-312.pyc", "build/x", "dist/y", ".env")
	files, err := load(t, dir).Files()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"docs/index.md", "flat_app/__init__.py", "flat_app/web.py", "helpers.py", "pyproject.toml",
		"setup.py", "tests/__init__.py", "tests/test_web.py",
	}
	if got := rels(files); !reflect.DeepEqual(got, want) {
		t.Errorf("Files = %q, want %q", got, want)
	}
	if !sort.SliceIsSorted(files, func(i, j int) bool { return files[i].Rel < files[j].Rel }) {
		t.Error("Files not sorted")
	}
}

func TestFilesSymlinks(t *testing.T) {
	for _, tc := range []struct {
		name   string
		links  map[string]string // link -> target
		ignore string
		errs   []string // substrings; none means success
	}{
		{name: "inside", links: map[string]string{"current": "app.py", "sub/up": "../app.py", "dirlink": "sub"}},
		{name: "escape", links: map[string]string{"escape": "../outside"}, errs: []string{"symlink escape", "outside the project"}},
		{name: "deep escape", links: map[string]string{"sub/x": "../../etc/passwd"}, errs: []string{"symlink sub/x", "outside"}},
		{name: "absolute", links: map[string]string{"abs": "/etc/passwd"}, errs: []string{"symlink abs", "absolute"}},
		{name: "via link", links: map[string]string{"here": ".", "sub/b": "../here/.."}, errs: []string{"symlink sub/b", "outside"}},
		{name: "via absolute link", links: map[string]string{"sub/b": "../cfg/x"}, errs: []string{"symlink sub/b", "absolute symlink"}},
		{name: "loop", links: map[string]string{"l1": "l2/x", "l2": "l1/y"}, errs: []string{"levels of symlinks"}},
		{name: "excluded", links: map[string]string{"abs": "/etc/passwd"}, ignore: "abs\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyTree(t, "testdata/symlink-escape")
			if tc.name == "via absolute link" {
				// cfg itself is left out, so only the resolution of
				// sub/b reaches it.
				tc.ignore = "cfg\n"
				if err := os.Symlink("/etc", filepath.Join(dir, "cfg")); err != nil {
					t.Fatal(err)
				}
			}
			for link, target := range tc.links {
				if err := os.Symlink(target, filepath.Join(dir, filepath.FromSlash(link))); err != nil {
					t.Fatal(err)
				}
			}
			if tc.ignore != "" {
				addFiles(t, dir, ".dockerignore")
				if err := os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte(tc.ignore), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			files, err := load(t, dir).Files()
			if len(tc.errs) > 0 {
				if err == nil {
					t.Fatalf("Files succeeded: %q", rels(files))
				}
				for _, w := range append(tc.errs, dir) {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, f := range files {
				if f.Link != "" {
					if f.Mode&fs.ModeSymlink == 0 {
						t.Errorf("%s: mode %v has no symlink bit", f.Rel, f.Mode)
					}
					got[f.Rel] = f.Link
				}
			}
			want := tc.links
			if tc.ignore != "" {
				want = map[string]string{}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("links = %v, want %v", got, want)
			}
		})
	}
}

func TestExcluded(t *testing.T) {
	p := &Project{}
	ex := p.Excluded()
	for _, want := range []string{"**/.git", "**/.env", "**/.env.*", "**/id_rsa*", "dist", "build"} {
		found := false
		for _, e := range ex {
			found = found || e == want
		}
		if !found {
			t.Errorf("Excluded() lacks %q", want)
		}
	}
	ex[0] = "changed"
	if p.Excluded()[0] == "changed" {
		t.Error("Excluded returns shared state")
	}
}
