// Package testcache keeps what kiln's tests build for themselves (a Debian
// Python base, a wheelhouse) between runs: built once, under a lock shared by
// every test binary, into a scratch directory renamed into place, so that a
// half-built entry is never seen.
package testcache

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// Dir is the cache directory: $KILN_TEST_CACHE, or $HOME/.cache/kiln-test.
func Dir() string {
	if d := os.Getenv("KILN_TEST_CACHE"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "kiln-test")
	}
	return filepath.Join(home, ".cache", "kiln-test")
}

// Ensure returns dir/name, building it first if it does not exist. build gets
// a scratch directory and the path (inside it) where it must leave the
// finished file or directory; ensure renames that into place, so dir/name
// exists only once complete. An flock on dir/name.lock makes concurrent
// callers, in this process or others, wait for the one that builds.
func Ensure(dir, name string, build func(tmp, out string) error) (string, error) {
	final := filepath.Join(dir, name)
	if exists(final) {
		return final, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("cache %s: %w", dir, err)
	}
	unlock, err := Lock(final + ".lock")
	if err != nil {
		return "", fmt.Errorf("cache %s: %w", dir, err)
	}
	defer unlock()
	if exists(final) {
		return final, nil // built by another caller while we waited
	}
	// Holding the lock, no one else is building: scratch dirs left here were
	// abandoned by a killed build.
	stale, _ := filepath.Glob(final + ".tmp-*")
	for _, s := range stale {
		if err := RemoveAll(s); err != nil {
			return "", fmt.Errorf("cache %s: removing abandoned build: %w", dir, err)
		}
	}
	tmp, err := os.MkdirTemp(dir, name+".tmp-")
	if err != nil {
		return "", fmt.Errorf("cache %s: %w", dir, err)
	}
	defer RemoveAll(tmp)
	out := filepath.Join(tmp, "out")
	if err := build(tmp, out); err != nil {
		return "", fmt.Errorf("building %s: %w", final, err)
	}
	if err := os.Rename(out, final); err != nil {
		return "", fmt.Errorf("cache %s: %w", dir, err)
	}
	return final, nil
}

// Lock takes an exclusive flock on path, creating it if needed, and returns
// the function that releases it.
func Lock(path string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// RemoveAll deletes dir, first detaching anything mounted below it: an
// interrupted debootstrap can leave /proc or /sys mounted inside its target,
// and deleting through such a mount would reach the host's files.
func RemoveAll(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	mounts, err := mountsUnder(abs)
	if err != nil {
		return err
	}
	for _, m := range mounts {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil {
			return fmt.Errorf("unmounting %s before removing %s: %w", m, dir, err)
		}
	}
	return os.RemoveAll(dir)
}

// mountsUnder lists the mount points strictly below dir, deepest first.
func mountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out, nil
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space, …).
func unescapeMount(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
