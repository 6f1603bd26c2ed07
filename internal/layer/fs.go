package layer

import (
	"bytes"
	"io"
	"io/fs"
	"path"
	"sort"
	"time"
)

// FS is a read-only io/fs view of a tree, for code that inspects what a
// layer will hold (library scans, for instance). Open does not follow
// symlinks: a symlink opens as itself, and Readlink gives its target.
type FS struct {
	entries  map[string]*Entry
	children map[string][]string
}

// FS returns a view of the tree as it is now, implicit parents included.
func (t *Tree) FS() *FS {
	f := &FS{entries: map[string]*Entry{}, children: map[string][]string{}}
	for _, e := range t.Entries() {
		f.entries[e.Path] = e
		dir := path.Dir(e.Path)
		f.children[dir] = append(f.children[dir], path.Base(e.Path))
	}
	for _, c := range f.children {
		sort.Strings(c)
	}
	return f
}

// Open opens name (slash-separated, relative, as io/fs wants).
func (f *FS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return &openDir{info: fileInfo{name: ".", mode: fs.ModeDir | 0o755}, fs: f, dir: "."}, nil
	}
	e, ok := f.entries[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	info := entryInfo(e)
	if e.Kind == Dir {
		return &openDir{info: info, fs: f, dir: name}, nil
	}
	if e.Source == nil {
		return &openFile{info: info, r: bytes.NewReader(e.Data)}, nil
	}
	r, err := e.Source.Open()
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	file := &sourceFile{info: info, ReadCloser: r}
	if ra, ok := r.(io.ReaderAt); ok {
		return randomAccessFile{sourceFile: file, ReaderAt: ra}, nil
	}
	return file, nil
}

// Readlink returns the target of the symlink at name.
func (f *FS) Readlink(name string) (string, error) {
	e, ok := f.entries[name]
	if !ok {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrNotExist}
	}
	if e.Kind != Symlink {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	return e.Target, nil
}

// ReadDir lists the directory name, sorted.
func (f *FS) ReadDir(name string) ([]fs.DirEntry, error) {
	if name != "." {
		e, ok := f.entries[name]
		if !ok {
			return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
		}
		if e.Kind != Dir {
			return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrInvalid}
		}
	}
	var out []fs.DirEntry
	for _, c := range f.children[name] {
		p := c
		if name != "." {
			p = name + "/" + c
		}
		out = append(out, fs.FileInfoToDirEntry(entryInfo(f.entries[p])))
	}
	return out, nil
}

func entryInfo(e *Entry) fileInfo {
	mode := e.Mode
	switch e.Kind {
	case Dir:
		mode |= fs.ModeDir
	case Symlink:
		mode |= fs.ModeSymlink
	}
	return fileInfo{name: path.Base(e.Path), size: e.Size(), mode: mode}
}

type fileInfo struct {
	name string
	size int64
	mode fs.FileMode
}

func (i fileInfo) Name() string       { return i.name }
func (i fileInfo) Size() int64        { return i.size }
func (i fileInfo) Mode() fs.FileMode  { return i.mode }
func (i fileInfo) ModTime() time.Time { return time.Time{} }
func (i fileInfo) IsDir() bool        { return i.mode.IsDir() }
func (i fileInfo) Sys() any           { return nil }

type openFile struct {
	info fileInfo
	r    *bytes.Reader
}

func (f *openFile) Stat() (fs.FileInfo, error)                { return f.info, nil }
func (f *openFile) Read(p []byte) (int, error)                { return f.r.Read(p) }
func (f *openFile) ReadAt(p []byte, off int64) (int, error)   { return f.r.ReadAt(p, off) }
func (f *openFile) Seek(off int64, whence int) (int64, error) { return f.r.Seek(off, whence) }
func (f *openFile) Close() error                              { return nil }

// sourceFile is an entry whose content is read from its Source; it offers
// random access only when the source's reader does (a file on disk), so
// readers fall back to streaming otherwise.
type sourceFile struct {
	info fileInfo
	io.ReadCloser
}

func (f *sourceFile) Stat() (fs.FileInfo, error) { return f.info, nil }

// randomAccessFile is a sourceFile whose reader is an io.ReaderAt.
type randomAccessFile struct {
	*sourceFile
	io.ReaderAt
}

type openDir struct {
	info    fileInfo
	fs      *FS
	dir     string
	entries []fs.DirEntry // nil until the first ReadDir
	offset  int
}

func (d *openDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *openDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.dir, Err: fs.ErrInvalid}
}
func (d *openDir) Close() error { return nil }

func (d *openDir) ReadDir(n int) ([]fs.DirEntry, error) {
	if d.entries == nil {
		all, err := d.fs.ReadDir(d.dir)
		if err != nil {
			return nil, err
		}
		d.entries = append([]fs.DirEntry{}, all...)
	}
	rest := d.entries[d.offset:]
	if n <= 0 {
		d.offset = len(d.entries)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	if n > len(rest) {
		n = len(rest)
	}
	d.offset += n
	return rest[:n], nil
}

var _ fs.ReadDirFS = (*FS)(nil)
