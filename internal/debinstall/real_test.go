package debinstall

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/internal/layer"
	"github.com/kiln-build/kiln/internal/testcache"
)

// These tests unpack real bookworm packages, fetched once with the host's
// apt (or from the pool for another architecture) and kept in the test
// cache, and compare the result with what dpkg-deb and dpkg report.

const mirror = "http://deb.debian.org/debian/"

// unavailable skips the test, or fails it on CI, where the archive must be
// reachable.
func unavailable(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format+" (set CI=true to fail instead)", args...)
}

// realDeb returns the path of the cached .deb of the host's candidate
// version of pkg for arch.
func realDeb(t *testing.T, pkg, arch string) string {
	t.Helper()
	if _, err := exec.LookPath("apt-get"); err != nil {
		unavailable(t, "no apt-get to fetch %s", pkg)
	}
	p, err := testcache.Ensure(filepath.Join(testcache.Dir(), "debinstall"), pkg+"_"+arch+".deb", func(tmp, out string) error {
		if arch == "amd64" {
			return aptDownload(tmp, pkg, out)
		}
		return poolDownload(pkg, arch, out)
	})
	if err != nil {
		unavailable(t, "fetching %s:%s: %v", pkg, arch, err)
	}
	return p
}

func aptDownload(tmp, pkg, out string) error {
	cmd := exec.Command("apt-get", "download", "-q", pkg+":amd64")
	cmd.Dir = tmp
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get download %s: %v\n%s", pkg, err, b)
	}
	got, _ := filepath.Glob(filepath.Join(tmp, pkg+"_*.deb"))
	if len(got) != 1 {
		return fmt.Errorf("apt-get download %s left %v", pkg, got)
	}
	return os.Rename(got[0], out)
}

// poolDownload fetches another architecture's build of the host's
// candidate version, which the host's apt does not know about.
func poolDownload(pkg, arch, out string) error {
	show, err := exec.Command("apt-cache", "show", "--no-all-versions", pkg).Output()
	if err != nil {
		return fmt.Errorf("apt-cache show %s: %w", pkg, err)
	}
	m := regexp.MustCompile(`(?m)^Filename: (\S+)_[a-z0-9]+\.deb$`).FindSubmatch(show)
	if m == nil {
		return fmt.Errorf("apt-cache show %s: no Filename", pkg)
	}
	resp, err := http.Get(mirror + string(m[1]) + "_" + arch + ".deb")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", resp.Request.URL, resp.Status)
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func unpackFile(t *testing.T, tree *layer.Tree, path string) *Unpacked {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	u, err := Unpack(tree, filepath.Base(path), f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		unavailable(t, "no %s on this host", name)
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, stderr.Bytes())
	}
	return string(out)
}

var dpkgDebLine = regexp.MustCompile(`^(\S)(\S{9}) (\S+)/(\S+) +\d+ \S+ \S+ (.*)$`)

// ids maps the owner names dpkg-deb -c prints to base-passwd's fixed ids.
var ids = map[string]int{"root": 0, "staff": 50}

