// Package ldso finds the shared libraries that the glibc dynamic loader would
// fail to find inside an image's root filesystem, without running anything.
//
// Each ELF file is checked on its own: its DT_NEEDED entries are looked up in
// its DT_RPATH (only when it has no DT_RUNPATH), its DT_RUNPATH, the
// directories of /etc/ld.so.conf and the default directories for its machine,
// and a candidate only counts if its ELF class, byte order and machine match.
// RPATHs inherited from the loading executable and LD_LIBRARY_PATH are not
// considered; every object in the image is checked, so a library relying on
// its loader's RPATH may be reported.
package ldso

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// FS is an image root filesystem whose symbolic links can be read, so that
// they are resolved inside the image rather than on the host.
type FS interface {
	fs.FS
	// Readlink returns the target of the symbolic link name, and an error
	// when name is not a symbolic link.
	Readlink(name string) (string, error)
}

// DirFS returns the root filesystem stored in the host directory dir.
func DirFS(dir string) FS { return dirFS{FS: os.DirFS(dir), dir: dir} }

type dirFS struct {
	fs.FS
	dir string
}

func (d dirFS) Readlink(name string) (string, error) {
	if !fs.ValidPath(name) {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	return os.Readlink(filepath.Join(d.dir, filepath.FromSlash(name)))
}

// Missing is a DT_NEEDED library of Binary that no searched directory holds
// in a compatible form. Paths are relative to the image root.
type Missing struct {
	Binary, Library string
	Searched        []string
}

func (m Missing) String() string {
	return fmt.Sprintf("%s: %s not found (searched %s)", m.Binary, m.Library, strings.Join(m.Searched, ", "))
}

// maxSymlinks matches Linux's limit before ELOOP.
const maxSymlinks = 40

var errLoop = errors.New("too many levels of symbolic links")

// Resolve returns name with every symbolic link in it followed inside root.
// Absolute targets restart at root and ".." never climbs above it, as in a
// chroot. The result may not exist.
func Resolve(root FS, name string) (string, error) {
	var done []string
	todo := strings.Split(name, "/")
	links := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}
		target, err := root.Readlink(path.Join(path.Join(done...), c))
		if err != nil {
			done = append(done, c)
			continue
		}
		if links++; links > maxSymlinks {
			return "", fmt.Errorf("%s: %w", name, errLoop)
		}
		if strings.HasPrefix(target, "/") {
			done = done[:0]
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	if len(done) == 0 {
		return ".", nil
	}
	return path.Join(done...), nil
}

// ident is the part of the ELF header the loader compares between an object
// and the libraries it loads.
type ident struct {
	class   elf.Class
	data    elf.Data
	machine elf.Machine
}

// readIdent returns the header of the file at the resolved path name, and
// false when it is not a regular ELF file.
func readIdent(root FS, name string) (ident, bool) {
	f, err := root.Open(name)
	if err != nil {
		return ident{}, false
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return ident{}, false
	}
	var h [20]byte
	if _, err := io.ReadFull(f, h[:]); err != nil || string(h[:4]) != elf.ELFMAG {
		return ident{}, false
	}
	id := ident{class: elf.Class(h[elf.EI_CLASS]), data: elf.Data(h[elf.EI_DATA])}
	switch id.data {
	case elf.ELFDATA2LSB:
		id.machine = elf.Machine(uint16(h[18]) | uint16(h[19])<<8)
	case elf.ELFDATA2MSB:
		id.machine = elf.Machine(uint16(h[19]) | uint16(h[18])<<8)
	default:
		return ident{}, false
	}
	return id, true
}

// FindELF returns every regular file in root that starts with the ELF magic,
// in lexical order. Symbolic links are skipped: their targets are listed
// where they live.
func FindELF(root FS) ([]string, error) {
	var out []string
	err := fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		f, err := root.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		var magic [4]byte
		if _, err := io.ReadFull(f, magic[:]); err == nil && string(magic[:]) == elf.ELFMAG {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ldso: finding ELF files: %w", err)
	}
	return out, nil
}

// Check returns the unresolvable DT_NEEDED libraries of the ELF files among
// paths; other files are skipped. A file that starts like an ELF file but
// cannot be parsed is an error.
func Check(root FS, paths []string) ([]Missing, error) {
	conf, err := readConf(root)
	if err != nil {
		return nil, err
	}
	c := &checker{root: root, conf: conf, idents: map[string]identResult{}, dirs: map[string]string{}}
	var out []Missing
	for _, p := range paths {
		m, err := c.check(p)
		if err != nil {
			return nil, fmt.Errorf("ldso: %s: %w", p, err)
		}
		out = append(out, m...)
	}
	return out, nil
}

type identResult struct {
	id ident
	ok bool
}

type checker struct {
	root   FS
	conf   []string               // directories from ld.so.conf, in order
	idents map[string]identResult // candidate path → header
	dirs   map[string]string      // search directory → resolved directory
}

func (c *checker) check(name string) ([]Missing, error) {
	real, err := Resolve(c.root, name)
	if err != nil {
		return nil, err
	}
	f, err := c.root.Open(real)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, nil
	}
	ra, err := readerAt(f)
	if err != nil {
		return nil, err
	}
	var magic [4]byte
	if _, err := ra.ReadAt(magic[:], 0); err != nil || string(magic[:]) != elf.ELFMAG {
		return nil, nil
	}
	ef, err := elf.NewFile(ra)
	if err != nil {
		return nil, err
	}
	needed, err := ef.DynString(elf.DT_NEEDED)
	if err != nil {
		return nil, err
	}
	if len(needed) == 0 {
		return nil, nil
	}
	runpath, err := ef.DynString(elf.DT_RUNPATH)
	if err != nil {
		return nil, err
	}
	rpath, err := ef.DynString(elf.DT_RPATH)
	if err != nil {
		return nil, err
	}
	flags1, err := ef.DynValue(elf.DT_FLAGS_1)
	if err != nil {
		return nil, err
	}
	nodeflib := len(flags1) > 0 && elf.DynFlag1(flags1[0])&elf.DF_1_NODEFLIB != 0

	want := ident{class: ef.Class, data: ef.Data, machine: ef.Machine}
	dirs := searchDirs(want, path.Dir(real), rpath, runpath, nodeflib, c.conf)
	var out []Missing
	for _, lib := range needed {
		if strings.Contains(lib, "/") {
			// The loader opens such a name as is, without searching.
			p := strings.TrimPrefix(path.Clean("/"+lib), "/")
			if !c.compatible(p, want) {
				out = append(out, Missing{Binary: name, Library: lib, Searched: []string{path.Dir(p)}})
			}
			continue
		}
		if !c.find(dirs, lib, want) {
			out = append(out, Missing{Binary: name, Library: lib, Searched: dirs})
		}
	}
	return out, nil
}

func (c *checker) find(dirs []string, lib string, want ident) bool {
	for _, d := range dirs {
		rd, ok := c.dirs[d]
		if !ok {
			var err error
			if rd, err = Resolve(c.root, d); err != nil {
				rd = ""
			}
			c.dirs[d] = rd
		}
		if rd != "" && c.compatible(path.Join(rd, lib), want) {
			return true
		}
	}
	return false
}

// compatible reports whether name is an ELF file the loader would accept for
// an object with header want; like the loader, anything else is passed over.
func (c *checker) compatible(name string, want ident) bool {
	r, ok := c.idents[name]
	if !ok {
		if real, err := Resolve(c.root, name); err == nil {
			r.id, r.ok = readIdent(c.root, real)
		}
		c.idents[name] = r
	}
	return r.ok && r.id == want
}

// readerAt avoids copying files whose FS already supports random access.
func readerAt(f fs.File) (io.ReaderAt, error) {
	if ra, ok := f.(io.ReaderAt); ok {
		return ra, nil
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	return bytes.NewReader(b), nil
}
