package debfixup

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kiln-build/kiln/internal/layer"
	"github.com/kiln-build/kiln/internal/testcache"
)

// testDebs are the bookworm packages the tests unpack: the ones whose
// scripts debfixup replicates, and a few small companions.
var testDebs = []string{
	"base-files", "base-passwd", "ca-certificates", "dash", "debianutils", "libc-bin",
	"libnginx-mod-http-echo", "libnginx-mod-http-ndk", "mawk", "nginx-common", "readline-common", "tzdata",
}

// need skips the test when a host tool is missing, unless CI=true.
func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			skipOrFail(t, "needs %s: %v", tool, err)
		}
	}
}

func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// debDir downloads testDebs once, with the host's apt configuration (a
// bookworm host), into the shared test cache.
func debDir(t *testing.T) string {
	t.Helper()
	need(t, "apt-get", "dpkg-deb", "tar")
	dir, err := testcache.Ensure(testcache.Dir(), "debfixup-debs-1", func(tmp, out string) error {
		if err := os.Mkdir(out, 0o755); err != nil {
			return err
		}
		cmd := exec.Command("apt-get", "download", "-q")
		cmd.Args = append(cmd.Args, testDebs...)
		cmd.Dir = out
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get download: %w: %s", err, b)
		}
		return nil
	})
	if err != nil {
		skipOrFail(t, "offline? %v", err)
	}
	return dir
}

// unpack extracts the named packages' data into a fresh merged-/usr root,
// as kiln's extractor lays them out (GNU tar keeps the /bin → usr/bin
// links), and returns the root.
func unpack(t *testing.T, pkgs ...string) string {
	t.Helper()
	dir := debDir(t)
	root := t.TempDir()
	for _, d := range []string{"bin", "sbin", "lib", "lib64"} {
		if err := os.MkdirAll(filepath.Join(root, "usr", d), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("usr/"+d, filepath.Join(root, d)); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range pkgs {
		debs, _ := filepath.Glob(filepath.Join(dir, p+"_*.deb"))
		if len(debs) != 1 {
			t.Fatalf("package %s: %d .debs in %s", p, len(debs), dir)
		}
		cmd := exec.Command("sh", "-c", `dpkg-deb --fsys-tarfile "$1" | tar -x --keep-directory-symlink --numeric-owner -p -C "$2"`, "sh", debs[0], root)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("unpacking %s: %v: %s", p, err, out)
		}
	}
	return root
}

// treeOf reads a root directory into a layer tree.
func treeOf(t *testing.T, root string) *layer.Tree {
	t.Helper()
	tr := layer.NewTree()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		r, _ := filepath.Rel(root, p)
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		e := layer.Entry{Path: filepath.ToSlash(r), Mode: info.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky),
			UID: int(st.Uid), GID: int(st.Gid)}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			e.Kind = layer.Symlink
			if e.Target, err = os.Readlink(p); err != nil {
				return err
			}
		case info.IsDir():
			e.Kind = layer.Dir
		case info.Mode().IsRegular():
			e.Kind = layer.Regular
			if e.Data, err = os.ReadFile(p); err != nil {
				return err
			}
		default:
			return nil
		}
		return tr.Add(e)
	})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// apply runs Apply and fails the test on an error.
func apply(t *testing.T, tree *layer.Tree, base Files, installed []string, opts Options) *Report {
	t.Helper()
	r, err := Apply(tree, base, installed, opts)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return r
}

func file(t *testing.T, tr *layer.Tree, p string) []byte {
	t.Helper()
	e, ok := tr.Get(p)
	if !ok || e.Kind != layer.Regular {
		t.Fatalf("%s: no regular file in the tree", p)
	}
	return e.Data
}

func link(t *testing.T, tr *layer.Tree, p string) string {
	t.Helper()
	e, ok := tr.Get(p)
	if !ok || e.Kind != layer.Symlink {
		t.Fatalf("%s: no symlink in the tree", p)
	}
	return e.Target
}

func entry(t *testing.T, tr *layer.Tree, p string) *layer.Entry {
	t.Helper()
	e, ok := tr.Get(p)
	if !ok {
		t.Fatalf("%s: not in the tree", p)
	}
	return e
}

func absent(t *testing.T, tr *layer.Tree, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, ok := tr.Get(p); ok {
			t.Errorf("%s was written", p)
		}
	}
}

func read(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var testEpoch = time.Unix(0, 0)

// tarOf renders the tree, to compare whole results.
func tarOf(t *testing.T, tr *layer.Tree) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := tr.Write(&b, testEpoch); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func hasLine(data []byte, line string) bool {
	for _, l := range strings.Split(string(data), "\n") {
		if l == line {
			return true
		}
	}
	return false
}
