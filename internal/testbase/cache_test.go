package testbase

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// slowBuild counts its runs in dir/builds and leaves a two-file directory
// after a pause, long enough for concurrent callers to pile up on the lock.
func slowBuild(dir string) func(tmp, out string) error {
	return func(tmp, out string) error {
		f, err := os.OpenFile(filepath.Join(dir, "builds"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		fmt.Fprintln(f, os.Getpid())
		f.Close()
		if err := os.Mkdir(out, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, "a"), []byte("a"), 0o644); err != nil {
			return err
		}
		time.Sleep(300 * time.Millisecond)
		return os.WriteFile(filepath.Join(out, "b"), []byte("b"), 0o644)
	}
}

// TestEnsureHelperProcess is one of the concurrent processes of TestEnsureProcesses.
func TestEnsureHelperProcess(t *testing.T) {
	dir := os.Getenv("TESTBASE_HELPER_DIR")
	if dir == "" {
		t.Skip("helper process only")
	}
	p, err := ensure(dir, "thing", slowBuild(dir))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(p, "b")); err != nil || string(b) != "b" {
		t.Fatalf("half-built cache: %q, %v", b, err)
	}
}

// Several test binaries at once: one builds, the others wait and reuse.
func TestEnsureProcesses(t *testing.T) {
	dir := t.TempDir()
	var cmds []*exec.Cmd
	for i := 0; i < 3; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestEnsureHelperProcess$", "-test.v")
		cmd.Env = append(os.Environ(), "TESTBASE_HELPER_DIR="+dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("helper: %v", err)
		}
	}
	builds, _ := os.ReadFile(filepath.Join(dir, "builds"))
	if n := strings.Count(string(builds), "\n"); n != 1 {
		t.Errorf("%d builds, want 1", n)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "thing.tmp-*"))
	if len(left) != 0 {
		t.Errorf("scratch dirs left: %v", left)
	}
}

func TestEnsureFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	boom := errors.New("boom")
	_, err := ensure(dir, "thing", func(tmp, out string) error {
		os.Mkdir(out, 0o755) // half-built
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if exists(filepath.Join(dir, "thing")) {
		t.Fatal("a failed build was put in place")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "thing.tmp-*")); len(left) != 0 {
		t.Errorf("scratch dirs left: %v", left)
	}
	// A scratch dir abandoned by a killed build is cleared by the next one.
	stale := filepath.Join(dir, "thing.tmp-12345")
	os.MkdirAll(filepath.Join(stale, "out"), 0o755)
	p, err := ensure(dir, "thing", slowBuild(dir))
	if err != nil {
		t.Fatal(err)
	}
	if exists(stale) {
		t.Error("abandoned scratch dir not removed")
	}
	if !exists(filepath.Join(p, "b")) {
		t.Error("not built")
	}
}

func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{
		`/a\040b`:     "/a b",
		`/tab\011x`:   "/tab\tx",
		`/plain`:      "/plain",
		`/trailing\0`: `/trailing\0`,
		`/bad\09x`:    `/bad\09x`,
	} {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}

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
