package wheel

import (
	"io/fs"
	"testing"

	"github.com/kiln-build/kiln/internal/layer"
)

func TestVenvCreate(t *testing.T) {
	v := Venv{Root: "/app/.venv", PythonMinor: "3.11", Interpreter: "/usr/bin/python3.11", KilnVersion: "1.2.3"}
	tree := layer.NewTree()
	if err := v.Create(tree, "3.11.2"); err != nil {
		t.Fatal(err)
	}
	if got := v.SitePackages(); got != "/app/.venv/lib/python3.11/site-packages" {
		t.Errorf("SitePackages = %s", got)
	}
	type want struct {
		kind   layer.Kind
		mode   fs.FileMode
		target string
	}
	expect := map[string]want{
		"app":                                    {layer.Dir, 0o755, ""},
		"app/.venv":                              {layer.Dir, 0o755, ""},
		"app/.venv/bin":                          {layer.Dir, 0o755, ""},
		"app/.venv/bin/activate":                 {layer.Regular, 0o644, ""},
		"app/.venv/bin/python":                   {layer.Symlink, 0o777, "/usr/bin/python3.11"},
		"app/.venv/bin/python3":                  {layer.Symlink, 0o777, "python"},
		"app/.venv/bin/python3.11":               {layer.Symlink, 0o777, "python"},
		"app/.venv/lib":                          {layer.Dir, 0o755, ""},
		"app/.venv/lib/python3.11":               {layer.Dir, 0o755, ""},
		"app/.venv/lib/python3.11/site-packages": {layer.Dir, 0o755, ""},
		"app/.venv/lib64":                        {layer.Symlink, 0o777, "lib"},
		"app/.venv/pyvenv.cfg":                   {layer.Regular, 0o644, ""},
	}
	entries := tree.Entries()
	if len(entries) != len(expect) {
		t.Errorf("got %d entries, want %d", len(entries), len(expect))
	}
	for _, e := range entries {
		w, ok := expect[e.Path]
		if !ok {
			t.Errorf("unexpected %s", e.Path)
			continue
		}
		if e.Kind != w.kind || e.Mode != w.mode || e.Target != w.target || e.UID != 0 || e.GID != 0 {
			t.Errorf("%s = %+v, want %+v", e.Path, e, w)
		}
	}
	cfg, _ := tree.Get("app/.venv/pyvenv.cfg")
	wantCfg := "home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.11.2\nexecutable = /usr/bin/python3.11\nkiln = 1.2.3\n"
	if string(cfg.Data) != wantCfg {
		t.Errorf("pyvenv.cfg:\n%s\nwant:\n%s", cfg.Data, wantCfg)
	}
}

func TestVenvCreateRejects(t *testing.T) {
	good := Venv{Root: "/app/.venv", PythonMinor: "3.11", Interpreter: "/usr/bin/python3.11"}
	for name, tc := range map[string]struct {
		v    Venv
		full string
	}{
		"relative root":      {Venv{Root: "app/.venv", PythonMinor: "3.11", Interpreter: "/usr/bin/python3.11"}, "3.11.2"},
		"unclean root":       {Venv{Root: "/app/../.venv", PythonMinor: "3.11", Interpreter: "/usr/bin/python3.11"}, "3.11.2"},
		"slash root":         {Venv{Root: "/", PythonMinor: "3.11", Interpreter: "/usr/bin/python3.11"}, "3.11.2"},
		"newline root":       {Venv{Root: "/app\n/.venv", PythonMinor: "3.11", Interpreter: "/usr/bin/python3.11"}, "3.11.2"},
		"python 2":           {Venv{Root: "/app/.venv", PythonMinor: "2.7", Interpreter: "/usr/bin/python3.11"}, "2.7.18"},
		"bad minor":          {Venv{Root: "/app/.venv", PythonMinor: "3.x", Interpreter: "/usr/bin/python3.11"}, "3.x.1"},
		"relative exe":       {Venv{Root: "/app/.venv", PythonMinor: "3.11", Interpreter: "python3"}, "3.11.2"},
		"version mismatch":   {good, "3.12.1"},
		"minor only":         {good, "3.11"},
		"prefix not a minor": {good, "3.111.0"},
		"newline kiln":       {Venv{Root: "/app/.venv", PythonMinor: "3.11", Interpreter: "/usr/bin/python3.11", KilnVersion: "1\nhome = /evil"}, "3.11.2"},
	} {
		tree := layer.NewTree()
		if err := tc.v.Create(tree, tc.full); err == nil {
			t.Errorf("%s: Create succeeded", name)
		}
		if tree.Len() != 0 {
			t.Errorf("%s: tree changed", name)
		}
	}
}
