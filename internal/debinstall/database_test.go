package debinstall

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/internal/layer"
)

const baseStatus = `Package: base-files
Essential: yes
Status: install ok installed
Priority: required
Architecture: amd64
Version: 12.4
Conffiles:
 /etc/issue 349d61a0e072d678e3e94923f0c3ce0e
Description: Debian base system miscellaneous files
 several lines
 .
 of text

Package: tool
Status: install ok installed
Architecture: amd64
Version: 0.9-1
Description: old version

Package: libx
Status: install ok installed
Architecture: arm64
Multi-Arch: same
Version: 1.0-1
Description: the other architecture's instance
`

func TestDatabase(t *testing.T) {
	tree := layer.NewTree()
	toolDeb := buildDeb(t, debSpec{
		control: "\nPackage: tool\nVersion: 1.0-1\nArchitecture: amd64\nMaintainer: T <t@example.org>\nDescription: new version\n more\n",
		members: map[string]string{"conffiles": "/etc/tool.conf\n"},
		files:   []tarFile{dirEntry("./", 0o755), dirEntry("./etc/", 0o755), regEntry("./etc/tool.conf", 0o644, "a=1\n"), regEntry("./bin/tool", 0o755, "x")},
	})
	libDeb := buildDeb(t, debSpec{
		control: "Package: libx\nVersion: 1.0-1\nArchitecture: amd64\nMulti-Arch: same\nDescription: lib\n",
		files:   []tarFile{dirEntry("./", 0o755), dirEntry("./usr/", 0o755), regEntry("./usr/libx.so", 0o644, "elf")},
	})
	var pkgs []*Unpacked
	for name, b := range map[string][]byte{"tool.deb": toolDeb, "libx.deb": libDeb} {
		u, err := unpackBytes(tree, name, b)
		if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, u)
	}
	if err := Database(tree, []byte(baseStatus), pkgs); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		strings.SplitN(baseStatus, "\n\n", 2)[0] + "\n",
		strings.Split(baseStatus, "\n\n")[2],
		"Package: libx\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: amd64\nMulti-Arch: same\nDescription: lib\n",
		"Package: tool\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: amd64\nMaintainer: T <t@example.org>\n" +
			"Conffiles:\n /etc/tool.conf " + md5hex("a=1\n") + "\nDescription: new version\n more\n\n",
	}, "\n")
	st, _ := tree.Get("var/lib/dpkg/status")
	if string(st.Data) != want {
		t.Errorf("status =\n%s\nwant\n%s", st.Data, want)
	}
	for p, data := range map[string]string{
		"var/lib/dpkg/info/format":             "1\n",
		"var/lib/dpkg/info/tool.list":          "/.\n/etc\n/etc/tool.conf\n/bin/tool\n",
		"var/lib/dpkg/info/tool.conffiles":     "/etc/tool.conf\n",
		"var/lib/dpkg/info/libx:amd64.list":    "/.\n/usr\n/usr/libx.so\n",
		"var/lib/dpkg/info/tool.md5sums":       md5hex("a=1\n") + "  etc/tool.conf\n" + md5hex("x") + "  bin/tool\n",
		"var/lib/dpkg/info/libx:amd64.md5sums": md5hex("elf") + "  usr/libx.so\n",
	} {
		if e, ok := tree.Get(p); !ok || string(e.Data) != data {
			t.Errorf("%s = %q, want %q", p, e.Data, data)
		}
	}
	if _, ok := tree.Get("var/lib/dpkg/info/libx.list"); ok {
		t.Error("a Multi-Arch: same package's list is named without its architecture")
	}
	if err := Database(tree, nil, []*Unpacked{pkgs[0], pkgs[0]}); err == nil {
		t.Error("Database accepted one package twice")
	}
	if err := Database(tree, []byte("Package: x\n no colon here\n\nnot a field\n"), nil); err == nil || !strings.Contains(err.Error(), "line 4") {
		t.Errorf("bad base status: %v", err)
	}

	// dpkg itself must read the database the way it reads its own.
	if _, err := exec.LookPath("dpkg-query"); err != nil {
		t.Skip("no dpkg-query to read the database back")
	}
	admin := writeAdmindir(t, tree)
	out := dpkgQuery(t, admin, "-W", "-f", "${Package}:${Architecture} ${Version} ${db:Status-Abbrev}\n")
	wantQ := "base-files:amd64 12.4 ii \nlibx:amd64 1.0-1 ii \nlibx:arm64 1.0-1 ii \ntool:amd64 1.0-1 ii \n"
	if out != wantQ {
		t.Errorf("dpkg-query -W =\n%s\nwant\n%s", out, wantQ)
	}
	if out := dpkgQuery(t, admin, "-L", "libx:amd64"); out != "/.\n/usr\n/usr/libx.so\n" {
		t.Errorf("dpkg-query -L libx:amd64 = %q", out)
	}
	if out := dpkgQuery(t, admin, "-S", "/bin/tool"); out != "tool: /bin/tool\n" {
		t.Errorf("dpkg-query -S /bin/tool = %q", out)
	}
	if out := dpkgQuery(t, admin, "-W", "-f", "${Conffiles}\n", "tool"); out != " /etc/tool.conf "+md5hex("a=1\n")+"\n" {
		t.Errorf("tool's conffiles as dpkg reads them: %q", out)
	}
}

// writeAdmindir copies the tree's var/lib/dpkg to a directory dpkg can read.
func writeAdmindir(t *testing.T, tree *layer.Tree) string {
	t.Helper()
	root := t.TempDir()
	for _, e := range tree.Entries() {
		if e.Kind != layer.Regular || !strings.HasPrefix(e.Path, "var/lib/dpkg/") {
			continue
		}
		p := filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(e.Path, "var/lib/dpkg/")))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, e.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"updates", "info"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func dpkgQuery(t *testing.T, admin string, args ...string) string {
	t.Helper()
	cmd := exec.Command("dpkg-query", append([]string{"--admindir=" + admin}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("dpkg-query %v: %v\n%s", args, err, msg)
	}
	return string(out)
}