// compareWithDpkgDeb checks every entry dpkg-deb -c lists against the tree.
func compareWithDpkgDeb(t *testing.T, tree *layer.Tree, path string, u *Unpacked) {
	t.Helper()
	var listed []string
	sc := bufio.NewScanner(strings.NewReader(run(t, "dpkg-deb", "-c", path)))
	for sc.Scan() {
		m := dpkgDebLine.FindStringSubmatch(sc.Text())
		if m == nil {
			t.Fatalf("dpkg-deb -c line %q", sc.Text())
		}
		kind, perm, uname, gname, rest := m[1], m[2], m[3], m[4], m[5]
		name, target := rest, ""
		switch kind {
		case "l":
			name, target, _ = strings.Cut(rest, " -> ")
		case "h":
			name, target, _ = strings.Cut(rest, " link to ")
		}
		own := strings.TrimSuffix(strings.TrimPrefix(name, "./"), "/")
		if own == "" {
			listed = append(listed, "/.")
			continue
		}
		listed = append(listed, "/"+own)
		e, ok := tree.Get(canonical(own))
		if !ok {
			t.Errorf("%s: %s is not in the tree", path, name)
			continue
		}
		uid, uok := ids[uname]
		gid, gok := ids[gname]
		if !uok || !gok || e.UID != uid || e.GID != gid {
			t.Errorf("%s: %s owned by %d:%d, dpkg-deb says %s/%s", path, name, e.UID, e.GID, uname, gname)
		}
		wantKind := map[string]layer.Kind{"d": layer.Dir, "-": layer.Regular, "h": layer.Regular, "l": layer.Symlink}[kind]
		if e.Kind != wantKind || lsPerm(e.Mode) != perm && kind != "l" {
			t.Errorf("%s: %s is kind %d %s, dpkg-deb says %s%s", path, name, e.Kind, lsPerm(e.Mode), kind, perm)
		}
		switch kind {
		case "l":
			if e.Target != target {
				t.Errorf("%s: %s -> %s, dpkg-deb says -> %s", path, name, e.Target, target)
			}
		case "h":
			orig, ok := tree.Get(canonical(strings.TrimPrefix(target, "./")))
			if !ok || !bytes.Equal(orig.Data, e.Data) {
				t.Errorf("%s: hard link %s does not have the content of %s", path, name, target)
			}
		}
	}
	if strings.Join(listed, "\n") != strings.Join(u.Listed, "\n") {
		t.Errorf("%s: Listed differs from dpkg-deb -c:\n%q\n%q", path, u.Listed, listed)
	}
	fields := run(t, "dpkg-deb", "-f", path, "Package", "Version", "Architecture")
	want := fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: %s\n", u.Package.Name, u.Package.Version, u.Package.Architecture)
	if fields != want {
		t.Errorf("%s: dpkg-deb -f says\n%s, Unpack read\n%s", path, fields, want)
	}
	if control := run(t, "dpkg-deb", "-f", path); control != string(u.Control) {
		t.Errorf("%s: control differs from dpkg-deb -f", path)
	}
	// The shipped md5sums vouch for every file's content.
	for _, line := range strings.Split(strings.TrimSpace(string(u.MD5Sums)), "\n") {
		sum, name, _ := strings.Cut(line, "  ")
		e, ok := tree.Get(canonical(name))
		if !ok {
			t.Errorf("%s: md5sums names %s, not in the tree", path, name)
			continue
		}
		if got := md5.Sum(e.Data); hex.EncodeToString(got[:]) != sum {
			t.Errorf("%s: %s has md5 %x, md5sums says %s", path, name, got, sum)
		}
	}
}

// lsPerm renders permission bits as ls and tar -tv do: "rwxrwsr-x".
func lsPerm(m fs.FileMode) string {
	b := []byte("rwxrwxrwx")
	for i := range b {
		if m&(1<<(8-i)) == 0 {
			b[i] = '-'
		}
	}
	for _, s := range []struct {
		bit fs.FileMode
		i   int
		c   byte
	}{{fs.ModeSetuid, 2, 's'}, {fs.ModeSetgid, 5, 's'}, {fs.ModeSticky, 8, 't'}} {
		if m&s.bit != 0 {
			if b[s.i] == '-' {
				b[s.i] = s.c - 'a' + 'A'
			} else {
				b[s.i] = s.c
			}
		}
	}
	return string(b)
}

