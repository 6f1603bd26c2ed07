package layer

import (
	"archive/tar"
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFileSourceStreamsIntoTheTar(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "big.bin")
	content := bytes.Repeat([]byte("0123456789"), 100_000)
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	fromFile, inMemory := NewTree(), NewTree()
	if err := fromFile.Add(Entry{Path: "app/big.bin", Kind: Regular, Mode: 0o644, Source: FileSource(p, int64(len(content)))}); err != nil {
		t.Fatal(err)
	}
	if err := inMemory.AddFile("app/big.bin", 0o644, content); err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	if err := fromFile.Write(&a, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	if err := inMemory.Write(&b, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("a file source and the same bytes in memory give different tars")
	}

	f, err := fromFile.FS().Open("app/big.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ra, ok := f.(io.ReaderAt)
	if !ok {
		t.Fatal("a file source opened through FS offers no random access")
	}
	buf := make([]byte, 4)
	if _, err := ra.ReadAt(buf, 12); err != nil || string(buf) != "2345" {
		t.Fatalf("ReadAt = %q, %v", buf, err)
	}
	if info, _ := f.Stat(); info.Size() != int64(len(content)) {
		t.Fatalf("Stat size %d", info.Size())
	}
}

// A file that changes between planning and writing must fail the layer, not
// produce a tar whose header disagrees with its content.
func TestFileSourceChangedDuringBuild(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("short"), 0o644); err != nil {
		t.Fatal(err)
	}
	tr := NewTree()
	if err := tr.Add(Entry{Path: "f", Kind: Regular, Mode: 0o644, Source: FileSource(p, 5)}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("much longer now"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := tr.Write(io.Discard, time.Unix(0, 0))
	if err == nil || !strings.Contains(err.Error(), "changed size") || !strings.Contains(err.Error(), "layer entry f") {
		t.Fatalf("err = %v, want a changed-size error naming the entry", err)
	}
}

type lyingSource struct {
	data []byte
	size int64
}

func (s lyingSource) Open() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(s.data)), nil }
func (s lyingSource) Size() int64                  { return s.size }

func TestSourceLengthIsEnforced(t *testing.T) {
	for _, s := range []lyingSource{{[]byte("abc"), 5}, {[]byte("abcdef"), 5}} {
		tr := NewTree()
		if err := tr.Add(Entry{Path: "x", Kind: Regular, Mode: 0o644, Source: s}); err != nil {
			t.Fatal(err)
		}
		if err := tr.Write(io.Discard, time.Unix(0, 0)); err == nil {
			t.Errorf("source of %d bytes announced as %d: no error", len(s.data), s.size)
		}
	}
	tr := NewTree()
	if err := tr.Add(Entry{Path: "x", Kind: Regular, Mode: 0o644, Source: lyingSource{[]byte("abcde"), 5}}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tr.Write(&buf, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	r := tar.NewReader(&buf)
	h, err := r.Next()
	if err != nil || h.Size != 5 {
		t.Fatalf("header %+v, %v", h, err)
	}
	f, err := tr.FS().Open("x")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.(io.ReaderAt); ok {
		t.Error("a streaming source claims random access")
	}
	if b, _ := io.ReadAll(f.(io.Reader)); string(b) != "abcde" {
		t.Errorf("read %q", b)
	}
	if _, err := fs.ReadFile(tr.FS(), "x"); err != nil {
		t.Error(err)
	}
}
