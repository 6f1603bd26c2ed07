package testbase

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
)

func TestWriteLayer(t *testing.T) {
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "usr/bin"), 0o755))
	must(os.WriteFile(filepath.Join(root, "usr/bin/perl"), []byte("perl"), 0o755))
	must(os.Link(filepath.Join(root, "usr/bin/perl"), filepath.Join(root, "usr/bin/perl5.36")))
	must(os.WriteFile(filepath.Join(root, "usr/bin/su"), []byte("su"), 0o755))
	must(os.Chmod(filepath.Join(root, "usr/bin/su"), 0o4755|os.ModeSetuid))
	must(os.Symlink("usr/bin", filepath.Join(root, "bin")))
	must(os.Mkdir(filepath.Join(root, "tmp"), 0o755))
	must(os.Chmod(filepath.Join(root, "tmp"), 0o777|os.ModeSticky))
	must(os.WriteFile(filepath.Join(root, "etc"), []byte("owned by 1001"), 0o600))
	must(os.Chown(filepath.Join(root, "etc"), 1001, 1002))
	must(syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644))

	dst := filepath.Join(t.TempDir(), "layer.tar.gz")
	must(writeLayer(root, dst))
	first, err := os.ReadFile(dst)
	must(err)

	type ent struct {
		typ   byte
		mode  int64
		uid   int
		gid   int
		link  string
		data  string
		mtime int64
	}
	want := []struct {
		name string
		ent
	}{
		{"bin", ent{tar.TypeSymlink, 0o777, 0, 0, "usr/bin", "", 0}},
		{"etc", ent{tar.TypeReg, 0o600, 1001, 1002, "", "owned by 1001", 0}},
		{"tmp/", ent{tar.TypeDir, 0o1777, 0, 0, "", "", 0}},
		{"usr/", ent{tar.TypeDir, 0o755, 0, 0, "", "", 0}},
		{"usr/bin/", ent{tar.TypeDir, 0o755, 0, 0, "", "", 0}},
		{"usr/bin/perl", ent{tar.TypeReg, 0o755, 0, 0, "", "perl", 0}},
		{"usr/bin/perl5.36", ent{tar.TypeLink, 0o755, 0, 0, "usr/bin/perl", "", 0}},
		{"usr/bin/su", ent{tar.TypeReg, 0o4755, 0, 0, "", "su", 0}},
	}
	zr, err := gzip.NewReader(bytes.NewReader(first))
	must(err)
	tr := tar.NewReader(zr)
	for i := 0; ; i++ {
		h, err := tr.Next()
		if err == io.EOF {
			if i != len(want) {
				t.Errorf("%d entries, want %d", i, len(want))
			}
			break
		}
		must(err)
		data, _ := io.ReadAll(tr)
		got := ent{h.Typeflag, h.Mode, h.Uid, h.Gid, h.Linkname, string(data), h.ModTime.Unix()}
		if i >= len(want) || h.Name != want[i].name || got != want[i].ent || h.Uname != "" || h.Gname != "" {
			t.Errorf("entry %d: %s %+v (%q/%q)", i, h.Name, got, h.Uname, h.Gname)
			if i < len(want) {
				t.Errorf("   want: %s %+v", want[i].name, want[i].ent)
			}
		}
	}

	// Same tree, other mtimes: same bytes.
	future := time.Now().Add(time.Hour)
	must(os.Chtimes(filepath.Join(root, "usr/bin/perl"), future, future))
	must(writeLayer(root, dst))
	second, err := os.ReadFile(dst)
	must(err)
	if !bytes.Equal(first, second) {
		t.Error("layer bytes depend on mtimes")
	}
}