func TestRealDebsAmd64(t *testing.T) {
	if testing.Short() {
		t.Skip("downloads packages")
	}
	needTool(t, "dpkg-deb")
	names := []string{"base-files", "dash", "libc6", "tzdata", "bzip2"}
	paths := map[string]string{}
	for _, n := range names {
		paths[n] = realDeb(t, n, "amd64")
	}
	tree := layer.NewTree()
	if err := MergedUsr(tree, "amd64"); err != nil {
		t.Fatal(err)
	}
	var pkgs []*Unpacked
	byName := map[string]*Unpacked{}
	for _, n := range names {
		u := unpackFile(t, tree, paths[n])
		pkgs = append(pkgs, u)
		byName[n] = u
		compareWithDpkgDeb(t, tree, paths[n], u)
	}

	// merged-/usr: dash's /bin/dash and /bin/sh live in /usr/bin, reached
	// through the bin -> usr/bin link.
	if e, ok := tree.Get("usr/bin/dash"); !ok || e.Kind != layer.Regular || e.Mode != 0o755 || !bytes.HasPrefix(e.Data, []byte("\x7fELF")) {
		t.Error("usr/bin/dash is not a 0755 ELF file")
	}
	if e, ok := tree.Get("usr/bin/sh"); !ok || e.Kind != layer.Symlink || e.Target != "dash" {
		t.Error("usr/bin/sh is not a symlink to dash")
	}
	if e, ok := tree.Get("bin"); !ok || e.Kind != layer.Symlink || e.Target != "usr/bin" {
		t.Error("bin is not a symlink to usr/bin")
	}
	for _, p := range []string{"bin/dash", "lib64/ld-linux-x86-64.so.2"} {
		if _, ok := tree.Get(p); ok {
			t.Errorf("%s is in the tree beside the merged-/usr link", p)
		}
	}
	if e, ok := tree.Get("usr/lib64/ld-linux-x86-64.so.2"); !ok || e.Kind != layer.Symlink || e.Target != "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" {
		t.Error("usr/lib64/ld-linux-x86-64.so.2 is not libc6's absolute link to the loader")
	}
	if e, ok := tree.Get("var/local"); !ok || e.Mode != 0o775|fs.ModeSetgid || e.GID != 50 {
		t.Errorf("base-files' /var/local is %+v, want setgid 2775 root:staff", e)
	}
	if !byName["dash"].Scripts["postinst"] || !byName["libc6"].Scripts["preinst"] || byName["bzip2"].Scripts["preinst"] {
		t.Errorf("scripts: dash %v, libc6 %v, bzip2 %v", byName["dash"].Scripts, byName["libc6"].Scripts, byName["bzip2"].Scripts)
	}
	if !contains(byName["dash"].Files, "/usr/bin/dash") || contains(byName["dash"].Files, "/bin/dash") || !contains(byName["dash"].Listed, "/bin/dash") {
		t.Error("dash's Files should hold /usr/bin/dash, its Listed /bin/dash")
	}

	if err := Database(tree, nil, pkgs); err != nil {
		t.Fatal(err)
	}
	if _, ok := tree.Get("var/lib/dpkg/info/libc6:amd64.list"); !ok {
		t.Error("no info/libc6:amd64.list for Multi-Arch: same libc6")
	}
	needTool(t, "dpkg")
	root := writeRoot(t, tree)
	admin := filepath.Join(root, "var/lib/dpkg")
	if out := dpkgQuery(t, admin, "-L", "dash"); out != strings.Join(byName["dash"].Listed, "\n")+"\n" {
		t.Errorf("dpkg-query -L dash =\n%s", out)
	}
	if out := dpkgQuery(t, admin, "-S", "/lib64/ld-linux-x86-64.so.2"); out != "libc6:amd64: /lib64/ld-linux-x86-64.so.2\n" {
		t.Errorf("dpkg-query -S the loader = %q", out)
	}
	// dpkg checks every file's md5 through the merged-/usr links.
	if out := run(t, "dpkg", "--root="+root, "--verify"); out != "" {
		t.Errorf("dpkg --verify reports:\n%s", out)
	}
	for _, n := range names {
		if st := dpkgQuery(t, admin, "-W", "-f", "${db:Status-Abbrev}", n); st != "ii " {
			t.Errorf("%s: status %q", n, st)
		}
	}
}

func TestRealDebArm64(t *testing.T) {
	if testing.Short() {
		t.Skip("downloads packages")
	}
	needTool(t, "dpkg-deb")
	path := realDeb(t, "dash", "arm64")
	tree := layer.NewTree()
	if err := MergedUsr(tree, "arm64"); err != nil {
		t.Fatal(err)
	}
	u := unpackFile(t, tree, path)
	compareWithDpkgDeb(t, tree, path, u)
	if u.Package.Architecture != "arm64" {
		t.Errorf("Architecture %s", u.Package.Architecture)
	}
	e, ok := tree.Get("usr/bin/dash")
	const emAArch64 = 183
	if !ok || len(e.Data) < 20 || binary.LittleEndian.Uint16(e.Data[18:]) != emAArch64 {
		t.Error("usr/bin/dash is not an arm64 ELF file")
	}
	if _, ok := tree.Get("lib64"); ok {
		t.Error("arm64 got a lib64 link")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// writeRoot writes the tree to a directory so dpkg can check it.
func writeRoot(t *testing.T, tree *layer.Tree) string {
	t.Helper()
	root := t.TempDir()
	for _, e := range tree.Entries() {
		p := filepath.Join(root, filepath.FromSlash(e.Path))
		var err error
		switch e.Kind {
		case layer.Dir:
			err = os.MkdirAll(p, 0o755)
		case layer.Regular:
			err = os.WriteFile(p, e.Data, 0o644)
		case layer.Symlink:
			err = os.Symlink(e.Target, p)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return root
}
