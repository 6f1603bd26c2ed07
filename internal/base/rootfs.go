package base

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// maxKeep bounds the size of one file held in memory. Interpreters, libc and
// libpython are a few MiB to a few tens of MiB; anything larger is not
// something Inspect needs and could be a hostile image trying to exhaust memory.
const maxKeep = 256 << 20

// maxHops is the symlink budget of one resolution, as Linux's MAXSYMLINKS.
const maxHops = 40

type kind byte

const (
	kindFile kind = iota
	kindDir
	kindSymlink
	kindHardlink
	kindOther // devices, fifos: present but never read
)

// node is one path of the flattened image. Only metadata is held for every
// path; data only for files the caller asked to keep.
type node struct {
	kind     kind
	mode     fs.FileMode
	size     int64
	link     string // symlink target as written, or hardlink target as an absolute path
	data     []byte
	kept     bool
	implicit bool // a parent directory that had no header of its own
}

// rootfs is the flattened filesystem of an image: the index of every path, and
// the contents of the few files Inspect reads. It never touches the host
// filesystem; symlinks are resolved against the image root.
type rootfs struct {
	img   v1.Image
	nodes map[string]*node // keyed by cleaned absolute path; "/" is implicit
	scans int              // passes over the image, for tests
}

// readRootfs indexes img in one streaming pass over its flattened layers,
// keeping the data of regular files for which keep returns true.
func readRootfs(img v1.Image, keep func(p string) bool) (*rootfs, error) {
	r := &rootfs{img: img, nodes: map[string]*node{}}
	if err := r.scan(keep, true); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *rootfs) scan(keep func(p string) bool, index bool) error {
	r.scans++
	rc := mutate.Extract(r.img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading layers: %w", err)
		}
		p := cleanAbs(h.Name)
		if p == "/" {
			continue
		}
		var n *node
		if index {
			n = newNode(h)
			if old := r.nodes[p]; old != nil && !old.implicit {
				// Extract emits one entry per path; a duplicate would be a
				// malformed layer, and the first (uppermost) one wins.
				continue
			}
			r.nodes[p] = n
			r.addParents(p)
		} else if n = r.nodes[p]; n == nil || n.kept {
			continue
		}
		if n.kind != kindFile || !keep(p) {
			continue
		}
		if h.Size > maxKeep {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(tr, maxKeep))
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
		n.data, n.kept = data, true
	}
}

func newNode(h *tar.Header) *node {
	n := &node{mode: h.FileInfo().Mode(), size: h.Size}
	switch h.Typeflag {
	case tar.TypeReg:
		n.kind = kindFile
	case tar.TypeDir:
		n.kind = kindDir
	case tar.TypeSymlink:
		n.kind, n.link = kindSymlink, h.Linkname
	case tar.TypeLink:
		n.kind, n.link = kindHardlink, cleanAbs(h.Linkname)
	default:
		n.kind = kindOther
	}
	return n
}

// addParents records directories that a layer implies without a header.
func (r *rootfs) addParents(p string) {
	for d := path.Dir(p); d != "/"; d = path.Dir(d) {
		if _, ok := r.nodes[d]; ok {
			return
		}
		r.nodes[d] = &node{kind: kindDir, mode: fs.ModeDir | 0o755, implicit: true}
	}
}

func cleanAbs(name string) string {
	return path.Clean("/" + strings.TrimPrefix(name, "./"))
}

// errNotExist reports a path (or a component of it) missing from the image.
var errNotExist = errors.New("no such file in image")

// resolve follows symlinks in every component of p, as the kernel would with
// the image as root: ".." never climbs above "/", absolute targets restart at
// the image root. It returns the final path, which exists.
func (r *rootfs) resolve(p string) (string, error) {
	parts := splitPath(p)
	cur := "/"
	hops := 0
	for len(parts) > 0 {
		name := parts[0]
		parts = parts[1:]
		switch name {
		case "", ".":
			continue
		case "..":
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, name)
		n := r.nodes[next]
		if n == nil {
			return "", fmt.Errorf("%s: %w", next, errNotExist)
		}
		if n.kind == kindSymlink {
			hops++
			if hops > maxHops {
				return "", fmt.Errorf("%s: too many levels of symbolic links", p)
			}
			if strings.HasPrefix(n.link, "/") {
				cur = "/"
			}
			parts = append(splitPath(n.link), parts...)
			continue
		}
		if len(parts) > 0 && n.kind != kindDir {
			return "", fmt.Errorf("%s: %s is not a directory", p, next)
		}
		cur = next
	}
	return cur, nil
}

func splitPath(p string) []string {
	return strings.Split(strings.Trim(p, "/"), "/")
}

// file resolves p to a regular file, following symlinks, then hard links to
// the entry that holds the data. It returns the path symlinks lead to (not
// the hard link's target: both name the file equally) and the data's node.
func (r *rootfs) file(p string) (string, *node, error) {
	rp, err := r.resolve(p)
	if err != nil {
		return "", nil, err
	}
	n := r.nodes[rp]
	for hops := 0; n.kind == kindHardlink; hops++ {
		if hops > maxHops {
			return "", nil, fmt.Errorf("%s: hard link loop", p)
		}
		target := n.link
		if n = r.nodes[target]; n == nil {
			return "", nil, fmt.Errorf("%s: hard link to %s: %w", p, target, errNotExist)
		}
	}
	if n.kind != kindFile {
		return "", nil, fmt.Errorf("%s: not a regular file", p)
	}
	return rp, n, nil
}

// read returns the contents of the regular file at p. A file that the first
// pass did not keep (its name did not look interesting) costs one more pass
// over the image; that happens only for unusual layouts.
func (r *rootfs) read(p string) ([]byte, error) {
	_, n, err := r.file(p)
	if err != nil {
		return nil, err
	}
	if !n.kept {
		if n.size > maxKeep {
			return nil, fmt.Errorf("%s: %d bytes, larger than the %d this reads", p, n.size, maxKeep)
		}
		if err := r.scan(func(q string) bool { return r.nodes[q] == n }, false); err != nil {
			return nil, err
		}
		if !n.kept {
			return nil, fmt.Errorf("%s: contents not found in the layers", p)
		}
	}
	return n.data, nil
}

// readOptional is read for files an image may lack: nil, nil when p does not exist.
func (r *rootfs) readOptional(p string) ([]byte, error) {
	if _, err := r.resolve(p); errors.Is(err, errNotExist) {
		return nil, nil
	}
	return r.read(p)
}

// children lists the direct entries of directory dir (which must be resolved), sorted.
func (r *rootfs) children(dir string) []string {
	var out []string
	for p := range r.nodes {
		if p != "/" && path.Dir(p) == dir {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// match lists every path whose base name satisfies ok, sorted.
func (r *rootfs) match(ok func(base string) bool) []string {
	var out []string
	for p := range r.nodes {
		if ok(path.Base(p)) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}
