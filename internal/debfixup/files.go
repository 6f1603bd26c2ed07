package debfixup

import (
	"path"
	"sort"
	"strings"

	"github.com/kiln-build/kiln/internal/layer"
)

// Files is a read-only view of the filesystem below the new layer (the base
// image). Paths are absolute and slash-separated ("/etc/passwd"); Glob takes
// a path.Match pattern over such paths and returns the matches sorted.
// Apply accepts a nil Files as an empty base.
type Files interface {
	ReadFile(path string) ([]byte, bool)
	Exists(path string) bool
	Glob(pattern string) []string
}

// Readlinker is implemented by a Files that can tell symbolic links apart.
// Without it, links in the base are not resolved, except that the merged-/usr
// aliases (/bin → usr/bin, …) are assumed when usr-is-merged is installed.
type Readlinker interface {
	Readlink(path string) (target string, ok bool)
}

// TreeFiles is a Files view of a layer tree, such as a base that kiln itself
// assembled. Reads follow symbolic links inside the tree.
func TreeFiles(t *layer.Tree) Files { return treeFiles{t} }

type treeFiles struct{ t *layer.Tree }

func (f treeFiles) ReadFile(p string) ([]byte, bool) {
	e, ok := f.t.Get(strings.TrimPrefix(resolve(p, f.Readlink), "/"))
	if !ok || e.Kind != layer.Regular {
		return nil, false
	}
	return e.Data, true
}

func (f treeFiles) Exists(p string) bool {
	r := strings.TrimPrefix(resolve(p, f.Readlink), "/")
	if _, ok := f.t.Get(r); ok {
		return true
	}
	// Entries lists the directories implied by deeper entries too.
	for _, e := range f.t.Entries() {
		if e.Path == r {
			return true
		}
	}
	return false
}

func (f treeFiles) Glob(pattern string) []string {
	var out []string
	for _, e := range f.t.Entries() {
		if ok, _ := path.Match(pattern, "/"+e.Path); ok {
			out = append(out, "/"+e.Path)
		}
	}
	return out
}

func (f treeFiles) Readlink(p string) (string, bool) {
	e, ok := f.t.Get(strings.TrimPrefix(p, "/"))
	if !ok || e.Kind != layer.Symlink {
		return "", false
	}
	return e.Target, true
}

type noFiles struct{}

func (noFiles) ReadFile(string) ([]byte, bool) { return nil, false }
func (noFiles) Exists(string) bool             { return false }
func (noFiles) Glob(string) []string           { return nil }

// maxHops bounds symlink resolution, as the kernel's 40 does.
const maxHops = 40

// resolve returns the absolute path p names once every symbolic link among
// its components is followed, using readlink. Components that are not links
// (or that readlink does not know) are kept; ".." stops at the root.
func resolve(p string, readlink func(string) (string, bool)) string {
	parts := strings.Split(p, "/")
	cur := "/"
	for hops := 0; len(parts) > 0; {
		c := parts[0]
		parts = parts[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, c)
		if target, ok := readlink(next); ok && hops < maxHops {
			hops++
			if strings.HasPrefix(target, "/") {
				cur = "/"
			}
			parts = append(strings.Split(target, "/"), parts...)
			continue
		}
		cur = next
	}
	return cur
}

// usrAliases are the top-level directories that merged-/usr turns into links.
var usrAliases = map[string]string{
	"/bin": "usr/bin", "/sbin": "usr/sbin", "/lib": "usr/lib",
	"/lib32": "usr/lib32", "/lib64": "usr/lib64", "/libx32": "usr/libx32", "/libo32": "usr/libo32",
}

// view is the filesystem as the maintainer scripts would see it: the new
// tree over the base. All writes go through it, so it keeps its own index of
// the tree's paths (implicit parent directories included).
type view struct {
	tree   *layer.Tree
	base   Files
	merged bool            // base links unknown, but /usr is merged
	names  map[string]bool // every tree path, relative, implicit parents included
}

func newView(tree *layer.Tree, base Files, merged bool) *view {
	if base == nil {
		base = noFiles{}
	}
	v := &view{tree: tree, base: base, merged: merged, names: map[string]bool{}}
	for _, e := range tree.Entries() {
		v.names[e.Path] = true
	}
	return v
}

