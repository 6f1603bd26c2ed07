package base

import (
	"path"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Files is a read-only view of a base image's flattened filesystem: every
// path, and the contents of the files kept when it was read. Paths are
// absolute ("/etc/passwd"); symlinks resolve inside the image.
type Files struct {
	r *rootfs
}

// ReadFiles indexes img in one streaming pass, keeping the contents of the
// regular files whose absolute path keep accepts (others cost one more pass
// when read).
func ReadFiles(img v1.Image, keep func(path string) bool) (*Files, error) {
	r, err := readRootfs(img, keep)
	if err != nil {
		return nil, err
	}
	return &Files{r: r}, nil
}

// ReadFile returns the contents of the file at p, following symlinks; false
// when there is no such regular file or it cannot be read.
func (f *Files) ReadFile(p string) ([]byte, bool) {
	if f == nil {
		return nil, false
	}
	data, err := f.r.readOptional(cleanAbs(p))
	if err != nil || data == nil {
		return nil, false
	}
	return data, true
}

// Exists reports whether p names anything in the image, following symlinks.
func (f *Files) Exists(p string) bool {
	if f == nil {
		return false
	}
	_, err := f.r.resolve(cleanAbs(p))
	return err == nil
}

// Glob lists the paths matching pattern (path.Match syntax, absolute),
// sorted. Symlinked directories in the pattern's directory part are not
// followed: patterns name real paths.
func (f *Files) Glob(pattern string) []string {
	if f == nil {
		return nil
	}
	pattern = cleanAbs(pattern)
	var out []string
	for p := range f.r.nodes {
		if ok, _ := path.Match(pattern, p); ok && p != "/" {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// KeepSystemFiles is the keep function for what installing Debian packages
// over a base reads: account files, the dpkg database, the loader cache and
// configuration, and the packages' own data under /usr/share that their
// maintainer scripts would have read.
func KeepSystemFiles(p string) bool {
	for _, prefix := range []string{"/etc/", "/var/lib/dpkg/status", "/usr/share/base-passwd/", "/usr/share/ca-certificates/", "/usr/share/debianutils/", "/usr/share/libc-bin/"} {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

// Readlink returns the target of the symlink at p (not following a link in
// its last component).
func (f *Files) Readlink(p string) (string, bool) {
	if f == nil {
		return "", false
	}
	n := f.r.nodes[cleanAbs(p)]
	if n == nil || n.kind != kindSymlink {
		return "", false
	}
	return n.link, true
}
