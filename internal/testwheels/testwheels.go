// Package testwheels builds the wheelhouse that kiln's end-to-end tests
// install from: real Flask, Werkzeug, Jinja2, MarkupSafe, itsdangerous,
// click, gunicorn and setuptools wheels repackaged from Debian bookworm's
// signed archive, plus kiln-demo-ext (a C extension compiled here for
// x86_64 and, with a cross compiler, aarch64) and kiln-dev-tool (a pure
// dev-only package). Wheels are byte-reproducible for the same Debian
// package versions and toolchain: entries sorted, timestamps 1980-01-01,
// modes 0644/0755.
//
// Tests call Wheelhouse, which builds once per recipe version into a
// shared cache guarded by a file lock; cmd/mkwheels calls Build.
package testwheels

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"testing"

	"github.com/kiln-build/kiln/internal/testcache"
)

// recipeVersion names the cache directory. Bump it whenever the recipe
// (debianDists, the metadata conversion, the wheel writer, compiler flags)
// changes; edits to the embedded fixtures change the directory anyway.
const recipeVersion = "1"

// SourcesFile is written next to the wheels and lists the .deb files they
// were made from.
const SourcesFile = "sources.txt"

var (
	once     sync.Once
	cacheDir string
	cacheErr error
)

// Wheelhouse returns a directory of *.whl files (and SourcesFile), building
// it on first use under $KILN_TEST_CACHE (default $HOME/.cache/kiln-test).
// Concurrent test binaries share one build: it holds an exclusive flock
// while building, builds into a temporary directory and renames it into
// place, so a partial wheelhouse is never seen. When a prerequisite (apt,
// gcc, the cross compiler, python3.11-dev, the Debian archive) is missing
// the test is skipped, unless CI=true, where it fails with the reason.
// The directory is shared: callers must not modify it.
func Wheelhouse(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		cacheDir, cacheErr = testcache.Ensure(testcache.Dir(), "wheels-"+recipeID(), func(_, out string) error {
			if err := os.Mkdir(out, 0o755); err != nil {
				return err
			}
			return Build(out)
		})
	})
	if cacheErr != nil {
		if isUnavailable(cacheErr) && os.Getenv("CI") != "true" {
			t.Skipf("testwheels: %v", cacheErr)
		}
		t.Fatalf("testwheels: %v", cacheErr)
	}
	return cacheDir
}

// recipeID is recipeVersion plus a digest of the embedded fixtures.
func recipeID() string {
	h := sha256.New()
	err := fs.WalkDir(fixtures, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			if e.Name() == "__pycache__" {
				return fs.SkipDir
			}
			return nil
		}
		data, err := fixtures.ReadFile(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", p, len(data))
		h.Write(data)
		return nil
	})
	if err != nil {
		// The embedded FS cannot fail to read; keep the ID stable anyway.
		return recipeVersion
	}
	return recipeVersion + "-" + hex.EncodeToString(h.Sum(nil))[:12]
}
