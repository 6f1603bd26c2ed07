package testbase

import (
	"os"
	"path/filepath"
	"testing"
)

func TestStatusStanza(t *testing.T) {
	got := string(statusStanza([]byte("Package: libc6\nSource: glibc\nVersion: 2.36-9\nDescription: x\n more\n")))
	want := "Package: libc6\nStatus: install ok installed\nSource: glibc\nVersion: 2.36-9\nDescription: x\n more\n\n"
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestPasswdFromMasters(t *testing.T) {
	root := t.TempDir()
	masters := filepath.Join(root, "usr/share/base-passwd")
	os.MkdirAll(masters, 0o755)
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(masters, "passwd.master"), []byte("root:*:0:0:root:/root:/bin/bash\nnobody:*:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"), 0o644)
	os.WriteFile(filepath.Join(masters, "group.master"), []byte("root:*:0:\n"), 0o644)
	if err := passwdFromMasters(root); err != nil {
		t.Fatal(err)
	}
	p, _ := os.ReadFile(filepath.Join(root, "etc/passwd"))
	g, _ := os.ReadFile(filepath.Join(root, "etc/group"))
	if string(p) != "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n" || string(g) != "root:x:0:\n" {
		t.Errorf("passwd %q group %q", p, g)
	}
}
