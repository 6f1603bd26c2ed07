package testcache

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
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
	dir := os.Getenv("TESTCACHE_HELPER_DIR")
	if dir == "" {
		t.Skip("helper process only")
	}
	p, err := Ensure(dir, "thing", slowBuild(dir))
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
		cmd.Env = append(os.Environ(), "TESTCACHE_HELPER_DIR="+dir)
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
	_, err := Ensure(dir, "thing", func(tmp, out string) error {
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
	p, err := Ensure(dir, "thing", slowBuild(dir))
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

// In-process callers too: every call opens its own lock file, so goroutines
// serialise on the flock like processes do.
func TestEnsureBuildsOnceUnderConcurrency(t *testing.T) {
	root := t.TempDir()
	var calls atomic.Int32
	build := func(tmp, out string) error {
		calls.Add(1)
		if err := os.Mkdir(out, 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(out, "x.whl"), []byte("x"), 0o644)
	}
	var wg sync.WaitGroup
	dirs := make([]string, 8)
	errs := make([]error, 8)
	for i := range dirs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dirs[i], errs[i] = Ensure(root, "wheels-x", build)
		}()
	}
	wg.Wait()
	for i := range dirs {
		if errs[i] != nil || dirs[i] != filepath.Join(root, "wheels-x") {
			t.Fatalf("call %d: %q %v", i, dirs[i], errs[i])
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("built %d times", n)
	}
	if _, err := os.Stat(filepath.Join(root, "wheels-x", "x.whl")); err != nil {
		t.Error(err)
	}
}
