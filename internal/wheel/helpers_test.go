package wheel

import (
	"archive/zip"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kiln-build/kiln/internal/layer"
)

// member is one archive entry of a test wheel.
type member struct {
	name string
	mode fs.FileMode // 0 means 0644
	data string
}

// buildZip writes members in order, without any of the checks a real wheel
// builder would do, so that tests can make hostile archives.
func buildZip(t testing.TB, members []member) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range members {
		h := &zip.FileHeader{Name: m.name, Method: zip.Deflate}
		mode := m.mode
		if mode == 0 {
			mode = 0o644
		}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(m.data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// minimalWheel returns the members of a valid wheel for pkg-1.0 plus extra.
func minimalWheel(extra ...member) []member {
	return append([]member{
		{name: "pkg/__init__.py", data: "x = 1\n"},
		{name: "pkg-1.0.dist-info/METADATA", data: "Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n"},
		{name: "pkg-1.0.dist-info/WHEEL", data: "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
		{name: "pkg-1.0.dist-info/RECORD", data: ""},
	}, extra...)
}

const pkgWheel = "pkg-1.0-py3-none-any.whl"

var testVenv = Venv{Root: "/app/.venv", PythonMinor: "3.11", Interpreter: "/usr/bin/python3.11", KilnVersion: "0.1.0"}

// newVenvTree returns a tree holding the skeleton of v.
func newVenvTree(t testing.TB, v Venv) *layer.Tree {
	t.Helper()
	tree := layer.NewTree()
	if err := v.Create(tree, v.PythonMinor+".2"); err != nil {
		t.Fatal(err)
	}
	return tree
}

// snapshot is the tar serialisation of tree, to compare trees byte for byte.
func snapshot(t testing.TB, tree *layer.Tree) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := tree.Write(&buf, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func install(t testing.TB, tree *layer.Tree, v Venv, name string, zipData []byte, opts InstallOptions) (*Installed, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "wheel")
	if err := os.WriteFile(p, zipData, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return Install(tree, v, name, f, opts)
}

// content reads a regular entry, which for a wheel member reads the wheel
// file again.
func content(t testing.TB, e *layer.Entry) []byte {
	t.Helper()
	data, err := e.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return data
}
