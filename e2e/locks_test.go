package e2e

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/internal/testindex"
	"github.com/kiln-build/kiln/internal/uvlock"
)

// exportLocks writes pylock.toml and a hashed requirements.txt for the
// fixture from its uv.lock, as `uv export` would (production set only, the
// project itself left out), pointing at indexURL.
func (f *fixture) exportLocks(t *testing.T, indexURL string) {
	t.Helper()
	l, err := uvlock.Load(filepath.Join(f.dir, "uv.lock"))
	if err != nil {
		t.Fatal(err)
	}
	root := map[string]bool{}
	for _, p := range l.Packages {
		if p.Source.Kind == "editable" || p.Source.Kind == "virtual" {
			root[p.Name] = true
		}
	}
	// The production closure: the root's dependencies, transitively.
	byName := map[string]*uvlock.Package{}
	for _, p := range l.Packages {
		byName[p.Name] = p
	}
	keep := map[string]bool{}
	var walk func(name string)
	walk = func(name string) {
		if keep[name] {
			return
		}
		keep[name] = true
		for _, d := range byName[name].Dependencies {
			walk(d.Name)
		}
	}
	for name := range root {
		for _, d := range byName[name].Dependencies {
			walk(d.Name)
		}
	}
	var pylock, reqs bytes.Buffer
	fmt.Fprintf(&pylock, "lock-version = \"1.0\"\ncreated-by = \"kiln-e2e\"\nrequires-python = %q\n", l.RequiresPython)
	fmt.Fprintf(&reqs, "# exported from uv.lock by kiln's tests\n--index-url %s\n\n", indexURL)
	for _, p := range l.Packages {
		if !keep[p.Name] {
			continue
		}
		fmt.Fprintf(&pylock, "\n[[packages]]\nname = %q\nversion = %q\nindex = %q\nwheels = [\n", p.Name, p.Version, indexURL)
		fmt.Fprintf(&reqs, "%s==%s", p.Name, p.Version)
		for _, w := range p.Wheels {
			hexsum := strings.TrimPrefix(w.Hash, "sha256:")
			fmt.Fprintf(&pylock, "    { name = %q, url = %q, size = %d, hashes = { sha256 = %q } },\n", w.Filename, w.URL, w.Size, hexsum)
			fmt.Fprintf(&reqs, " \\\n    --hash=sha256:%s", hexsum)
		}
		pylock.WriteString("]\n")
		reqs.WriteString("\n")
	}
	if err := os.WriteFile(filepath.Join(f.dir, "pylock.toml"), pylock.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.dir, "requirements.txt"), reqs.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestThreeLocksSameVenv: one service locked three ways installs the same
// set: the dependency layers (every file of site-packages, RECORDs
// included) are byte-identical.
func TestThreeLocksSameVenv(t *testing.T) {
	f := newFixture(t)
	f.exportLocks(t, f.index.URL())
	var deps []string
	for _, lock := range []string{"uv.lock", "pylock.toml", "requirements.txt"} {
		res := f.mustBuild(t, "--platform", "linux/amd64", "--lock", lock)
		d, _ := res.layer(t, "linux/amd64", "dependencies")
		deps = append(deps, d)
	}
	if deps[0] != deps[1] || deps[0] != deps[2] {
		t.Fatalf("dependency layers differ: uv.lock %s, pylock.toml %s, requirements.txt %s", deps[0], deps[1], deps[2])
	}
	// With no --lock, uv.lock wins; without it, pylock.toml; then requirements.txt.
	os.Remove(filepath.Join(f.dir, "uv.lock"))
	os.Remove(filepath.Join(f.dir, "pylock.toml"))
	res := f.mustBuild(t, "--platform", "linux/amd64")
	if d, _ := res.layer(t, "linux/amd64", "dependencies"); d != deps[0] {
		t.Errorf("the detected requirements.txt gave another dependency layer %s", d)
	}
	// Teams split their files: a dev file beside requirements.txt is never
	// read (its broken line proves it), and a prod file with a common file
	// wins over requirements.txt.
	dev := "-r requirements.txt\nkiln-dev-tool==1.0.0 --hash=sha256:" + strings.Repeat("0", 64) + "\nnot a requirement\n"
	if err := os.WriteFile(filepath.Join(f.dir, "requirements-dev.txt"), []byte(dev), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(f.dir, "requirements.txt"), filepath.Join(f.dir, "common.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.dir, "requirements-prod.txt"), []byte("-r common.txt\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res = f.mustBuild(t, "--platform", "linux/amd64")
	if d, _ := res.layer(t, "linux/amd64", "dependencies"); d != deps[0] {
		t.Errorf("requirements-prod.txt with common.txt gave another dependency layer %s", d)
	}
}

// TestPasswordIndex: an index that wants a password, credentials from
// ~/.netrc; the password is in no layer, no config, no output.
func TestPasswordIndex(t *testing.T) {
	const user, password = "kiln-ci", "s3cret-Pa55-never-in-an-image"
	f := newFixture(t)
	f.index.Close()
	f.index = testindex.Start(t, f.wheels, testindex.WithBasicAuth(user, password))
	f.writeLock(t)
	f.exportLocks(t, f.index.URL())
	os.Remove(filepath.Join(f.dir, "uv.lock"))
	os.Remove(filepath.Join(f.dir, "pylock.toml"))

	netrc := filepath.Join(t.TempDir(), "netrc")
	host := strings.TrimPrefix(strings.TrimSuffix(f.index.URL(), "/simple"), "http://")
	host = host[:strings.Index(host, ":")]
	if err := os.WriteFile(netrc, []byte(fmt.Sprintf("machine %s\nlogin %s\npassword %s\n", host, user, password)), 0o600); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	// Without credentials the index refuses.
	r := f.kiln(t, []string{"NETRC=" + filepath.Join(t.TempDir(), "none")}, "build", f.dir, "--base", f.base, "--platform", "linux/amd64", "--output", "oci:"+out+":1")
	if r.code != 2 || strings.Contains(r.stderr+r.stdout, password) {
		t.Fatalf("without credentials: exit %d\n%s", r.code, r.stderr)
	}
	r = f.kiln(t, []string{"NETRC=" + netrc}, "build", f.dir, "--base", f.base, "--platform", "linux/amd64", "--json", "--output", "oci:"+out+":1")
	if r.code != 0 {
		t.Fatalf("with ~/.netrc: exit %d\n%s", r.code, r.stderr)
	}
	plan := f.kiln(t, []string{"NETRC=" + netrc}, "build", f.dir, "--base", f.base, "--platform", "linux/amd64", "--plan", "--json")
	for what, text := range map[string]string{"stdout": r.stdout + plan.stdout, "stderr": r.stderr + plan.stderr} {
		if strings.Contains(text, password) {
			t.Errorf("the password is in kiln's %s", what)
		}
	}
	err := filepath.Walk(out, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(data, []byte(password)) || bytes.Contains(gunzipped(data), []byte(password)) {
			t.Errorf("the password is in %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRequirementsErrors: every bad requirements file is exit 2 naming the
// file and line.
func TestRequirementsErrors(t *testing.T) {
	f := newFixture(t)
	f.exportLocks(t, f.index.URL())
	os.Remove(filepath.Join(f.dir, "uv.lock"))
	os.Remove(filepath.Join(f.dir, "pylock.toml"))
	good, _ := os.ReadFile(filepath.Join(f.dir, "requirements.txt"))
	for name, tc := range map[string]struct{ extra, want string }{
		"unhashed":        {"six==1.16.0\n", "requirements.txt:"},
		"unpinned range":  {"six>=1.16 --hash=sha256:" + strings.Repeat("a", 64) + "\n", "requirements.txt:"},
		"unknown option":  {"--frobnicate yes\n", "requirements.txt:"},
		"missing include": {"-r does-not-exist.txt\n", "does-not-exist.txt"},
	} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(f.dir, "requirements.txt"), append(append([]byte{}, good...), tc.extra...), 0o644); err != nil {
				t.Fatal(err)
			}
			r := f.kiln(t, nil, "build", f.dir, "--base", f.base, "--platform", "linux/amd64", "--plan")
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d, want 2 naming %q:\n%s", r.code, tc.want, r.stderr)
			}
		})
	}
}

// gunzipped returns the decompressed content of a gzip blob, or nil.
func gunzipped(data []byte) []byte {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil
	}
	out, _ := io.ReadAll(zr)
	return out
}

// TestFindLinksOffline: with the index gone, a wheelhouse directory serves
// every lock format.
func TestFindLinksOffline(t *testing.T) {
	f := newFixture(t)
	f.exportLocks(t, f.index.URL())
	f.index.Close()
	// requirements.txt without an index: the wheelhouse is where the wheels are.
	reqs, _ := os.ReadFile(filepath.Join(f.dir, "requirements.txt"))
	reqs = []byte(strings.Replace(string(reqs), "--index-url "+f.index.URL(), "", 1))
	if err := os.WriteFile(filepath.Join(f.dir, "requirements.txt"), reqs, 0o644); err != nil {
		t.Fatal(err)
	}
	var deps []string
	for _, lock := range []string{"uv.lock", "requirements.txt"} {
		res := f.mustBuild(t, "--platform", "linux/amd64", "--lock", lock, "--find-links", f.wheels)
		d, _ := res.layer(t, "linux/amd64", "dependencies")
		deps = append(deps, d)
	}
	if deps[0] != deps[1] {
		t.Errorf("offline builds differ: %v", deps)
	}
}
