package wheel

import (
	"bytes"
	"io/fs"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/internal/layer"
)

const demoWheel = "demo_pkg-1.0-py3-none-any.whl"

// demoSHA256 is the sha256 of testdata/demo_pkg-1.0-py3-none-any.whl
// (python-packaging.md §9.4).
const demoSHA256 = "f88a2fc8d28c23777aae55bfb6ff607100e0cf9a302ac08bfd0301fb4cc9e2b9"

// The demo wheel installed into /opt/demo-venv must give what pip gave in
// python-packaging.md §4.6, except for the parts kiln does as uv does: the
// INSTALLER content, uv's launcher template, and no .pyc.
func TestInstallDemoMatchesPip(t *testing.T) {
	data, err := os.ReadFile("testdata/" + demoWheel)
	if err != nil {
		t.Fatal(err)
	}
	v := Venv{Root: "/opt/demo-venv", PythonMinor: "3.12", Interpreter: "/opt/cpython-3.12.1/bin/python3.12"}
	tree := layer.NewTree()
	if err := v.Create(tree, "3.12.1"); err != nil {
		t.Fatal(err)
	}
	const url = "file://testvectors/demo_pkg-1.0-py3-none-any.whl"
	got, err := install(t, tree, v, demoWheel, data, InstallOptions{Installer: "kiln", DirectURL: url, Requested: true})
	if err != nil {
		t.Fatal(err)
	}

	// Expected rows: pip's, with the documented differences substituted.
	pipRecord, err := os.ReadFile("testdata/pip_record_demo.txt")
	if err != nil {
		t.Fatal(err)
	}
	launcher, err := Launcher(v.Root, "demo_pkg.cli:main")
	if err != nil {
		t.Fatal(err)
	}
	directURL := `{"archive_info": {"hash": "sha256=` + demoSHA256 + `", "hashes": {"sha256": "` + demoSHA256 + `"}}, "url": "` + url + `"}`
	var want []string
	for _, line := range strings.Split(strings.TrimSpace(string(pipRecord)), "\n") {
		path, _, _ := strings.Cut(line, ",")
		switch {
		case strings.HasSuffix(path, ".pyc"):
			continue
		case path == "demo_pkg-1.0.dist-info/INSTALLER":
			line = path + "," + RecordHash([]byte("kiln")) + ",4"
		case path == "../../../bin/demo" || path == "../../../bin/demo-gui":
			line = path + "," + RecordHash(launcher) + "," + itoa(len(launcher))
		case path == "demo_pkg-1.0.dist-info/direct_url.json":
			line = path + "," + RecordHash([]byte(directURL)) + "," + itoa(len(directURL))
		}
		want = append(want, line)
	}
	sort.Strings(want)

	sp := "opt/demo-venv/lib/python3.12/site-packages/"
	record, ok := tree.Get(sp + "demo_pkg-1.0.dist-info/RECORD")
	if !ok {
		t.Fatal("no RECORD")
	}
	if gotRecord := string(content(t, record)); gotRecord != strings.Join(want, "\n")+"\n" {
		t.Errorf("RECORD:\n%s\nwant:\n%s", gotRecord, strings.Join(want, "\n")+"\n")
	}

	// Every RECORD row is a file in the tree with that content; files
	// outside RECORD are the venv skeleton only.
	inRecord := map[string]bool{}
	for _, row := range want {
		path, rest, _ := strings.Cut(row, ",")
		treeP := sp + path
		if p, ok := strings.CutPrefix(path, "../../../"); ok {
			treeP = "opt/demo-venv/" + p
		}
		inRecord[treeP] = true
		e, ok := tree.Get(treeP)
		if !ok {
			t.Errorf("%s: in RECORD, not in tree", treeP)
			continue
		}
		if rest != "," && RecordHash(content(t, e))+","+itoa(len(content(t, e))) != rest {
			t.Errorf("%s: content does not match its RECORD row", treeP)
		}
		wantMode := fs.FileMode(0o644)
		if strings.HasPrefix(path, "../../../bin/") {
			wantMode = 0o755
		}
		if e.Kind != layer.Regular || e.Mode != wantMode || e.UID != 0 || e.GID != 0 {
			t.Errorf("%s: kind %d mode %v owner %d:%d", treeP, e.Kind, e.Mode, e.UID, e.GID)
		}
	}
	skeleton := map[string]bool{
		"opt": true, "opt/demo-venv": true, "opt/demo-venv/bin": true, "opt/demo-venv/bin/activate": true,
		"opt/demo-venv/bin/python": true, "opt/demo-venv/bin/python3": true, "opt/demo-venv/bin/python3.12": true,
		"opt/demo-venv/lib": true, "opt/demo-venv/lib/python3.12": true, "opt/demo-venv/lib/python3.12/site-packages": true,
		"opt/demo-venv/lib64": true, "opt/demo-venv/pyvenv.cfg": true,
	}
	for _, e := range tree.Entries() {
		if !inRecord[e.Path] && !skeleton[e.Path] && e.Kind != layer.Dir {
			t.Errorf("%s: in tree, not in RECORD", e.Path)
		}
	}

	raw, _ := tree.Get("opt/demo-venv/bin/demo-raw")
	if want := "#!/opt/demo-venv/bin/python\nimport sys\nprint('raw script', sys.executable)\n"; raw == nil || string(content(t, raw)) != want {
		t.Errorf("demo-raw = %q", content(t, raw))
	}
	if du, _ := tree.Get(sp + "demo_pkg-1.0.dist-info/direct_url.json"); du == nil || string(content(t, du)) != directURL {
		t.Errorf("direct_url.json = %q, want %q", content(t, du), directURL)
	}

	wantInstalled := &Installed{
		Name: "demo-pkg", Version: "1.0", Files: len(want), TopLevel: []string{"demo_pkg"},
		EntryPoints: map[string]string{"demo": "demo_pkg.cli:main", "demo-gui": "demo_pkg.cli:main"},
	}
	if !reflect.DeepEqual(got, wantInstalled) {
		t.Errorf("Installed = %+v, want %+v", got, wantInstalled)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestInstallOptionsOff(t *testing.T) {
	metadata := "Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n"
	wheel := "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
	tree := newVenvTree(t, testVenv)
	got, err := install(t, tree, testVenv, pkgWheel, buildZip(t, minimalWheel(
		// Installer files shipped inside a wheel are not the installer's.
		member{name: "pkg-1.0.dist-info/INSTALLER", data: "evil\n"},
		member{name: "pkg-1.0.dist-info/REQUESTED", data: ""},
	)), InstallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sp := "app/.venv/lib/python3.11/site-packages/"
	for _, name := range []string{"INSTALLER", "REQUESTED", "direct_url.json"} {
		if _, ok := tree.Get(sp + "pkg-1.0.dist-info/" + name); ok {
			t.Errorf("%s written without being asked for", name)
		}
	}
	record, _ := tree.Get(sp + "pkg-1.0.dist-info/RECORD")
	want := "pkg-1.0.dist-info/METADATA," + RecordHash([]byte(metadata)) + "," + itoa(len(metadata)) + "\n" +
		"pkg-1.0.dist-info/RECORD,,\n" +
		"pkg-1.0.dist-info/WHEEL," + RecordHash([]byte(wheel)) + "," + itoa(len(wheel)) + "\n" +
		"pkg/__init__.py," + RecordHash([]byte("x = 1\n")) + ",6\n"
	if record == nil || string(content(t, record)) != want {
		t.Errorf("RECORD = %q\nwant %q", content(t, record), want)
	}
	if got.Files != 4 || len(got.EntryPoints) != 0 {
		t.Errorf("Installed = %+v", got)
	}
}

func TestInstallLayout(t *testing.T) {
	w := buildZip(t, minimalWheel(
		member{name: "pkg/bin/tool", mode: 0o700, data: "\x7fELF"},
		member{name: "pkg/setuid", mode: fs.ModeSetuid | 0o4755, data: "s"},
		member{name: "pkg/", mode: fs.ModeDir | 0o755},
		member{name: "pkg/alias.py", mode: fs.ModeSymlink | 0o777, data: "__init__.py"},
		member{name: "pkg/abs", mode: fs.ModeSymlink | 0o777, data: "/app/.venv/bin/python"},
		member{name: "_pkg_native.cpython-311-x86_64-linux-gnu.so", data: "so"},
		member{name: "pkg_util.py", data: ""},
		member{name: "pkg.pth", data: "import pkg\n"},
		member{name: "pkg.libs/libz.so.1", data: "z"},
		member{name: "other-2.0.data/thing", data: "not ours"},
		member{name: "pkg-1.0.data/purelib/pure_mod.py", data: "p"},
		member{name: "pkg-1.0.data/platlib/plat_mod/__init__.py", data: "q"},
		member{name: "pkg-1.0.data/headers/sub/h.h", data: "h"},
		member{name: "pkg-1.0.data/data/etc/pkg.conf", data: "c"},
		member{name: "pkg-1.0.data/data/bin/activate", data: "# replaced, as pip would\n"},
		member{name: "pkg-1.0.data/scripts/binary", data: "\x00\x01"},
		member{name: "pkg-1.0.data/scripts/gui", data: "#!pythonw -u\nprint(1)\n"},
		member{name: "pkg-1.0.data/scripts/tool.exe", data: "skipped: tool is an entry point"},
		member{name: "pkg-1.0.dist-info/entry_points.txt", data: "# comment\n[console_scripts]\ntool = pkg.cli:main [extra1, extra2]\npip3 = pip._internal:main\npip3.9 = pip._internal:main\n\n[gui_scripts]\ngtool=pkg.gui:App.run\n\n[other.group]\nanything goes = here\n"},
	))
	tree := newVenvTree(t, testVenv)
	got, err := install(t, tree, testVenv, pkgWheel, w, InstallOptions{Installer: "kiln"})
	if err != nil {
		t.Fatal(err)
	}
	root, sp := "app/.venv/", "app/.venv/lib/python3.11/site-packages/"
	for p, want := range map[string]struct {
		kind   layer.Kind
		mode   fs.FileMode
		data   string
		target string
	}{
		sp + "pkg/bin/tool":                          {layer.Regular, 0o755, "\x7fELF", ""},
		sp + "pkg/setuid":                            {layer.Regular, 0o755, "s", ""},
		sp + "pkg/alias.py":                          {layer.Symlink, 0o777, "", "__init__.py"},
		sp + "pkg/abs":                               {layer.Symlink, 0o777, "", "/app/.venv/bin/python"},
		sp + "other-2.0.data/thing":                  {layer.Regular, 0o644, "not ours", ""},
		sp + "pure_mod.py":                           {layer.Regular, 0o644, "p", ""},
		sp + "plat_mod/__init__.py":                  {layer.Regular, 0o644, "q", ""},
		root + "include/site/python3.11/pkg/sub/h.h": {layer.Regular, 0o644, "h", ""},
		root + "etc/pkg.conf":                        {layer.Regular, 0o644, "c", ""},
		root + "bin/activate":                        {layer.Regular, 0o644, "# replaced, as pip would\n", ""},
		root + "bin/binary":                          {layer.Regular, 0o755, "\x00\x01", ""},
		root + "bin/gui":                             {layer.Regular, 0o755, "#!/app/.venv/bin/python -u\nprint(1)\n", ""},
	} {
		e, ok := tree.Get(p)
		if !ok {
			t.Errorf("%s missing", p)
			continue
		}
		if e.Kind != want.kind || e.Mode != want.mode || string(content(t, e)) != want.data || e.Target != want.target {
			t.Errorf("%s = kind %d mode %v data %q target %q; want %+v", p, e.Kind, e.Mode, content(t, e), e.Target, want)
		}
	}
	for _, p := range []string{sp + "pkg-1.0.data", root + "bin/tool.exe", root + "bin/pip3.9"} {
		if _, ok := tree.Get(p); ok {
			t.Errorf("%s should not be installed", p)
		}
	}
	for name, spec := range map[string]string{"tool": "pkg.cli:main", "gtool": "pkg.gui:App.run", "pip3": "pip._internal:main", "pip3.11": "pip._internal:main"} {
		e, ok := tree.Get(root + "bin/" + name)
		want, err := Launcher("/app/.venv", spec)
		if err != nil {
			t.Fatal(err)
		}
		if !ok || !bytes.Equal(content(t, e), want) || e.Mode != 0o755 {
			t.Errorf("launcher %s = %v", name, e)
		}
	}
	gtool, _ := tree.Get(root + "bin/gtool")
	if !bytes.Contains(content(t, gtool), []byte("from pkg.gui import App\n")) || !bytes.Contains(content(t, gtool), []byte("sys.exit(App.run())\n")) {
		t.Errorf("gtool launcher:\n%s", content(t, gtool))
	}
	wantTop := []string{"_pkg_native", "pkg", "pkg_util", "plat_mod", "pure_mod"}
	if !reflect.DeepEqual(got.TopLevel, wantTop) {
		t.Errorf("TopLevel = %v, want %v", got.TopLevel, wantTop)
	}
	record, _ := tree.Get(sp + "pkg-1.0.dist-info/RECORD")
	for _, row := range []string{
		"../../../bin/gui," + RecordHash([]byte("#!/app/.venv/bin/python -u\nprint(1)\n")) + ",36\n",
		"../../../include/site/python3.11/pkg/sub/h.h,",
		"../../../etc/pkg.conf,",
		"pkg/alias.py," + RecordHash([]byte("__init__.py")) + ",11\n",
	} {
		if !bytes.Contains(content(t, record), []byte(row)) {
			t.Errorf("RECORD lacks %q:\n%s", row, content(t, record))
		}
	}
}

func TestInstallIsDeterministic(t *testing.T) {
	data, err := os.ReadFile("testdata/" + demoWheel)
	if err != nil {
		t.Fatal(err)
	}
	var first []byte
	for i := 0; i < 3; i++ {
		tree := newVenvTree(t, testVenv)
		if _, err := install(t, tree, testVenv, demoWheel, data, InstallOptions{Installer: "kiln", Requested: true}); err != nil {
			t.Fatal(err)
		}
		s := snapshot(t, tree)
		if first == nil {
			first = s
		} else if !bytes.Equal(first, s) {
			t.Fatal("two installs of the same wheel differ")
		}
	}
}

func TestInstallLongRootUsesTrampoline(t *testing.T) {
	v := Venv{Root: "/" + strings.Repeat("x", 120), PythonMinor: "3.11", Interpreter: "/usr/bin/python3.11"}
	tree := newVenvTree(t, v)
	w := buildZip(t, minimalWheel(member{name: "pkg-1.0.data/scripts/run", data: "#!python\nprint(1)\n"}))
	if _, err := install(t, tree, v, pkgWheel, w, InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	e, _ := tree.Get(strings.Repeat("x", 120) + "/bin/run")
	want := "#!/bin/sh\n'''exec' '" + v.Root + "/bin/python' \"$0\" \"$@\"\n' '''\nprint(1)\n"
	if e == nil || string(content(t, e)) != want {
		t.Errorf("run = %q, want %q", content(t, e), want)
	}
}

func TestInstallVersionLocalSegment(t *testing.T) {
	meta := func(v string) member {
		return member{name: "pkg-1.0.dist-info/METADATA", data: "Name: PKG\nVersion: " + v + "\n"}
	}
	for _, tc := range []struct {
		file, meta string
		ok         bool
	}{
		{"pkg-1.0+cpu-py3-none-any.whl", "1.0", true},
		{"pkg-1.0+cpu-py3-none-any.whl", "1.0+cpu", true},
		{"pkg-1.0-py3-none-any.whl", "1.0.0", true},
		{"pkg-1.0-py3-none-any.whl", "1.0+cpu", false},
		{"pkg-1.0-py3-none-any.whl", "1.1", false},
		{"pkg-1.0-py3-none-any.whl", "garbage", false},
	} {
		members := minimalWheel()
		members[1] = meta(tc.meta)
		_, err := install(t, newVenvTree(t, testVenv), testVenv, tc.file, buildZip(t, members), InstallOptions{})
		if (err == nil) != tc.ok {
			t.Errorf("%s with METADATA %s: err = %v", tc.file, tc.meta, err)
		}
	}
}

// Each hostile or broken wheel is refused with an error naming the wheel
// and the entry, and the tree is left exactly as it was.
func TestInstallRefuses(t *testing.T) {
	link := fs.ModeSymlink | 0o777
	for _, tc := range []struct {
		name    string
		members []member
		want    []string // substrings of the error besides the wheel name
	}{
		{"dotdot", minimalWheel(member{name: "../evil", data: "x"}), []string{`"../evil"`, ".."}},
		{"nested dotdot", minimalWheel(member{name: "pkg/../../evil", data: "x"}), []string{`"pkg/../../evil"`}},
		{"absolute", minimalWheel(member{name: "/etc/passwd", data: "x"}), []string{`"/etc/passwd"`, "absolute"}},
		{"backslash", minimalWheel(member{name: `..\evil`, data: "x"}), []string{`..\\evil`}},
		{"symlink out", minimalWheel(member{name: "link", mode: link, data: "../../../../etc"}), []string{"entry link", "leaves the venv"}},
		{"deep symlink out", minimalWheel(member{name: "pkg/a/b", mode: link, data: "../../../../../../../etc/shadow"}), []string{"entry pkg/a/b", "leaves the venv"}},
		{"absolute symlink", minimalWheel(member{name: "pkg/passwd", mode: link, data: "/etc/passwd"}), []string{"entry pkg/passwd", "leaves the venv"}},
		{"absolute symlink via ..", minimalWheel(member{name: "pkg/x", mode: link, data: "/app/.venv/../../etc"}), []string{"entry pkg/x", "leaves the venv"}},
		{"symlink through symlink", minimalWheel(
			member{name: "a", mode: link, data: "../../../bin"},
			member{name: "b", mode: link, data: "a/../../../../z"},
		), []string{"entry b", "through another symlink"}},
		{"symlink script", minimalWheel(member{name: "pkg-1.0.data/scripts/s", mode: link, data: "../x"}), []string{"entry pkg-1.0.data/scripts/s"}},
		{"duplicate", minimalWheel(member{name: "pkg/__init__.py", data: "again"}), []string{"entry pkg/__init__.py", "duplicate"}},
		{"duplicate after cleaning", minimalWheel(member{name: "pkg//__init__.py", data: "again"}), []string{"entry pkg//__init__.py", "duplicate"}},
		{"same destination", minimalWheel(member{name: "pkg-1.0.data/purelib/pkg/__init__.py", data: "again"}), []string{"entry pkg-1.0.data/purelib/pkg/__init__.py", "already written by pkg/__init__.py"}},
		{"fifo", minimalWheel(member{name: "pkg/fifo", mode: fs.ModeNamedPipe | 0o644}), []string{"entry pkg/fifo", "fifo"}},
		{"device", minimalWheel(member{name: "pkg/dev", mode: fs.ModeDevice | fs.ModeCharDevice | 0o644}), []string{"entry pkg/dev", "device"}},
		{"wheel version 2", []member{
			{name: "pkg-1.0.dist-info/METADATA", data: "Name: pkg\nVersion: 1.0\n"},
			{name: "pkg-1.0.dist-info/WHEEL", data: "Wheel-Version: 2.0\nRoot-Is-Purelib: true\n"},
			{name: "pkg-1.0.dist-info/RECORD"},
		}, []string{"entry pkg-1.0.dist-info/WHEEL", "Wheel-Version 2.0"}},
		{"no wheel version", []member{
			{name: "pkg-1.0.dist-info/METADATA", data: "Name: pkg\nVersion: 1.0\n"},
			{name: "pkg-1.0.dist-info/WHEEL", data: "Root-Is-Purelib: true\n"},
			{name: "pkg-1.0.dist-info/RECORD"},
		}, []string{"entry pkg-1.0.dist-info/WHEEL", "no Wheel-Version"}},
		{"name mismatch", []member{
			{name: "pkg-1.0.dist-info/METADATA", data: "Name: other\nVersion: 1.0\n"},
			{name: "pkg-1.0.dist-info/WHEEL", data: "Wheel-Version: 1.0\n"},
			{name: "pkg-1.0.dist-info/RECORD"},
		}, []string{"entry pkg-1.0.dist-info/METADATA", `name "other" does not match`}},
		{"version mismatch", []member{
			{name: "pkg-1.0.dist-info/METADATA", data: "Name: pkg\nVersion: 6.6.6\n"},
			{name: "pkg-1.0.dist-info/WHEEL", data: "Wheel-Version: 1.0\n"},
			{name: "pkg-1.0.dist-info/RECORD"},
		}, []string{"entry pkg-1.0.dist-info/METADATA", `version "6.6.6" does not match`}},
		{"no dist-info", []member{{name: "pkg/__init__.py"}}, []string{"no .dist-info"}},
		{"two dist-infos", minimalWheel(member{name: "other-1.0.dist-info/METADATA"}), []string{"2 .dist-info directories: other-1.0.dist-info, pkg-1.0.dist-info"}},
		{"foreign dist-info", []member{
			{name: "other-1.0.dist-info/METADATA", data: "Name: pkg\nVersion: 1.0\n"},
			{name: "other-1.0.dist-info/WHEEL", data: "Wheel-Version: 1.0\n"},
		}, []string{"entry other-1.0.dist-info/", "does not belong to pkg"}},
		{"no METADATA", []member{{name: "pkg-1.0.dist-info/WHEEL", data: "Wheel-Version: 1.0\n"}, {name: "pkg-1.0.dist-info/RECORD"}}, []string{"entry pkg-1.0.dist-info/METADATA", "missing"}},
		{"no RECORD", minimalWheel()[:3], []string{"entry pkg-1.0.dist-info/RECORD", "missing"}},
		{"symlinked METADATA", []member{
			{name: "pkg-1.0.dist-info/WHEEL", data: "Wheel-Version: 1.0\n"},
			{name: "pkg-1.0.dist-info/METADATA", mode: link, data: "/etc/passwd"},
		}, []string{"entry pkg-1.0.dist-info/METADATA", "symlink"}},
		{"unknown data key", minimalWheel(member{name: "pkg-1.0.data/lib/x", data: "x"}), []string{"entry pkg-1.0.data/lib/x", `unknown wheel data directory "lib"`}},
		{"file directly in data", minimalWheel(member{name: "pkg-1.0.data/x", data: "x"}), []string{"entry pkg-1.0.data/x"}},
		{"script subdirectory", minimalWheel(member{name: "pkg-1.0.data/scripts/sub/x", data: "x"}), []string{"entry pkg-1.0.data/scripts/sub/x", "subdirectories"}},
		{"replaces pyvenv.cfg", minimalWheel(member{name: "pkg-1.0.data/data/pyvenv.cfg", data: "home = /evil\n"}), []string{"entry pkg-1.0.data/data/pyvenv.cfg", "pyvenv.cfg"}},
		{"replaces bin/python", minimalWheel(member{name: "pkg-1.0.data/data/bin/python", data: "evil"}), []string{"entry pkg-1.0.data/data/bin/python", "symlink"}},
		{"writes through lib64", minimalWheel(member{name: "pkg-1.0.data/data/lib64/x", data: "x"}), []string{"entry pkg-1.0.data/data/lib64/x", "not a directory"}},
		{"file under file", minimalWheel(member{name: "pkg/__init__.py/x", data: "x"}), []string{"entry pkg/__init__.py/x"}},
		{"reserved script", minimalWheel(member{name: "pkg-1.0.dist-info/entry_points.txt", data: "[console_scripts]\npython3.11 = pkg:main\n"}), []string{"entry pkg-1.0.dist-info/entry_points.txt", "reserved"}},
		{"script path", minimalWheel(member{name: "pkg-1.0.dist-info/entry_points.txt", data: "[console_scripts]\n../x = pkg:main\n"}), []string{"entry pkg-1.0.dist-info/entry_points.txt", "not a file name"}},
		{"code in entry point", minimalWheel(member{name: "pkg-1.0.dist-info/entry_points.txt", data: "[gui_scripts]\nx = os:system('rm -rf /')\n"}), []string{"entry pkg-1.0.dist-info/entry_points.txt", "identifiers"}},
		{"entry point without attr", minimalWheel(member{name: "pkg-1.0.dist-info/entry_points.txt", data: "[console_scripts]\nx = pkg\n"}), []string{"entry pkg-1.0.dist-info/entry_points.txt", "module:attribute"}},
		{"duplicate entry point", minimalWheel(member{name: "pkg-1.0.dist-info/entry_points.txt", data: "[console_scripts]\nx = a:b\nx = a:c\n"}), []string{"entry pkg-1.0.dist-info/entry_points.txt", "twice"}},
		{"colon delimiter", minimalWheel(member{name: "pkg-1.0.dist-info/entry_points.txt", data: "[console_scripts]\nx: a:b\n"}), []string{"entry pkg-1.0.dist-info/entry_points.txt"}},
		{"launcher over data file", minimalWheel(
			member{name: "pkg-1.0.dist-info/entry_points.txt", data: "[console_scripts]\nx = a:b\n"},
			member{name: "pkg-1.0.data/data/bin/x", data: "x"},
		), []string{"entry pkg-1.0.dist-info/entry_points.txt", "installs to /app/.venv/bin/x, already written by pkg-1.0.data/data/bin/x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tree := newVenvTree(t, testVenv)
			before := snapshot(t, tree)
			_, err := install(t, tree, testVenv, pkgWheel, buildZip(t, tc.members), InstallOptions{Installer: "kiln", Requested: true})
			if err == nil {
				t.Fatal("installed")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "wheel "+pkgWheel+": ") {
				t.Errorf("error %q does not start with the wheel name", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			if !bytes.Equal(before, snapshot(t, tree)) {
				t.Error("tree changed")
			}
		})
	}
}

func TestInstallRefusesBadInputs(t *testing.T) {
	good := buildZip(t, minimalWheel())
	tree := newVenvTree(t, testVenv)
	before := snapshot(t, tree)
	for name, call := range map[string]func() error{
		"not a zip": func() error {
			_, err := install(t, tree, testVenv, pkgWheel, []byte("PK\x03\x04 not really"), InstallOptions{})
			return err
		},
		"bad file name": func() error {
			_, err := install(t, tree, testVenv, "pkg.zip", good, InstallOptions{})
			return err
		},
		"bad venv": func() error {
			_, err := install(t, tree, Venv{Root: "relative", PythonMinor: "3.11", Interpreter: "/usr/bin/python3"}, pkgWheel, good, InstallOptions{})
			return err
		},
		"truncated": func() error {
			_, err := install(t, tree, testVenv, pkgWheel, good[:len(good)-10], InstallOptions{})
			return err
		},
	} {
		err := call()
		if err == nil {
			t.Errorf("%s: installed", name)
			continue
		}
		if !strings.Contains(err.Error(), "pkg") {
			t.Errorf("%s: error %q does not name the wheel", name, err)
		}
	}
	if !bytes.Equal(before, snapshot(t, tree)) {
		t.Error("tree changed")
	}
}

func TestInstallOverwritesEarlierWheelsFiles(t *testing.T) {
	// Two distributions shipping the same file is legal (pip overwrites);
	// the later install wins.
	tree := newVenvTree(t, testVenv)
	if _, err := install(t, tree, testVenv, pkgWheel, buildZip(t, minimalWheel(member{name: "shared/__init__.py", data: "a"})), InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	other := []member{
		{name: "shared/__init__.py", data: "b"},
		{name: "other-2.0.dist-info/METADATA", data: "Name: other\nVersion: 2.0\n"},
		{name: "other-2.0.dist-info/WHEEL", data: "Wheel-Version: 1.0\n"},
		{name: "other-2.0.dist-info/RECORD"},
	}
	if _, err := install(t, tree, testVenv, "other-2.0-py3-none-any.whl", buildZip(t, other), InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	e, _ := tree.Get("app/.venv/lib/python3.11/site-packages/shared/__init__.py")
	if e == nil || string(content(t, e)) != "b" {
		t.Errorf("shared/__init__.py = %v", e)
	}
}

func FuzzInstall(f *testing.F) {
	demo, err := os.ReadFile("testdata/" + demoWheel)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(demo)
	f.Add(buildZip(f, minimalWheel(member{name: "link", mode: fs.ModeSymlink | 0o777, data: "pkg/__init__.py"})))
	f.Add(buildZip(f, minimalWheel(member{name: "../evil", data: "x"})))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, name := range []string{demoWheel, pkgWheel} {
			tree := newVenvTree(t, testVenv)
			got, err := install(t, tree, testVenv, name, data, InstallOptions{Installer: "kiln", DirectURL: "https://x/y.whl", Requested: true})
			if err == nil && (got == nil || got.Files == 0) {
				t.Fatalf("Install succeeded with %+v", got)
			}
		}
	})
}

// FuzzInstallMembers reaches past the zip layer: the fuzzer picks entry
// names, modes and contents of an otherwise valid wheel.
func FuzzInstallMembers(f *testing.F) {
	f.Add("pkg/x.py", uint32(0o644), "x", "pkg-1.0.data/scripts/s", uint32(0o755), "#!python\n", "[console_scripts]\na = b:c\n")
	f.Add("link", uint32(fs.ModeSymlink|0o777), "../../../bin", "b", uint32(fs.ModeSymlink|0o777), "link/../x", "")
	f.Add("pkg-1.0.data/headers/a.h", uint32(0o600), "", "pkg-1.0.data/data/share/x", uint32(0o644), "", "[gui_scripts]\nx=a.b:c.d [e]\n")
	f.Fuzz(func(t *testing.T, n1 string, m1 uint32, d1 string, n2 string, m2 uint32, d2 string, eps string) {
		members := minimalWheel(
			member{name: n1, mode: fs.FileMode(m1), data: d1},
			member{name: n2, mode: fs.FileMode(m2), data: d2},
			member{name: "pkg-1.0.dist-info/entry_points.txt", data: eps},
		)
		tree := newVenvTree(t, testVenv)
		before := snapshot(t, tree)
		got, err := install(t, tree, testVenv, pkgWheel, buildZip(t, members), InstallOptions{Installer: "kiln"})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "wheel "+pkgWheel+": ") {
				t.Fatalf("error %q does not name the wheel", err)
			}
			if !bytes.Equal(before, snapshot(t, tree)) {
				t.Fatal("failed install changed the tree")
			}
			return
		}
		for _, e := range tree.Entries() {
			if !strings.HasPrefix(e.Path, "app/.venv") && e.Path != "app" {
				t.Fatalf("installed outside the venv: %s", e.Path)
			}
		}
		if got.Files < 4 {
			t.Fatalf("Installed = %+v", got)
		}
	})
}
