// Package layer builds deterministic image layers.
//
// A Tree is a file tree held as entries; Write turns it into a tar stream whose
// bytes depend only on the tree: entries sorted by path, parents created
// implicitly, one fixed mtime, numeric owners with no names, normalised modes
// and no xattrs. Small contents kiln writes itself live in memory; everything
// that comes from elsewhere (project files, wheel members, .deb members) is a
// Source read only while the tar is written, so no such file is ever held
// whole in memory.
package layer

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"time"
)

// Kind is the type of a tree entry.
type Kind byte

const (
	Regular Kind = iota
	Dir
	Symlink
)

// Entry is one file, directory or symlink of a Tree.
type Entry struct {
	Path     string // slash-separated, relative to the image root, no leading slash
	Kind     Kind
	Mode     fs.FileMode // permission bits only
	UID, GID int
	Target   string // symlink target, for Symlink
	// The content of a Regular entry: Source when set, else Data.
	Data   []byte
	Source Source
}

// Source is content kept outside the tree and read each time it is needed.
type Source interface {
	// Open returns a reader of exactly Size bytes.
	Open() (io.ReadCloser, error)
	Size() int64
}

// Size is the length of a regular entry's content.
func (e *Entry) Size() int64 {
	if e.Source != nil {
		return e.Source.Size()
	}
	return int64(len(e.Data))
}

// Open reads a regular entry's content.
func (e *Entry) Open() (io.ReadCloser, error) {
	if e.Source != nil {
		return e.Source.Open()
	}
	return io.NopCloser(bytes.NewReader(e.Data)), nil
}

// ReadAll returns a regular entry's content, for the few small files kiln
// edits (passwd, dpkg status, configuration files).
func (e *Entry) ReadAll() ([]byte, error) {
	if e.Source == nil {
		return e.Data, nil
	}
	r, err := e.Source.Open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// FileSource is a file on disk of the given size; Open fails when the file's
// size is no longer that, and the tar writer fails when it yields other than
// size bytes, so a file changed during the build cannot slip into a layer
// with a header that disagrees with its content.
func FileSource(path string, size int64) Source { return fileSource{path: path, size: size} }

type fileSource struct {
	path string
	size int64
}

func (f fileSource) Size() int64 { return f.size }

func (f fileSource) Open() (io.ReadCloser, error) {
	file, err := os.Open(f.path)
	if err != nil {
		return nil, err
	}
	info, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, err
	}
	if info.Size() != f.size {
		file.Close()
		return nil, fmt.Errorf("%s changed size during the build (%d bytes, was %d)", f.path, info.Size(), f.size)
	}
	return file, nil
}

// Tree is an in-memory file tree destined for one layer.
type Tree struct {
	entries map[string]*Entry
	parents map[string]bool // every directory that has an entry below it
}

// NewTree returns an empty tree.
func NewTree() *Tree { return &Tree{entries: map[string]*Entry{}, parents: map[string]bool{}} }

// CleanPath turns p into the canonical relative form used as a tree key. It
// refuses absolute paths, any ".." component and empty names, because every
// path reaching a layer comes from untrusted archives or project trees.
func CleanPath(p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("empty path")
	}
	if strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("absolute path %q", p)
	}
	// A backslash is an ordinary byte of a Linux file name (systemd ships
	// "system-systemd\x2dcryptsetup.slice"); archives that mean it as a
	// separator are refused by their own readers.
	if strings.ContainsRune(p, 0) {
		return "", fmt.Errorf("path %q contains a NUL byte", p)
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return "", fmt.Errorf("path %q has a \"..\" component", p)
		}
	}
	c := path.Clean(p)
	if c == "." {
		return "", fmt.Errorf("path %q names the root", p)
	}
	return c, nil
}

// Add inserts e, replacing any entry at the same path. Parent directories
// that were not added explicitly appear in the tar as root-owned 0755.
func (t *Tree) Add(e Entry) error {
	p, err := CleanPath(strings.TrimPrefix(e.Path, "/"))
	if err != nil {
		return err
	}
	if e.Kind == Symlink && (e.Target == "" || strings.ContainsRune(e.Target, 0)) {
		return fmt.Errorf("symlink %s has an empty target or one with a NUL byte", p)
	}
	e.Path = p
	e.Mode &= fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky
	for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
		if parent, ok := t.entries[dir]; ok && parent.Kind != Dir {
			return fmt.Errorf("%s: parent %s is not a directory", p, dir)
		}
	}
	if e.Kind != Dir && t.parents[p] {
		return fmt.Errorf("%s: a directory of that name already has entries", p)
	}
	t.entries[p] = &e
	for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
		t.parents[dir] = true
	}
	return nil
}

