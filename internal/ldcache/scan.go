package ldcache

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/bits"
	"path"
	"slices"
	"strings"

	"github.com/kiln-build/kiln/internal/ldso"
)

// FS is an image root filesystem whose symbolic links resolve inside the
// image, as for the loader checks of internal/ldso.
type FS = ldso.FS

// Scan returns the libraries that Debian's ldconfig would put in the cache
// of the image root for arch ("amd64" or "arm64"), in the order it finds
// them, which Write needs to rank equal sonames.
//
// Like ldconfig it reads the directories of etc/ld.so.conf and its
// includes, then lib/<triplet>, usr/lib/<triplet>, lib and usr/lib, each
// once however it is reached, and their glibc-hwcaps subdirectories. It
// takes every shared object whose name looks like a library, one per
// soname and directory, with the soname (or, for a development link such
// as libfoo.so -> libfoo.so.1, the link's name) as the file name, the way
// ldconfig records it once it has made the soname links; Scan makes no
// links, so an entry may name a link the image lacks.
//
// Unlike ldconfig, Scan keeps only 64-bit little-endian objects for arch's
// machine (ldconfig also takes i386 and x32 objects on amd64, and any
// 64-bit object on arm64), and it does not descend into the legacy hwcap
// subdirectories (tls, x86_64, haswell, ...) that glibc dropped in 2.37.
func Scan(root FS, arch string) ([]Entry, error) {
	a, err := lookupArch(arch)
	if err != nil {
		return nil, err
	}
	s := &scanner{root: root, arch: a, seen: map[string]bool{}, reading: map[string]bool{}}
	if err := s.readConf("/etc/ld.so.conf", 0); err != nil {
		return nil, fmt.Errorf("ldcache: %w", err)
	}
	for _, d := range []string{"/lib/" + a.triplet, "/usr/lib/" + a.triplet, "/lib", "/usr/lib"} {
		if err := s.addDir(d); err != nil {
			return nil, fmt.Errorf("ldcache: %w", err)
		}
	}
	var out []Entry
	for _, d := range s.dirs {
		es, err := s.scanDir(d)
		if err != nil {
			return nil, fmt.Errorf("ldcache: %s: %w", d.path, err)
		}
		out = append(out, es...)
	}
	return out, nil
}

type scanner struct {
	root    FS
	arch    arch
	dirs    []dir
	seen    map[string]bool // resolved directories already in dirs
	reading map[string]bool // configuration files on the include path being read
}

type dir struct {
	path   string // as configured; the cache records it
	real   string // resolved in root
	hwcaps string // glibc-hwcaps subdirectory name
}

// maxIncludeDepth bounds includes, which ldconfig follows until it runs
// out of stack.
const maxIncludeDepth = 16

