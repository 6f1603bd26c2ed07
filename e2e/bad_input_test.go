package e2e

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"log"
	"os"
	osexec "os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func run(name string, args ...string) { osexec.Command(name, args...).Run() }

func execOut(name string, args ...string) (string, error) {
	out, err := osexec.Command(name, args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func nopLogger() *log.Logger { return log.New(discard{}, "", 0) }

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// expectRefused runs a build that must fail with exit 2, a message
// containing every one of want, and no output written.
func (f *fixture) expectRefused(t *testing.T, want ...string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	r := f.kiln(t, nil, "build", f.dir, "--base", f.base, "--platform", "linux/amd64", "--output", "oci:"+out+":1")
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\nstderr:\n%s", r.code, r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("error does not mention %q:\n%s", w, r.stderr)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("output %s was written by a failed build", out)
	}
}

// privateWheelhouse gives the fixture its own copy of the wheels, served by
// its own index and locked, so that a test can tamper with them.
func (f *fixture) privateWheelhouse(t *testing.T) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "wheels")
	copyTree(t, f.wheels, dir)
	f.wheels = dir
	f.index.Close()
	f.index = startIndex(t, dir)
	f.writeLock(t)
}

func TestRefusesWheelWithParentEntry(t *testing.T) {
	f := newFixture(t)
	f.privateWheelhouse(t)
	name := "itsdangerous-2.1.2-py3-none-any.whl"
	f.tamperWheel(t, name, "../../../../etc/cron.d/evil", "* * * * * root sh\n")
	f.writeLock(t) // the lock is honest about the evil wheel's hash: the entry itself must be refused
	f.expectRefused(t, name, "..")
}

func TestRefusesHashMismatch(t *testing.T) {
	f := newFixture(t)
	f.privateWheelhouse(t)
	name := "itsdangerous-2.1.2-py3-none-any.whl"
	// The lock keeps the original hash; the index now serves other bytes.
	f.tamperWheel(t, name, "itsdangerous/backdoor.py", "import os\n")
	f.expectRefused(t, name, "mismatch")
}

func TestRefusesMissingWheel(t *testing.T) {
	f := newFixture(t)
	lockPath := filepath.Join(f.dir, "uv.lock")
	lock, err := os.ReadFile(lockPath)
	if err != nil {
		t.Fatal(err)
	}
	// Make kiln-demo-ext's wheels look like Windows-only ones.
	re := regexp.MustCompile(`kiln_demo_ext-1\.0\.0-cp311-cp311-manylinux_2_36_(x86_64|aarch64)\.whl`)
	changed := re.ReplaceAllString(string(lock), "kiln_demo_ext-1.0.0-cp311-cp311-win_amd64.whl")
	if changed == string(lock) {
		t.Fatal("the lock has no kiln-demo-ext wheel to rename")
	}
	if err := os.WriteFile(lockPath, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	f.expectRefused(t, "kiln-demo-ext", "1.0.0", "linux/amd64", "kiln_demo_ext-1.0.0-cp311-cp311-win_amd64.whl", "sdist")
}

// tamperWheel adds an entry to one wheel of the fixture's private wheelhouse.
func (f *fixture) tamperWheel(t *testing.T, wheel, entry, content string) {
	t.Helper()
	p := filepath.Join(f.wheels, wheel)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, addZipEntry(t, data, entry, content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func addZipEntry(t *testing.T, wheel []byte, name, content string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(wheel), int64(len(wheel)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		if err := zw.Copy(f); err != nil {
			t.Fatal(err)
		}
	}
	w, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(content))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRefusesPlatformTheBaseLacks(t *testing.T) {
	f := newFixture(t)
	r := f.kiln(t, nil, "build", f.dir, "--base", f.base, "--platform", "linux/s390x", "--plan")
	if r.code != 2 || !strings.Contains(r.stderr, "linux/s390x") || !strings.Contains(r.stderr, "linux/arm64") {
		t.Fatalf("exit %d, want 2 naming the platform asked for and those the base has:\n%s", r.code, r.stderr)
	}
}

func TestRefusesUnknownConfigKey(t *testing.T) {
	f := newFixture(t)
	replaceInFile(t, filepath.Join(f.dir, "pyproject.toml"), "port = 8000", "port = 8000\nhealth-path = \"/x\"")
	r := f.kiln(t, nil, "build", f.dir, "--base", f.base, "--plan")
	if r.code != 2 || !strings.Contains(r.stderr, "health-path") || !strings.Contains(r.stderr, "healthcheck") {
		t.Fatalf("exit %d, want 2 naming the unknown key and the known ones:\n%s", r.code, r.stderr)
	}
}

func TestRefusesInterpreterOutsideRequiresPython(t *testing.T) {
	f := newFixture(t)
	replaceInFile(t, filepath.Join(f.dir, "pyproject.toml"), `requires-python = ">=3.11"`, `requires-python = ">=3.12"`)
	r := f.kiln(t, nil, "build", f.dir, "--base", f.base, "--plan")
	if r.code != 2 || !strings.Contains(r.stderr, "3.11.2") || !strings.Contains(r.stderr, ">=3.12") || !strings.Contains(r.stderr, "/usr/bin/python3.11") {
		t.Fatalf("exit %d, want 2 naming the interpreter found and the requirement:\n%s", r.code, r.stderr)
	}
}
