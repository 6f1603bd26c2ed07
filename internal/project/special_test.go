//go:build unix

package project

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestFilesSpecial(t *testing.T) {
	dir := copyTree(t, "testdata/symlink-escape")
	fifo := filepath.Join(dir, "sub", "pipe")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("mkfifo:", err)
	}
	_, err := load(t, dir).Files()
	if err == nil || !strings.Contains(err.Error(), "sub/pipe is a named pipe") {
		t.Fatalf("Files = %v, want a named pipe error", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte("sub/pipe\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := load(t, dir).Files(); err != nil {
		t.Fatalf("excluded pipe: %v", err)
	}
}
