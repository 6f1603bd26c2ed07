package layer

import (
	"io/fs"
	"testing"
	"testing/fstest"
)

func TestFS(t *testing.T) {
	tr := NewTree()
	tr.AddFile("usr/lib/x86_64-linux-gnu/libz.so.1.2.13", 0o644, []byte("elf"))
	tr.AddFile("etc/ld.so.conf", 0o644, []byte("include /etc/ld.so.conf.d/*.conf\n"))
	tr.AddDir("tmp", 0o1777)
	if err := fstest.TestFS(tr.FS(), "usr/lib/x86_64-linux-gnu/libz.so.1.2.13", "etc/ld.so.conf", "tmp"); err != nil {
		t.Fatal(err)
	}
	tr.AddSymlink("usr/lib/x86_64-linux-gnu/libz.so.1", "libz.so.1.2.13")
	f := tr.FS()
	if target, err := f.Readlink("usr/lib/x86_64-linux-gnu/libz.so.1"); err != nil || target != "libz.so.1.2.13" {
		t.Errorf("Readlink = %q, %v", target, err)
	}
	if _, err := f.Readlink("etc/ld.so.conf"); err == nil {
		t.Error("Readlink of a regular file succeeded")
	}
	info, err := fs.Stat(f, "usr/lib/x86_64-linux-gnu/libz.so.1")
	if err != nil || info.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("Stat of a symlink: %v %v", info, err)
	}
}
