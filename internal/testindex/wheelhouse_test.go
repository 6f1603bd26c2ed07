package testindex

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/kiln-build/kiln/internal/testwheels"
)

// The real wheelhouse behind the real index, locked for the flask-service
// example: every URL in the lock downloads bytes with the recorded hash and
// size, and the graph is the one Flask and gunicorn declare.
func TestFlaskServiceLockAgainstWheelhouse(t *testing.T) {
	wheels := testwheels.Wheelhouse(t)
	srv := Start(t, wheels)
	root, err := ReadRootSpec("../../examples/flask-service")
	if err != nil {
		t.Fatal(err)
	}
	project := t.TempDir()
	if err := WriteUVLock(project, srv.URL(), wheels, root); err != nil {
		t.Fatal(err)
	}
	lock := readLock(t, filepath.Join(project, "uv.lock"))

	deps := map[string][]string{}
	wheelCount := map[string]int{}
	var dev []string
	for _, p := range lock.Package {
		deps[p.Name] = edgeNames(p.Dependencies)
		wheelCount[p.Name] = len(p.Wheels)
		if p.Name == "flask-service" {
			if p.Source["editable"] != "." {
				t.Errorf("root source %v", p.Source)
			}
			dev = edgeNames(p.DevDependencies["dev"])
			continue
		}
		if p.Source["registry"] != srv.URL() {
			t.Errorf("%s: source %v", p.Name, p.Source)
		}
		for _, w := range p.Wheels {
			resp, err := http.Get(w.URL)
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("%s: %d %v", w.URL, resp.StatusCode, err)
			}
			sum := sha256.Sum256(data)
			if w.Hash != "sha256:"+hex.EncodeToString(sum[:]) || w.Size != int64(len(data)) {
				t.Errorf("%s: lock says %s %d, served %x %d", w.URL, w.Hash, w.Size, sum, len(data))
			}
		}
	}
	wantDeps := map[string][]string{
		"click":         nil,
		"flask":         {"click", "itsdangerous", "jinja2", "werkzeug"},
		"flask-service": {"flask", "gunicorn", "kiln-demo-ext"},
		"gunicorn":      {"setuptools"},
		"itsdangerous":  nil,
		"jinja2":        {"markupsafe"},
		"kiln-demo-ext": nil,
		"kiln-dev-tool": nil,
		"markupsafe":    nil,
		"setuptools":    nil,
		"werkzeug":      {"markupsafe"},
	}
	if !reflect.DeepEqual(deps, wantDeps) {
		t.Errorf("dependency graph\n got %v\nwant %v", deps, wantDeps)
	}
	if !reflect.DeepEqual(dev, []string{"kiln-dev-tool"}) {
		t.Errorf("dev group %q", dev)
	}
	if wheelCount["markupsafe"] != 2 || wheelCount["kiln-demo-ext"] != 2 || wheelCount["flask"] != 1 {
		t.Errorf("wheels per package %v", wheelCount)
	}
	downloaded := srv.Downloads()
	sort.Strings(downloaded)
	if len(downloaded) != 12 {
		t.Errorf("downloaded %d files: %q", len(downloaded), downloaded)
	}
}