func rel(p string) string { return strings.TrimPrefix(path.Clean("/"+p), "/") }

// readlink reports whether p (absolute, its parents already resolved) is a
// symbolic link in the tree or, failing that, in the base.
func (v *view) readlink(p string) (string, bool) {
	if e, ok := v.tree.Get(rel(p)); ok {
		if e.Kind == layer.Symlink {
			return e.Target, true
		}
		return "", false
	}
	if v.names[rel(p)] {
		return "", false // a directory of the tree
	}
	if rl, ok := v.base.(Readlinker); ok {
		return rl.Readlink(p)
	}
	if t, ok := usrAliases[p]; ok && v.merged {
		return t, true
	}
	return "", false
}

func (v *view) resolve(p string) string { return resolve(p, v.readlink) }

// inTree reports whether the new tree has p, or something below it.
func (v *view) inTree(p string) bool { return v.names[rel(p)] }

// treeUnder reports whether the new tree has an entry strictly below dir.
func (v *view) treeUnder(dir string) bool {
	prefix := rel(dir) + "/"
	for n := range v.names {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	return false
}

func (v *view) readFile(p string) ([]byte, bool) {
	r := v.resolve(p)
	if e, ok := v.tree.Get(rel(r)); ok {
		if e.Kind != layer.Regular {
			return nil, false
		}
		return e.Data, true
	}
	if v.names[rel(r)] {
		return nil, false
	}
	return v.base.ReadFile(r)
}

func (v *view) exists(p string) bool {
	r := v.resolve(p)
	return v.names[rel(r)] || v.base.Exists(r)
}

// isDir reports whether p is a directory. Files cannot say so directly: a
// base path that exists but cannot be read as a file is taken as one.
func (v *view) isDir(p string) bool {
	r := v.resolve(p)
	if e, ok := v.tree.Get(rel(r)); ok {
		return e.Kind == layer.Dir
	}
	if v.names[rel(r)] {
		return true
	}
	if !v.base.Exists(r) {
		return false
	}
	_, isFile := v.base.ReadFile(r)
	return !isFile
}

// isFile reports whether p is a regular file (after links).
func (v *view) isFile(p string) bool {
	_, ok := v.readFile(p)
	return ok
}

// glob matches pattern against the paths of the tree and the base, sorted.
// Links are not followed; a pattern names real directories.
func (v *view) glob(pattern string) []string {
	seen := map[string]bool{}
	for n := range v.names {
		if ok, _ := path.Match(pattern, "/"+n); ok {
			seen["/"+n] = true
		}
	}
	for _, p := range v.base.Glob(pattern) {
		seen[p] = true
	}
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// findFiles lists the regular files below dir whose names match pattern, as
// `find dir -type f -name pattern` would, down to a fixed depth.
func (v *view) findFiles(dir, pattern string) []string {
	const depth = 6
	var out []string
	p := strings.TrimSuffix(dir, "/")
	for i := 0; i < depth; i++ {
		p += "/*"
		for _, m := range v.glob(p) {
			if ok, _ := path.Match(pattern, path.Base(m)); ok && v.isFile(m) {
				out = append(out, m)
			}
		}
	}
	sort.Strings(out)
	return out
}

func (v *view) add(e layer.Entry) error {
	if err := v.tree.Add(e); err != nil {
		return err
	}
	p := rel(e.Path)
	for ; p != "."; p = path.Dir(p) {
		v.names[p] = true
	}
	return nil
}

func (v *view) writeFile(p string, mode uint32, uid, gid int, data []byte) error {
	return v.add(layer.Entry{Path: rel(p), Kind: layer.Regular, Mode: fileMode(mode), UID: uid, GID: gid, Data: data})
}

func (v *view) mkdir(p string, mode uint32, uid, gid int) error {
	return v.add(layer.Entry{Path: rel(p), Kind: layer.Dir, Mode: fileMode(mode), UID: uid, GID: gid})
}

func (v *view) symlink(p, target string) error {
	return v.add(layer.Entry{Path: rel(p), Kind: layer.Symlink, Mode: 0o777, Target: target})
}