// readConf adds the directories of the ldconfig configuration file name.
// A missing file is no error, as for ldconfig; a file including itself is
// read once.
func (s *scanner) readConf(name string, depth int) error {
	real, info, err := s.stat(name)
	if err != nil || info == nil || !info.Mode().IsRegular() || depth > maxIncludeDepth || s.reading[real] {
		return err
	}
	s.reading[real] = true
	defer delete(s.reading, real)
	data, err := fs.ReadFile(s.root, real)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		line, _, _ = strings.Cut(line, "\x00")
		line, _, _ = strings.Cut(line, "#")
		line = strings.TrimLeft(line, cSpace)
		switch {
		case line == "":
		case keyword(line, "include"):
			for _, pat := range strings.FieldsFunc(line[len("include"):], isBlank) {
				if !strings.HasPrefix(pat, "/") {
					pat = path.Dir(name) + "/" + pat
				}
				matches, err := s.glob(pat)
				if err != nil {
					return fmt.Errorf("%s: include %s: %w", name, pat, err)
				}
				for _, m := range matches {
					if err := s.readConf(m, depth+1); err != nil {
						return err
					}
				}
			}
		case keyword(strings.ToLower(line), "hwcap"):
			// Obsolete and ignored by ldconfig.
		default:
			// The whole rest of the line is one directory; glibc 2.36
			// still drops a "=libc6"-style type suffix.
			line, _, _ = strings.Cut(line, "=")
			if err := s.addDir(line); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	return nil
}

const cSpace = " \t\n\v\f\r"

func isBlank(r rune) bool { return r == ' ' || r == '\t' }

// keyword reports whether line starts with the word kw followed by a blank.
func keyword(line, kw string) bool {
	return len(line) > len(kw) && strings.HasPrefix(line, kw) && isBlank(rune(line[len(kw)]))
}

// glob expands an absolute include pattern like glob(3) without flags:
// wildcards do not match a leading dot, and the result is sorted.
func (s *scanner) glob(pattern string) ([]string, error) {
	out := []string{""}
	for _, part := range strings.Split(pattern, "/") {
		if part == "" {
			continue
		}
		if !strings.ContainsAny(part, `*?[\`) {
			for i := range out {
				out[i] += "/" + part
			}
			continue
		}
		// glob(3) also accepts [!...] for a negated class.
		part = strings.ReplaceAll(part, "[!", "[^")
		var next []string
		for _, prefix := range out {
			real, info, err := s.stat(prefix)
			if err != nil {
				return nil, err
			}
			if info == nil || !info.IsDir() {
				continue
			}
			ents, err := fs.ReadDir(s.root, real)
			if err != nil {
				return nil, err
			}
			for _, e := range ents {
				n := e.Name()
				if strings.HasPrefix(n, ".") && !strings.HasPrefix(part, ".") {
					continue
				}
				if ok, _ := path.Match(part, n); ok {
					next = append(next, prefix+"/"+n)
				}
			}
		}
		out = next
	}
	slices.Sort(out)
	return out, nil
}

// addDir adds a configured directory, unless it does not exist or was
// already added under another name, and its glibc-hwcaps subdirectories.
func (s *scanner) addDir(p string) error {
	p = strings.TrimRight(strings.TrimRight(p, cSpace), "/")
	if p == "" {
		return nil
	}
	real, info, err := s.stat(p)
	if err != nil || info == nil || !info.IsDir() || s.seen[real] {
		return err
	}
	s.seen[real] = true
	s.dirs = append(s.dirs, dir{path: p, real: real})

	hw, info, err := s.stat(real + "/glibc-hwcaps")
	if err != nil || info == nil || !info.IsDir() {
		return err
	}
	ents, err := fs.ReadDir(s.root, hw)
	if err != nil {
		return err
	}
	for _, e := range ents {
		// The loader cannot name subdirectories with a colon.
		n := e.Name()
		if strings.HasPrefix(n, ".") || e.Type().IsRegular() || strings.Contains(n, ":") {
			continue
		}
		sub, info, err := s.stat(hw + "/" + n)
		if err != nil {
			return err
		}
		if info == nil || !info.IsDir() || s.seen[sub] {
			continue
		}
		s.seen[sub] = true
		s.dirs = append(s.dirs, dir{path: p + "/glibc-hwcaps/" + n, real: sub, hwcaps: n})
	}
	return nil
}

// stat resolves name in root and returns its resolved path and
// information, or nil information when it does not exist.
func (s *scanner) stat(name string) (string, fs.FileInfo, error) {
	real, err := ldso.Resolve(s.root, name)
	if err != nil {
		return "", nil, nil
	}
	info, err := fs.Stat(s.root, real)
	if errors.Is(err, fs.ErrNotExist) {
		return real, nil, nil
	}
	if err != nil {
		return "", nil, err
	}
	return real, info, nil
}

// lib is the file chosen for one soname in a directory.
type lib struct {
	soname string
	name   string
	link   bool
	isa    uint32
}

func (s *scanner) scanDir(d dir) ([]Entry, error) {
	ents, err := fs.ReadDir(s.root, d.real)
	if err != nil {
		return nil, err
	}
	var libs []*lib
	bySoname := map[string]*lib{}
	for _, e := range ents {
		name, t := e.Name(), e.Type()
		if t&(fs.ModeDevice|fs.ModeNamedPipe|fs.ModeSocket|fs.ModeIrregular) != 0 {
			continue
		}
		// Only in glibc-hwcaps subdirectories does ldconfig look at
		// links whose name does not look like a library's.
		if !isDSO(name) && (t.IsRegular() || d.hwcaps == "") || skipName(name) {
			continue
		}
		link := t&fs.ModeSymlink != 0
		real, info, err := s.stat(d.real + "/" + name)
		if err != nil {
			return nil, err
		}
		if info == nil || !info.Mode().IsRegular() {
			continue
		}
		soname, isa, ok, err := s.readLib(real)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if !ok {
			continue
		}
		if soname == "" {
			soname = name
		}
		// A link named after its target's soname, or a development
		// link libfoo.so for libfoo.so.N, is recorded under its own
		// name; other links count as copies of the library.
		if link && name != soname && !(strings.HasSuffix(name, ".so") && strings.HasPrefix(soname, name)) {
			link = false
		}
		if link {
			soname = name
		}
		if l := bySoname[soname]; l != nil {
			// Prefer a file to a link, then the newest version.
			if !link && l.link || link == l.link && libcmp(l.name, name, s.arch.signedChar) < 0 {
				l.name, l.link, l.isa = name, link, isa
			}
			continue
		}
		l := &lib{soname: soname, name: name, link: link, isa: isa}
		bySoname[soname] = l
		libs = append(libs, l)
	}
	out := make([]Entry, 0, len(libs))
	for _, l := range libs {
		e := Entry{Soname: l.soname, Path: d.path + "/" + l.soname, Flags: s.arch.flags}
		if d.hwcaps != "" {
			// Names in glibc-hwcaps subdirectories get no soname links,
			// so the cache names the file.
			e.Path = d.path + "/" + l.name
			e.HWCaps = d.hwcaps
			e.HWCap = HWCapExtension | uint64(l.isa)<<32
		}
		out = append(out, e)
	}
	return out, nil
}

// isDSO reports whether ldconfig considers a file name a library's:
// lib*.so*, ld-*.so*, ld.so.* or ld64.so.*.
func isDSO(name string) bool {
	return (strings.HasPrefix(name, "lib") || strings.HasPrefix(name, "ld-")) && strings.Contains(name, ".so") ||
		strings.HasPrefix(name, "ld.so.") || strings.HasPrefix(name, "ld64.so.")
}

// skipName reports temporary files of prelink, rpm and dpkg.
func skipName(name string) bool {
	if strings.HasSuffix(name, ".#prelink#") || strings.Contains(name, ";") ||
		strings.HasSuffix(name, ".dpkg-new") || strings.HasSuffix(name, ".dpkg-tmp") {
		return true
	}
	i := len(name) - len(".#prelink#.XXXXXX")
	return i >= 0 && strings.HasPrefix(name[i:], ".#prelink#.")
}

// ELF layout of the 64-bit little-endian objects Scan accepts.
const (
	ehdrSize     = 64
	phdrSize     = 56
	dynSize      = 16
	etDyn        = 3
	ptLoad       = 1
	ptDynamic    = 2
	ptGNUProp    = 0x6474e553
	dtNull       = 0
	dtStrtab     = 5
	dtSoname     = 14
	ntGNUProp    = 5
	x86ISANeeded = 0xc0008002
)

// readLib reads the shared object at the resolved path name the way
// ldconfig does, through its program headers. It returns ok false for
// files ldconfig would pass over: not an ELF shared object for the
// architecture, no dynamic segment or string table, or truncated.
func (s *scanner) readLib(name string) (soname string, isa uint32, ok bool, err error) {
	f, err := s.root.Open(name)
	if err != nil {
		return "", 0, false, err
	}
	defer f.Close()
	ra, size, err := readerAt(f)
	if err != nil {
		return "", 0, false, err
	}
	r := &elfReader{ra: ra, size: size}
	h := r.bytes(0, ehdrSize)
	le := binary.LittleEndian
	if h == nil || string(h[:4]) != "\x7fELF" || h[4] != 2 || h[5] != 1 ||
		le.Uint16(h[16:]) != etDyn || le.Uint16(h[18:]) != s.arch.machine {
		return "", 0, false, r.err
	}
	phoff, phnum := le.Uint64(h[32:]), uint64(le.Uint16(h[56:]))
	phdrs := r.bytes(phoff, phnum*phdrSize)
	if phdrs == nil {
		return "", 0, false, r.err
	}
	var dynOff, dynLen uint64
	for i := uint64(0); i < phnum; i++ {
		p := phdrs[i*phdrSize:]
		switch le.Uint32(p) {
		case ptDynamic:
			dynOff, dynLen = le.Uint64(p[8:]), le.Uint64(p[32:])
		case ptGNUProp:
			if s.arch.isaLevel && le.Uint64(p[48:]) == 8 {
				if l, found := isaLevel(r.bytes(le.Uint64(p[8:]), le.Uint64(p[32:]))); found {
					isa = l
				}
			}
		}
	}
	if dynLen == 0 {
		return "", 0, false, r.err
	}
	// ldconfig reads the dynamic array up to DT_NULL, whatever the
	// segment's size says.
	strtab, sonameOff, haveSoname := uint64(0), uint64(0), false
	haveStrtab := false
	for off := dynOff; ; off += dynSize {
		d := r.bytes(off, dynSize)
		if d == nil {
			return "", 0, false, r.err
		}
		tag, val := le.Uint64(d), le.Uint64(d[8:])
		if tag == dtNull {
			break
		}
		switch {
		case tag == dtStrtab && !haveStrtab:
			strtab, haveStrtab = fileOffset(phdrs, phnum, val), true
		case tag == dtSoname && !haveSoname:
			sonameOff, haveSoname = val, true
		}
	}
	if !haveStrtab || strtab > size {
		return "", 0, false, r.err
	}
	if !haveSoname {
		return "", isa, true, nil
	}
	soname, ok = r.cString(strtab + sonameOff)
	return soname, isa, ok, r.err
}

// fileOffset maps the address of the dynamic string table to a file
// offset through the first PT_LOAD segment holding it, or takes it as an
// offset when none does.
func fileOffset(phdrs []byte, phnum, addr uint64) uint64 {
	le := binary.LittleEndian
	for i := uint64(0); i < phnum; i++ {
		p := phdrs[i*phdrSize:]
		if le.Uint32(p) != ptLoad {
			continue
		}
		off, vaddr, filesz := le.Uint64(p[8:]), le.Uint64(p[16:]), le.Uint64(p[32:])
		if addr >= vaddr && addr-vaddr < filesz {
			return addr - (vaddr - off)
		}
	}
	return addr
}

// isaLevel returns the x86 ISA level an object needs, the highest bit of
// GNU_PROPERTY_X86_ISA_1_NEEDED in its first NT_GNU_PROPERTY_TYPE_0 note,
// reading the notes as ldconfig does, and whether it has one.
func isaLevel(notes []byte) (uint32, bool) {
	le := binary.LittleEndian
	for off := uint64(0); off+12 < uint64(len(notes)); {
		namesz, descsz, typ := uint64(le.Uint32(notes[off:])), uint64(le.Uint32(notes[off+4:])), le.Uint32(notes[off+8:])
		if namesz == 4 && typ == ntGNUProp && off+16 <= uint64(len(notes)) && string(notes[off+12:off+16]) == "GNU\x00" {
			if descsz < 8 || descsz%8 != 0 || off+16+descsz > uint64(len(notes)) {
				return 0, false
			}
			desc := notes[off+16 : off+16+descsz]
			last := uint32(0)
			for len(desc) >= 8 {
				typ, datasz := le.Uint32(desc), uint64(le.Uint32(desc[4:]))
				desc = desc[8:]
				if typ < last || datasz > uint64(len(desc)) || typ > x86ISANeeded {
					return 0, false
				}
				last = typ
				if typ == x86ISANeeded {
					if datasz != 4 || le.Uint32(desc) == 0 {
						return 0, false
					}
					return uint32(bits.Len32(le.Uint32(desc)) - 1), true
				}
				desc = desc[min(align8(datasz), uint64(len(desc))):]
			}
			return 0, false
		}
		off += align8(align8(12+namesz) + descsz)
	}
	return 0, false
}

func align8(n uint64) uint64 { return (n + 7) &^ 7 }

// elfReader reads parts of a file, remembering the first I/O error; a
// part beyond the end of the file is not an error, only absent.
type elfReader struct {
	ra   io.ReaderAt
	size uint64
	err  error
}

func (r *elfReader) bytes(off, n uint64) []byte {
	if r.err != nil || off > r.size || n > r.size-off {
		return nil
	}
	b := make([]byte, n)
	if _, err := r.ra.ReadAt(b, int64(off)); err != nil {
		r.err = err
		return nil
	}
	return b
}

// cString returns the NUL-terminated string at off.
func (r *elfReader) cString(off uint64) (string, bool) {
	var s []byte
	for off < r.size {
		b := r.bytes(off, min(256, r.size-off))
		if b == nil {
			return "", false
		}
		if i := bytes.IndexByte(b, 0); i >= 0 {
			return string(append(s, b[:i]...)), true
		}
		s = append(s, b...)
		off += uint64(len(b))
	}
	return "", false
}

// readerAt gives random access to f, reading it into memory only when its
// FS offers none.
func readerAt(f fs.File) (io.ReaderAt, uint64, error) {
	info, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	if ra, ok := f.(io.ReaderAt); ok {
		return ra, uint64(info.Size()), nil
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, 0, err
	}
	return bytes.NewReader(b), uint64(len(b)), nil
}
