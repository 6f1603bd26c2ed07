package debfixup

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/internal/layer"
)

func TestTzdata(t *testing.T) {
	root := unpack(t, "tzdata")
	for _, tz := range []string{"", "Europe/Berlin"} {
		tree := treeOf(t, root)
		apply(t, tree, nil, []string{"tzdata"}, Options{Timezone: tz})
		want := tz
		if want == "" {
			want = "Etc/UTC"
		}
		if l := link(t, tree, "etc/localtime"); l != "/usr/share/zoneinfo/"+want {
			t.Errorf("/etc/localtime -> %s", l)
		}
		if got := string(file(t, tree, "etc/timezone")); got != want+"\n" {
			t.Errorf("/etc/timezone = %q", got)
		}
	}
	for _, bad := range []string{"Mars/Olympus_Mons", "../../etc/passwd", "/etc/passwd", "Europe//Berlin", "Europe"} {
		if _, err := Apply(treeOf(t, root), nil, []string{"tzdata"}, Options{Timezone: bad}); err == nil {
			t.Errorf("time zone %q: no error", bad)
		}
	}
}

func TestTemplatesToEtc(t *testing.T) {
	root := unpack(t, "libc-bin", "readline-common")
	tree := treeOf(t, root)
	r := apply(t, tree, nil, []string{"libc-bin", "readline-common"}, Options{})
	if !bytes.Equal(file(t, tree, "etc/nsswitch.conf"), read(t, root+"/usr/share/libc-bin/nsswitch.conf")) {
		t.Errorf("/etc/nsswitch.conf is not libc-bin's template")
	}
	if !bytes.Equal(file(t, tree, "etc/inputrc"), read(t, root+"/usr/share/readline/inputrc")) {
		t.Errorf("/etc/inputrc is not readline-common's template")
	}
	if len(r.Applied) != 2 {
		t.Errorf("Applied = %q", r.Applied)
	}
	// libc-bin ships the C.UTF-8 locale itself.
	entry(t, tree, "usr/lib/locale/C.utf8/LC_CTYPE")

	// A base's own files are kept.
	base := layer.NewTree()
	base.AddFile("etc/nsswitch.conf", 0o644, []byte("hosts: files\n"))
	base.AddFile("etc/inputrc", 0o644, []byte("set bell-style none\n"))
	tree = treeOf(t, root)
	apply(t, tree, TreeFiles(base), []string{"libc-bin", "readline-common"}, Options{})
	absent(t, tree, "etc/nsswitch.conf", "etc/inputrc")
}

