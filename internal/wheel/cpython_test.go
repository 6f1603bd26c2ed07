package wheel

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/internal/layer"
)

// These tests run what Install produced with a real CPython on the host,
// and compare with a real pip, when they are available.

// hostPython returns a base interpreter (resolved, as a venv's home must be
// a real install) with its full and minor version.
func hostPython(t *testing.T) (exe, full, minor string) {
	t.Helper()
	for _, cand := range []string{"/usr/bin/python3", "/usr/local/bin/python3"} {
		real, err := filepath.EvalSymlinks(cand)
		if err != nil {
			continue
		}
		out, err := exec.Command(real, "-c", `import sys; print("%d.%d.%d" % sys.version_info[:3])`).Output()
		if err != nil {
			continue
		}
		full = strings.TrimSpace(string(out))
		minor = full[:strings.LastIndex(full, ".")]
		return real, full, minor
	}
	t.Skip("no CPython on this host")
	return "", "", ""
}

// materialize writes the entries of tree that lie under dir (an absolute
// host path, e.g. a t.TempDir) to disk.
func materialize(t *testing.T, tree *layer.Tree, dir string) {
	t.Helper()
	for _, e := range tree.Entries() {
		p := "/" + e.Path
		if !strings.HasPrefix(p, dir+"/") {
			continue
		}
		var err error
		switch e.Kind {
		case layer.Dir:
			err = os.MkdirAll(p, e.Mode)
		case layer.Regular:
			if err = os.WriteFile(p, content(t, e), e.Mode); err == nil {
				err = os.Chmod(p, e.Mode)
			}
		case layer.Symlink:
			err = os.Symlink(e.Target, p)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE=1"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

func TestVenvRunsUnderCPython(t *testing.T) {
	exe, full, minor := hostPython(t)
	data, err := os.ReadFile("testdata/" + demoWheel)
	if err != nil {
		t.Fatal(err)
	}
	// The second root has a space, so launchers go through the /bin/sh
	// trampoline.
	for _, sub := range []string{"venv", "my venv"} {
		t.Run(sub, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), sub)
			v := Venv{Root: root, PythonMinor: minor, Interpreter: exe, KilnVersion: "test"}
			tree := layer.NewTree()
			if err := v.Create(tree, full); err != nil {
				t.Fatal(err)
			}
			if _, err := install(t, tree, v, demoWheel, data, InstallOptions{Installer: "kiln", Requested: true}); err != nil {
				t.Fatal(err)
			}
			materialize(t, tree, filepath.Dir(root))

			for _, script := range []string{"demo", "demo-gui"} {
				if out := run(t, root+"/bin/"+script); out != "hello from demo\n" {
					t.Errorf("%s printed %q", script, out)
				}
			}
			if out := run(t, root+"/bin/demo-raw"); out != "raw script "+root+"/bin/python\n" {
				t.Errorf("demo-raw printed %q", out)
			}
			out := run(t, root+"/bin/python", "-c", `
import sys, importlib.metadata as m, demo_pkg
d = m.distribution("demo-pkg")
print(sys.prefix)
print(sys.base_prefix != sys.prefix)
print(d.version, d.read_text("INSTALLER"), len(d.files))
print(sorted(e.name for e in d.entry_points))
print(demo_pkg.__file__)
print(any("dist-packages" in p for p in sys.path))
`)
			want := root + "\nTrue\n1.0 kiln 13\n['demo', 'demo-gui']\n" + root + "/lib/python" + minor + "/site-packages/demo_pkg/__init__.py\nFalse\n"
			if out != want {
				t.Errorf("interpreter reports:\n%s\nwant:\n%s", out, want)
			}
			act := run(t, "/bin/sh", "-c", `. "$1/bin/activate" && echo "$VIRTUAL_ENV" && command -v python && deactivate && echo "${VIRTUAL_ENV-unset}" && echo "$PATH"`, "sh", root)
			if want := root + "\n" + root + "/bin/python\nunset\n/usr/bin:/bin\n"; act != want {
				t.Errorf("activate/deactivate:\n%s\nwant:\n%s", act, want)
			}
		})
	}
}