// AddFile adds a root-owned regular file.
func (t *Tree) AddFile(p string, mode fs.FileMode, data []byte) error {
	return t.Add(Entry{Path: p, Kind: Regular, Mode: mode, Data: data})
}

// AddDir adds a root-owned directory.
func (t *Tree) AddDir(p string, mode fs.FileMode) error {
	return t.Add(Entry{Path: p, Kind: Dir, Mode: mode})
}

// AddSymlink adds a symlink.
func (t *Tree) AddSymlink(p, target string) error {
	return t.Add(Entry{Path: p, Kind: Symlink, Mode: 0o777, Target: target})
}

// Get returns the entry at p.
func (t *Tree) Get(p string) (*Entry, bool) {
	c, err := CleanPath(strings.TrimPrefix(p, "/"))
	if err != nil {
		return nil, false
	}
	e, ok := t.entries[c]
	return e, ok
}

// Len is the number of explicit entries.
func (t *Tree) Len() int { return len(t.entries) }

// Entries returns every entry, implicit parents included, sorted by path.
func (t *Tree) Entries() []*Entry {
	all := make(map[string]*Entry, len(t.entries))
	for p, e := range t.entries {
		all[p] = e
		for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
			if _, ok := all[dir]; ok {
				continue
			}
			if explicit, ok := t.entries[dir]; ok {
				all[dir] = explicit
			} else {
				all[dir] = &Entry{Path: dir, Kind: Dir, Mode: 0o755}
			}
		}
	}
	out := make([]*Entry, 0, len(all))
	for _, e := range all {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Write writes the tree as an uncompressed tar stream with every timestamp
// set to mtime.
func (t *Tree) Write(w io.Writer, mtime time.Time) error {
	tw := tar.NewWriter(w)
	mtime = mtime.UTC()
	for _, e := range t.Entries() {
		hdr := &tar.Header{
			Name:    e.Path,
			Mode:    int64(e.Mode.Perm()) | specialBits(e.Mode),
			Uid:     e.UID,
			Gid:     e.GID,
			ModTime: mtime,
			Format:  tar.FormatPAX,
		}
		switch e.Kind {
		case Regular:
			hdr.Typeflag = tar.TypeReg
			hdr.Size = e.Size()
		case Dir:
			hdr.Typeflag = tar.TypeDir
			hdr.Name += "/"
		case Symlink:
			hdr.Typeflag = tar.TypeSymlink
			hdr.Linkname = e.Target
		default:
			return fmt.Errorf("%s: unknown entry kind %d", e.Path, e.Kind)
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("layer entry %s: %w", e.Path, err)
		}
		if e.Kind == Regular {
			if err := writeContent(tw, e); err != nil {
				return fmt.Errorf("layer entry %s: %w", e.Path, err)
			}
		}
	}
	return tw.Close()
}

// writeContent streams e's content into the tar, refusing a source that
// yields more or fewer bytes than the header announced.
func writeContent(tw *tar.Writer, e *Entry) error {
	if e.Source == nil {
		_, err := tw.Write(e.Data)
		return err
	}
	r, err := e.Source.Open()
	if err != nil {
		return err
	}
	defer r.Close()
	size := e.Source.Size()
	n, err := io.CopyN(tw, r, size)
	if err != nil && err != io.EOF {
		return err
	}
	if n < size {
		return fmt.Errorf("content ended after %d of %d bytes", n, size)
	}
	if m, _ := r.Read(make([]byte, 1)); m > 0 {
		return fmt.Errorf("content is longer than %d bytes", size)
	}
	return nil
}

func specialBits(m fs.FileMode) int64 {
	var bits int64
	if m&fs.ModeSetuid != 0 {
		bits |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		bits |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		bits |= 0o1000
	}
	return bits
}