// /etc/shells and the state file are what debianutils' own update-shells
// writes on a merged-/usr root with dash.
func TestShellsMatchesUpdateShells(t *testing.T) {
	need(t, "sh", "dpkg-realpath")
	root := unpack(t, "debianutils", "dash")
	tree := treeOf(t, root)
	apply(t, tree, nil, []string{"debianutils", "dash", "usr-is-merged"}, Options{})

	// The postinst copies the template, then runs update-shells.
	for _, d := range []string{"etc", "var/lib"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(root+"/etc/shells", read(t, root+"/usr/share/debianutils/shells"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", root+"/usr/sbin/update-shells", "--root", root)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("update-shells: %v\n%s", err, out)
	}
	for _, p := range []string{"etc/shells", "var/lib/shells.state"} {
		if got, want := file(t, tree, p), read(t, filepath.Join(root, p)); !bytes.Equal(got, want) {
			t.Errorf("%s:\n%s\nupdate-shells wrote:\n%s", p, got, want)
		}
	}
	if !hasLine(file(t, tree, "etc/shells"), "/usr/bin/dash") {
		t.Errorf("no /usr/bin/dash in /etc/shells")
	}
}

// A shell added on a base keeps the base's local changes: an added shell
// stays, a packaged one the admin removed stays removed.
func TestShellsTrigger(t *testing.T) {
	base := layer.NewTree()
	base.AddFile("usr/share/debianutils/shells", 0o644, []byte("# /etc/shells: valid login shells\n/bin/sh\n"))
	base.AddFile("etc/shells", 0o644, []byte("# /etc/shells: valid login shells\n/bin/sh\n/opt/fish\n"))
	base.AddFile("var/lib/shells.state", 0o644, []byte("/bin/sh\n/usr/bin/sh\n"))
	base.AddSymlink("bin", "usr/bin")
	tree := layer.NewTree()
	tree.AddFile("usr/share/debianutils/shells.d/bash", 0o644, []byte("/bin/bash\n# restricted\n/bin/rbash\n"))
	apply(t, tree, TreeFiles(base), []string{"debianutils", "bash"}, Options{})
	want := "# /etc/shells: valid login shells\n/bin/sh\n/opt/fish\n/bin/bash\n/usr/bin/bash\n/bin/rbash\n/usr/bin/rbash\n"
	if got := string(file(t, tree, "etc/shells")); got != want {
		t.Errorf("/etc/shells:\n%s\nwant:\n%s", got, want)
	}
}

func TestAlternatives(t *testing.T) {
	root := unpack(t, "mawk", "debianutils")
	tree := treeOf(t, root)
	r := apply(t, tree, nil, []string{"mawk", "debianutils"}, Options{})
	for l, want := range map[string]string{
		"usr/bin/awk":                   "/etc/alternatives/awk",
		"etc/alternatives/awk":          "/usr/bin/mawk",
		"usr/bin/nawk":                  "/etc/alternatives/nawk",
		"etc/alternatives/nawk":         "/usr/bin/mawk",
		"usr/share/man/man1/awk.1.gz":   "/etc/alternatives/awk.1.gz",
		"etc/alternatives/awk.1.gz":     "/usr/share/man/man1/mawk.1.gz",
		"usr/bin/which":                 "/etc/alternatives/which",
		"etc/alternatives/which":        "/usr/bin/which.debianutils",
		"etc/alternatives/which.1.gz":   "/usr/share/man/man1/which.debianutils.1.gz",
		"etc/alternatives/which.de1.gz": "/usr/share/man/de/man1/which.debianutils.1.gz",
	} {
		if got := link(t, tree, l); got != want {
			t.Errorf("%s -> %s, want %s", l, got, want)
		}
	}
	// The admin file is update-alternatives' own (as on a Debian host).
	const awkAdmin = "auto\n/usr/bin/awk\nawk.1.gz\n/usr/share/man/man1/awk.1.gz\nnawk\n/usr/bin/nawk\nnawk.1.gz\n/usr/share/man/man1/nawk.1.gz\n\n" +
		"/usr/bin/mawk\n5\n/usr/share/man/man1/mawk.1.gz\n/usr/bin/mawk\n/usr/share/man/man1/mawk.1.gz\n\n"
	if got := string(file(t, tree, "var/lib/dpkg/alternatives/awk")); got != awkAdmin {
		t.Errorf("alternatives/awk:\n%s", got)
	}
	if !strings.Contains(strings.Join(r.Applied, " "), "awk -> /usr/bin/mawk") {
		t.Errorf("Applied = %q", r.Applied)
	}

	// gawk installed over that base wins by priority; the admin file keeps both.
	gawk := layer.NewTree()
	gawk.AddFile("usr/bin/gawk", 0o755, []byte("ELF"))
	apply(t, gawk, TreeFiles(tree), []string{"mawk", "gawk", "debianutils"}, Options{})
	if got := link(t, gawk, "etc/alternatives/awk"); got != "/usr/bin/gawk" {
		t.Errorf("awk -> %s after gawk", got)
	}
	absent(t, gawk, "etc/alternatives/awk.1.gz", "usr/bin/which") // gawk's man page is not there; which is untouched
	g, err := parseAltAdmin(file(t, gawk, "var/lib/dpkg/alternatives/awk"))
	if err != nil || len(g.choices) != 2 || g.best().path != "/usr/bin/gawk" {
		t.Errorf("admin after gawk: %+v, %v", g, err)
	}

	// A group the admin set to manual keeps its links.
	manual := layer.NewTree()
	manual.AddFile("var/lib/dpkg/alternatives/awk", 0o644, []byte(strings.Replace(awkAdmin, "auto", "manual", 1)))
	manual.AddFile("usr/bin/mawk", 0o755, []byte("ELF"))
	g2 := layer.NewTree()
	g2.AddFile("usr/bin/gawk", 0o755, []byte("ELF"))
	apply(t, g2, TreeFiles(manual), []string{"mawk", "gawk"}, Options{})
	absent(t, g2, "etc/alternatives/awk", "usr/bin/awk")
	if got := string(file(t, g2, "var/lib/dpkg/alternatives/awk")); !strings.HasPrefix(got, "manual\n") || !strings.Contains(got, "/usr/bin/gawk\n10\n") {
		t.Errorf("manual admin:\n%s", got)
	}
}

func TestAlternativesRmt(t *testing.T) {
	tree := layer.NewTree()
	tree.AddFile("usr/sbin/rmt-tar", 0o755, []byte("ELF"))
	tree.AddSymlink("etc/rmt", "/usr/sbin/rmt")
	apply(t, tree, nil, []string{"tar"}, Options{})
	if got := link(t, tree, "usr/sbin/rmt"); got != "/etc/alternatives/rmt" {
		t.Errorf("rmt -> %s", got)
	}
	if got := link(t, tree, "etc/alternatives/rmt"); got != "/usr/sbin/rmt-tar" {
		t.Errorf("alternatives/rmt -> %s", got)
	}
	// Not installed: nothing, even with the file present.
	other := layer.NewTree()
	other.AddFile("usr/sbin/rmt-tar", 0o755, []byte("ELF"))
	apply(t, other, nil, []string{"cpio"}, Options{})
	absent(t, other, "usr/sbin/rmt")
}

func TestParseAltAdminErrors(t *testing.T) {
	for _, bad := range []string{"", "sometimes\n/usr/bin/x\n\n\n", "auto\nrel\n\n\n", "auto\n/usr/bin/x\nslave\n", "auto\n/usr/bin/x\n\n/usr/bin/y\nhigh\n\n", "auto\n/usr/bin/x\ns\n/s\n\n/usr/bin/y\n1\n"} {
		if _, err := parseAltAdmin([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// FuzzParseAltAdmin checks that parsing never panics and that what parses
// renders back to something that parses the same.
func FuzzParseAltAdmin(f *testing.F) {
	f.Add("auto\n/usr/bin/awk\nnawk\n/usr/bin/nawk\n\n/usr/bin/mawk\n5\n/usr/bin/mawk\n\n")
	f.Add("manual\n/usr/bin/x\n\n\n")
	f.Fuzz(func(t *testing.T, s string) {
		g, err := parseAltAdmin([]byte(s))
		if err != nil {
			return
		}
		g2, err := parseAltAdmin(g.admin())
		if err != nil {
			t.Fatalf("rendered admin file does not parse: %v\n%q", err, g.admin())
		}
		if !bytes.Equal(g.admin(), g2.admin()) {
			t.Fatalf("round trip differs:\n%q\n%q", g.admin(), g2.admin())
		}
	})
}

func TestBaseFiles(t *testing.T) {
	root := unpack(t, "base-files", "base-passwd")
	tree := treeOf(t, root)
	apply(t, tree, nil, []string{"base-files", "base-passwd"}, Options{})
	for p, want := range map[string]string{
		"var/run": "/run", "var/lock": "/run/lock", "var/spool/mail": "../mail",
		"usr/local/man": "share/man", "etc/dpkg/origins/default": "debian",
	} {
		if got := link(t, tree, p); got != want {
			t.Errorf("%s -> %s, want %s", p, got, want)
		}
	}
	for p, want := range map[string]struct {
		mode     fs.FileMode
		uid, gid int
	}{
		"run/lock":           {fs.ModeSticky | 0o777, 0, 0},
		"tmp":                {fs.ModeSticky | 0o777, 0, 0},
		"var/mail":           {fs.ModeSetgid | 0o775, 0, 8},
		"var/local":          {fs.ModeSetgid | 0o775, 0, 50},
		"var/log/wtmp":       {0o664, 0, 43},
		"var/log/btmp":       {0o660, 0, 43},
		"var/log/lastlog":    {0o664, 0, 43},
		"usr/local/bin":      {0o755, 0, 0},
		"usr/local/share":    {0o755, 0, 0},
		"usr/local/etc":      {0o755, 0, 0},
		"usr/local/src":      {0o755, 0, 0},
		"srv":                {0o755, 0, 0},
		"media":              {0o755, 0, 0},
		"etc/profile":        {0o644, 0, 0},
		"usr/share/info/dir": {0o644, 0, 0},
	} {
		e := entry(t, tree, p)
		if e.Mode != want.mode || e.UID != want.uid || e.GID != want.gid {
			t.Errorf("%s: %v %d:%d, want %v %d:%d", p, e.Mode, e.UID, e.GID, want.mode, want.uid, want.gid)
		}
	}
	for dst, src := range map[string]string{
		"etc/profile": "profile", "etc/motd": "motd", "root/.profile": "dot.profile", "root/.bashrc": "dot.bashrc",
	} {
		if !bytes.Equal(file(t, tree, dst), read(t, root+"/usr/share/base-files/"+src)) {
			t.Errorf("/%s is not base-files' %s", dst, src)
		}
	}
	if e := entry(t, tree, "root"); e.Mode != 0o700 {
		t.Errorf("/root mode %v", e.Mode)
	}
}

func TestNginx(t *testing.T) {
	root := unpack(t, "base-passwd", "nginx-common", "libnginx-mod-http-echo", "libnginx-mod-http-ndk")
	tree := treeOf(t, root)
	installed := []string{"base-passwd", "nginx-common", "nginx", "libnginx-mod-http-echo", "libnginx-mod-http-ndk"}
	apply(t, tree, nil, installed, Options{})
	for p, want := range map[string]string{
		"etc/nginx/sites-enabled/default":                 "/etc/nginx/sites-available/default",
		"etc/nginx/modules-enabled/10-mod-http-ndk.conf":  "/usr/share/nginx/modules-available/mod-http-ndk.conf",
		"etc/nginx/modules-enabled/50-mod-http-echo.conf": "/usr/share/nginx/modules-available/mod-http-echo.conf",
	} {
		if got := link(t, tree, p); got != want {
			t.Errorf("%s -> %s, want %s", p, got, want)
		}
	}
	for p, want := range map[string]struct {
		mode     fs.FileMode
		uid, gid int
	}{
		"var/log/nginx":                        {0o755, 0, 4},
		"var/log/nginx/access.log":             {0o640, 33, 4},
		"var/log/nginx/error.log":              {0o640, 33, 4},
		"var/lib/nginx/body":                   {0o700, 33, 0},
		"var/lib/nginx/proxy":                  {0o700, 33, 0},
		"var/www/html/index.nginx-debian.html": {0o644, 0, 0},
	} {
		e := entry(t, tree, p)
		if e.Mode != want.mode || e.UID != want.uid || e.GID != want.gid {
			t.Errorf("%s: %v %d:%d, want %v %d:%d", p, e.Mode, e.UID, e.GID, want.mode, want.uid, want.gid)
		}
	}
	if !bytes.Equal(file(t, tree, "var/www/html/index.nginx-debian.html"), read(t, root+"/usr/share/nginx/html/index.html")) {
		t.Errorf("index.nginx-debian.html is not nginx-common's index.html")
	}
}

// Packages added to a base that has the Debian system already: only their
// own effects land in the new layer.
func TestOnlyNewPackagesEffects(t *testing.T) {
	baseRoot := unpack(t, "base-files", "base-passwd", "ca-certificates", "debianutils", "dash", "libc-bin", "mawk", "tzdata")
	baseInstalled := []string{"base-files", "base-passwd", "ca-certificates", "dash", "debianutils", "libc-bin", "mawk", "tzdata", "usr-is-merged"}
	base := treeOf(t, baseRoot)
	apply(t, base, nil, baseInstalled, Options{})

	tree := treeOf(t, unpack(t, "nginx-common", "libnginx-mod-http-echo"))
	before := map[string]bool{}
	for _, e := range tree.Entries() {
		before[e.Path] = true
	}
	r := apply(t, tree, TreeFiles(base), append(baseInstalled, "nginx-common", "libnginx-mod-http-echo"), Options{})
	var added []string
	for _, e := range tree.Entries() {
		if !before[e.Path] {
			added = append(added, e.Path)
		}
	}
	want := []string{
		"etc/nginx/modules-enabled/50-mod-http-echo.conf", "etc/nginx/sites-enabled/default",
		"var/lib/nginx/body", "var/lib/nginx/fastcgi", "var/lib/nginx/proxy", "var/lib/nginx/scgi", "var/lib/nginx/uwsgi",
		"var/log/nginx/access.log", "var/log/nginx/error.log",
		"var/www", "var/www/html", "var/www/html/index.nginx-debian.html",
	}
	if !reflect.DeepEqual(added, want) {
		t.Errorf("added %q\nwant %q", added, want)
	}
	if len(r.Applied) != 1 {
		t.Errorf("Applied = %q", r.Applied)
	}
}

func TestPython(t *testing.T) {
	tree := layer.NewTree()
	tree.AddFile("usr/bin/python3.11", 0o755, []byte("ELF"))
	tree.AddFile("usr/share/python3/runtime.d/public_modules.rtinstall", 0o755, []byte("#!/bin/sh\n"))
	tree.AddFile("usr/bin/python3.12", 0o755, []byte("ELF")) // shipped, but its package is not installed
	apply(t, tree, nil, []string{"python3.11-minimal", "python3"}, Options{})
	for _, d := range []string{"usr/local/lib/python3.11", "usr/local/lib/python3.11/dist-packages"} {
		if e := entry(t, tree, d); e.Kind != layer.Dir || e.Mode != 0o755 {
			t.Errorf("%s: %+v", d, e)
		}
	}
	if e := entry(t, tree, "var/lib/python/python3.11_installed"); e.Kind != layer.Regular || len(e.Data) != 0 {
		t.Errorf("marker: %+v", e)
	}
	if got := string(file(t, tree, "etc/python3/debian_config")); got != "[DEFAULT]\nbyte-compile = standard\n" {
		t.Errorf("debian_config = %q", got)
	}
	absent(t, tree, "usr/local/lib/python3.12")

	// With /etc/staff-group-for-usr-local the directories are root:staff 2755.
	base := layer.NewTree()
	base.AddFile("etc/staff-group-for-usr-local", 0o644, nil)
	base.AddFile("etc/group", 0o644, []byte("root:x:0:\nstaff:x:50:\n"))
	tree = layer.NewTree()
	tree.AddFile("usr/bin/python3.11", 0o755, []byte("ELF"))
	apply(t, tree, TreeFiles(base), []string{"python3.11-minimal"}, Options{})
	if e := entry(t, tree, "usr/local/lib/python3.11/dist-packages"); e.Mode != fs.ModeSetgid|0o755 || e.GID != 50 {
		t.Errorf("dist-packages with staff: %v gid %d", e.Mode, e.GID)
	}
}

// A Python base assembled from packages gets every effect, identically on
// every run.
func TestWholeBaseDeterministic(t *testing.T) {
	pkgs := []string{"base-files", "base-passwd", "ca-certificates", "dash", "debianutils", "libc-bin", "mawk", "readline-common", "tzdata"}
	root := unpack(t, pkgs...)
	installed := append(pkgs, "usr-is-merged")
	var first []byte
	for i := 0; i < 2; i++ {
		tree := treeOf(t, root)
		r := apply(t, tree, nil, installed, Options{})
		if len(r.Applied) != 8 {
			t.Errorf("Applied (%d) = %q", len(r.Applied), r.Applied)
		}
		if b := tarOf(t, tree); first == nil {
			first = b
		} else if !bytes.Equal(first, b) {
			t.Errorf("two runs differ")
		}
	}
}

func TestNotReplicated(t *testing.T) {
	r := apply(t, layer.NewTree(), nil, []string{"curl", "nginx", "nginx-common", "python3.11-minimal", "python3.11", "zlib1g", "supervisor"}, Options{})
	for _, p := range []string{"nginx", "nginx-common", "python3.11-minimal", "python3.11", "supervisor"} {
		if len(r.NotReplicated[p]) == 0 {
			t.Errorf("nothing listed for %s", p)
		}
	}
	for _, p := range []string{"curl", "zlib1g"} {
		if _, ok := r.NotReplicated[p]; ok {
			t.Errorf("%s listed: %q", p, r.NotReplicated[p])
		}
	}
	if len(r.Applied) != 0 {
		t.Errorf("an empty tree got %q", r.Applied)
	}
	if !strings.Contains(r.NotReplicated["python3.11-minimal"][0], "libpython3.11-minimal") {
		t.Errorf("python3.11-minimal: %q", r.NotReplicated["python3.11-minimal"])
	}
}

func TestResolve(t *testing.T) {
	links := map[string]string{"/bin": "usr/bin", "/loop": "/loop", "/etc/alt": "../usr/lib/x", "/usr/lib/x": "/opt/y"}
	rl := func(p string) (string, bool) { t, ok := links[p]; return t, ok }
	for in, want := range map[string]string{
		"/bin/sh":         "/usr/bin/sh",
		"/etc/alt/file":   "/opt/y/file",
		"/../..//etc/./":  "/etc",
		"/loop/x":         "/loop/x",
		"/usr/bin/../lib": "/usr/lib",
	} {
		if got := resolve(in, rl); got != want {
			t.Errorf("resolve(%q) = %q, want %q", in, got, want)
		}
	}
}

// Without a Readlinker, a base's merged-/usr aliases are assumed from
// usr-is-merged.
func TestMergedUsrFallback(t *testing.T) {
	v := newView(layer.NewTree(), noFiles{}, true)
	if got := v.resolve("/sbin/nologin"); got != "/usr/sbin/nologin" {
		t.Errorf("merged: %s", got)
	}
	v = newView(layer.NewTree(), noFiles{}, false)
	if got := v.resolve("/sbin/nologin"); got != "/sbin/nologin" {
		t.Errorf("unmerged: %s", got)
	}
}