// Differential test: pip installing the same wheel into a venv at the same
// path must record the same files with the same content, apart from what
// is documented to differ (INSTALLER, the launcher template, direct_url.json).
func TestMatchesPip(t *testing.T) {
	if testing.Short() {
		t.Skip("runs pip")
	}
	exe, full, minor := hostPython(t)
	pip := exec.Command("python3", "-m", "pip", "--version")
	if pip.Run() != nil {
		t.Skip("no pip on this host")
	}
	demo, err := os.ReadFile("testdata/" + demoWheel)
	if err != nil {
		t.Fatal(err)
	}
	rich := richWheel(t)
	for name, data := range map[string][]byte{demoWheel: demo, "rich-2.0-3-py3-none-any.whl": rich} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			root := filepath.Join(dir, "venv")
			run(t, exe, "-m", "venv", "--without-pip", root)
			whl := filepath.Join(dir, name)
			if err := os.WriteFile(whl, data, 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("python3", "-m", "pip", "--python", root+"/bin/python", "install", "--no-compile", "--no-deps", "--no-index", "--disable-pip-version-check", "-q", whl)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("pip: %v\n%s", err, out)
			}
			f, _ := ParseFilename(name)
			distInfo := f.Name + "-" + f.Version + ".dist-info"
			sp := root + "/lib/python" + minor + "/site-packages/"
			pipRecord, err := os.ReadFile(sp + distInfo + "/RECORD")
			if err != nil {
				t.Fatal(err)
			}

			v := Venv{Root: root, PythonMinor: minor, Interpreter: exe}
			tree := layer.NewTree()
			if err := v.Create(tree, full); err != nil {
				t.Fatal(err)
			}
			got, err := install(t, tree, v, name, data, InstallOptions{Installer: "pip\n", Requested: true})
			if err != nil {
				t.Fatal(err)
			}
			ours, _ := tree.Get(treePath(sp) + distInfo + "/RECORD")

			launchers := map[string]bool{}
			for script := range got.EntryPoints {
				launchers["../../../bin/"+script] = true
			}
			keep := func(record []byte) []string {
				var rows []string
				for _, row := range strings.Split(strings.TrimSpace(strings.ReplaceAll(string(record), "\r\n", "\n")), "\n") {
					path, _, _ := strings.Cut(row, ",")
					if launchers[path] || strings.HasSuffix(path, "/direct_url.json") {
						path += ",(launcher or direct_url)"
						row = path
					}
					rows = append(rows, row)
				}
				sort.Strings(rows)
				return rows
			}
			pipRows, ourRows := keep(pipRecord), keep(content(t, ours))
			pipRows = removeRow(pipRows, distInfo+"/direct_url.json,(launcher or direct_url)")
			if strings.Join(pipRows, "\n") != strings.Join(ourRows, "\n") {
				t.Errorf("RECORD differs from pip's:\npip:\n%s\nkiln:\n%s", strings.Join(pipRows, "\n"), strings.Join(ourRows, "\n"))
			}
			// pip's files on disk are byte-identical to ours, launchers aside.
			for _, row := range ourRows {
				path, _, _ := strings.Cut(row, ",")
				if launchers[path] || strings.HasSuffix(row, "RECORD,,") {
					continue
				}
				onDisk, err := os.ReadFile(filepath.Join(sp, path))
				if err != nil {
					t.Errorf("pip did not install %s", path)
					continue
				}
				if e, _ := tree.Get(treePath(filepath.Join(sp, path))); e == nil || !bytes.Equal(content(t, e), onDisk) {
					t.Errorf("%s differs from pip's", path)
				}
			}
		})
	}
}

func removeRow(rows []string, row string) []string {
	var out []string
	for _, r := range rows {
		if r != row {
			out = append(out, r)
		}
	}
	return out
}

// richWheel exercises every .data key, nested packages, an executable
// file, a script without "#!python" and one with it.
func richWheel(t *testing.T) []byte {
	members := []member{
		{name: "rich/__init__.py", data: "from rich.sub import mod\n"},
		{name: "rich/sub/__init__.py", data: ""},
		{name: "rich/sub/mod.py", data: "X = 'x'\n"},
		{name: "rich/tool.sh", mode: 0o755, data: "#!/bin/sh\necho tool\n"},
		{name: "rich_helper.py", data: "print('helper')\n"},
		{name: "rich-2.0.data/purelib/rich_pure.py", data: "pure = True\n"},
		{name: "rich-2.0.data/platlib/rich_plat/__init__.py", data: "plat = True\n"},
		{name: "rich-2.0.data/headers/rich/api.h", data: "int rich(void);\n"},
		{name: "rich-2.0.data/data/share/man/man1/rich.1", data: ".TH RICH 1\n"},
		{name: "rich-2.0.data/scripts/rich-shell", data: "#!/bin/sh\necho shell\n"},
		{name: "rich-2.0.data/scripts/rich-py", data: "#!python\nimport rich\nprint(rich.mod.X)\n"},
		{name: "rich-2.0.dist-info/METADATA", data: "Metadata-Version: 2.1\nName: Rich\nVersion: 2.0\nSummary: test\n\nLong description.\n"},
		{name: "rich-2.0.dist-info/WHEEL", data: "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\nBuild: 3\nTag: py3-none-any\n"},
		{name: "rich-2.0.dist-info/entry_points.txt", data: "[console_scripts]\nrich = rich.sub.mod:main\n\n[gui_scripts]\nrich-gui = rich:sub.mod.main\n"},
	}
	var rows []RecordRow
	for _, m := range members {
		rows = append(rows, RowFor(m.name, []byte(m.data)))
	}
	rows = append(rows, RecordRow{Path: "rich-2.0.dist-info/RECORD"})
	members = append(members, member{name: "rich-2.0.dist-info/RECORD", data: string(FormatRecord(rows))})
	return buildZip(t, members)
}
