// Package debinstall unpacks Debian binary packages (.deb) into an image
// layer the way dpkg --unpack lays out their files, onto a merged-/usr root
// and without running any maintainer script, and writes the dpkg database
// that describes them.
package debinstall

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"github.com/kiln-build/kiln/internal/deb"
	"github.com/kiln-build/kiln/internal/layer"
)

// Unpacked describes one package Unpack added to a tree.
type Unpacked struct {
	Control []byte // the control file as shipped: one stanza
	Package *deb.Package
	// Files are the paths in the tree, "/usr/bin/dash", after merged-/usr
	// canonicalisation, directories included, sorted, without the root.
	Files []string
	// Listed are the paths as dpkg records them in info/<pkg>.list and
	// prints them with dpkg -L: the package's own names in archive order,
	// "/." first, "/bin/dash" rather than "/usr/bin/dash". dpkg on a
	// merged-/usr Debian keeps these names, and must find them again: were
	// the canonical names recorded instead, upgrading a package that ships
	// /bin/x with apt inside the image would delete /usr/bin/x as a file
	// the new version dropped.
	Listed []string
	// MD5Sums is the md5sums control member as shipped, or computed in the
	// same format ("<md5>  bin/dash") when the package has none; its names
	// are the package's own, like Listed, which is how dpkg --verify reads
	// them on merged-/usr Debian.
	MD5Sums   []byte
	Conffiles []byte          // the conffiles control member, if any
	Scripts   map[string]bool // maintainer scripts present (preinst, postinst, prerm, postrm, config); never run
	conffiles []conffile      // the shipped conffiles with their md5, for the status Conffiles field
}

type conffile struct{ path, md5 string }

// aliased are the top-level directories that merged-/usr makes symlinks
// into /usr. Bookworm packages still ship files below them; they are
// unpacked where the symlinks lead, as dpkg on a merged-/usr root ends up
// placing them.
var aliased = map[string]bool{"bin": true, "sbin": true, "lib": true, "lib32": true, "lib64": true, "libx32": true, "libo32": true}

// canonical maps a clean relative path to where it lives on merged-/usr.
func canonical(p string) string {
	if first, _, _ := strings.Cut(p, "/"); aliased[first] {
		return "usr/" + p
	}
	return p
}

var maintainerScripts = map[string]bool{"preinst": true, "postinst": true, "prerm": true, "postrm": true, "config": true}

// Package and architecture names become file names under
// var/lib/dpkg/info, so only what Debian policy allows is accepted.
var (
	validName = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)
	validArch = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
)

// item is one entry of data.tar, checked and placed at its canonical path.
type item struct {
	name string      // as in the archive, for messages
	own  string      // the package's own clean name, "bin/dash"; "." for the root
	e    layer.Entry // e.Path is canonical
}

// Unpack reads the .deb in r (size bytes, named debName in errors) and adds
// its files to tree at their merged-/usr places: /bin/dash becomes
// usr/bin/dash (MergedUsr makes the bin -> usr/bin links), which is right
// only for a merged-/usr root, bookworm and later, not bullseye. Modes,
// setuid and setgid bits and numeric owners are kept; hard links become
// copies. Like
// dpkg --unpack it records the package's file list in
// var/lib/dpkg/info/<pkg>.list (with .md5sums and .conffiles), which is how
// a later Unpack names the package that owns a path it may not overwrite.
//
// Absolute or ".." entry names, device nodes and fifos, symlinks whose
// relative target leaves the image root, and paths another package (or
// anything else) already put in tree are errors naming the .deb and the
// entry; directories may be shared, and keep the mode they first had. On
// error tree is left unchanged.
func Unpack(tree *layer.Tree, debName string, r io.ReaderAt, size int64) (*Unpacked, error) {
	u, items, err := read(r, size)
	if err != nil {
		return nil, fmt.Errorf("deb %s: %w", debName, err)
	}
	if err := install(tree, u, items); err != nil {
		return nil, fmt.Errorf("deb %s (package %s): %w", debName, infoKey(u.Package), err)
	}
	return u, nil
}

// read parses the whole package without touching any tree.
func read(r io.ReaderAt, size int64) (*Unpacked, []item, error) {
	members, err := readAr(r, size)
	if err != nil {
		return nil, nil, err
	}
	if len(members) == 0 || members[0].name != "debian-binary" {
		return nil, nil, errors.New("not a Debian package: the first ar member is not debian-binary")
	}
	version, err := io.ReadAll(io.LimitReader(members[0].data, 16))
	if err != nil {
		return nil, nil, fmt.Errorf("ar member debian-binary: %w", err)
	}
	if !bytes.HasPrefix(version, []byte("2.")) {
		return nil, nil, fmt.Errorf("ar member debian-binary: format %q, want 2.x", bytes.TrimSpace(version))
	}
	u := &Unpacked{Scripts: map[string]bool{}}
	var items []item
	var haveControl, haveData bool
	for _, m := range members[1:] {
		switch {
		case strings.HasPrefix(m.name, "_"):
			// dpkg-deb skips these members, reserved for extensions.
		case strings.HasPrefix(m.name, "control.tar") && !haveControl && !haveData:
			haveControl = true
			err = withTar(m, func(tr *tar.Reader) error { return readControl(u, tr) })
		case strings.HasPrefix(m.name, "data.tar") && haveControl && !haveData:
			haveData = true
			err = withTar(m, func(tr *tar.Reader) (err error) {
				items, err = readData(u, tr)
				return err
			})
		default:
			return nil, nil, fmt.Errorf("ar member %q is unexpected here", m.name)
		}
		if err != nil {
			return nil, nil, err
		}
	}
	if !haveData {
		return nil, nil, errors.New("no data.tar member")
	}
	if err := finish(u, items); err != nil {
		return nil, nil, err
	}
	return u, items, nil
}

// withTar opens the tar stream of an ar member, however it is compressed.
func withTar(m arMember, f func(*tar.Reader) error) error {
	// The xz reader takes a byte at a time; unbuffered, each one was a
	// read from the file, and libc6 took 2.2 s instead of 0.3 s.
	in := bufio.NewReaderSize(m.data, 64<<10)
	var r io.Reader
	switch _, suffix, _ := strings.Cut(m.name, ".tar"); suffix {
	case "":
		r = in
	case ".gz":
		zr, err := gzip.NewReader(in)
		if err != nil {
			return fmt.Errorf("ar member %s: %w", m.name, err)
		}
		r = zr
	case ".xz":
		xr, err := xz.NewReader(in)
		if err != nil {
			return fmt.Errorf("ar member %s: %w", m.name, err)
		}
		r = xr
	case ".zst":
		// One goroutine, and no window larger than dpkg-deb's highest
		// level (2^27) uses, so a hostile header cannot claim gigabytes.
		zr, err := zstd.NewReader(in, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(1<<27))
		if err != nil {
			return fmt.Errorf("ar member %s: %w", m.name, err)
		}
		defer zr.Close()
		r = zr
	default:
		return fmt.Errorf("ar member %s: unsupported compression %q", m.name, suffix)
	}
	if err := f(tar.NewReader(r)); err != nil {
		return fmt.Errorf("%s: %w", m.name, err)
	}
	return nil
}

func readControl(u *Unpacked, tr *tar.Reader) error {
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(hdr.Name, "./")
		if hdr.Typeflag != tar.TypeReg || strings.Contains(name, "/") {
			continue
		}
		var dst *[]byte
		switch name {
		case "control":
			dst = &u.Control
		case "md5sums":
			dst = &u.MD5Sums
		case "conffiles":
			dst = &u.Conffiles
		default:
			if maintainerScripts[name] {
				u.Scripts[name] = true
			}
			continue
		}
		if *dst, err = io.ReadAll(tr); err != nil {
			return fmt.Errorf("entry %s: %w", hdr.Name, err)
		}
	}
	if u.Control == nil {
		return errors.New("no control file")
	}
	paras, err := deb.ParseParagraphs(bytes.NewReader(u.Control))
	if err != nil {
		return fmt.Errorf("entry control: %w", err)
	}
	if len(paras) != 1 {
		return fmt.Errorf("entry control: %d stanzas, want 1", len(paras))
	}
	p, err := deb.PackageFromParagraph(paras[0])
	if err != nil {
		return fmt.Errorf("entry control: %w", err)
	}
	if !validName.MatchString(p.Name) {
		return fmt.Errorf("entry control: invalid package name %q", p.Name)
	}
	if !validArch.MatchString(p.Architecture) {
		return fmt.Errorf("entry control: package %s: invalid Architecture %q", p.Name, p.Architecture)
	}
	for _, f := range []string{"Status", "Conffiles"} {
		// dpkg writes these into status itself; a package must not bring them.
		if _, ok := paras[0].Get(f); ok {
			return fmt.Errorf("entry control: package %s has a %s field", p.Name, f)
		}
	}
	u.Package = p
	return nil
}

// readData reads every entry of data.tar into memory, checking each one and
// the shape of the tree they make together.
func readData(u *Unpacked, tr *tar.Reader) ([]item, error) {
	var items []item
	at := map[string]int{} // canonical path -> index in items
	listed := map[string]bool{}
	scratch := layer.NewTree()
	last := "(start)"
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return items, nil
		}
		if err != nil {
			return nil, fmt.Errorf("after entry %s: %w", last, err)
		}
		last = hdr.Name
		it, err := dataEntry(hdr, tr, func(p string) *layer.Entry {
			if i, ok := at[p]; ok {
				return &items[i].e
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("entry %s: %w", hdr.Name, err)
		}
		if l := "/" + it.own; !listed[l] {
			listed[l] = true
			u.Listed = append(u.Listed, l)
		}
		if it.own == "." {
			continue
		}
		if i, dup := at[it.e.Path]; dup {
			if items[i].e.Kind == layer.Dir && it.e.Kind == layer.Dir {
				continue // ./lib/ and ./usr/lib/ are one directory
			}
			return nil, fmt.Errorf("entry %s: unpacks to /%s, as entry %s does", hdr.Name, it.e.Path, items[i].name)
		}
		if err := scratch.Add(it.e); err != nil {
			return nil, fmt.Errorf("entry %s: %w", hdr.Name, err)
		}
		at[it.e.Path] = len(items)
		items = append(items, it)
	}
}

// dataEntry turns one tar header into an item. The "./" entry, which dpkg
// lists as "/." and which has nothing to unpack, comes back with own ".".
// earlier finds a regular file already read, by canonical path, for hard
// links.
func dataEntry(hdr *tar.Header, body io.Reader, earlier func(string) *layer.Entry) (item, error) {
	p, err := entryPath(hdr.Name)
	if err != nil {
		return item{}, err
	}
	if p == "." {
		if hdr.Typeflag != tar.TypeDir {
			return item{}, errors.New("the root is not a directory")
		}
		return item{name: hdr.Name, own: "."}, nil
	}
	if hdr.Uid < 0 || hdr.Gid < 0 {
		return item{}, fmt.Errorf("negative owner %d:%d", hdr.Uid, hdr.Gid)
	}
	e := layer.Entry{
		Path: canonical(p),
		Mode: hdr.FileInfo().Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky),
		UID:  hdr.Uid,
		GID:  hdr.Gid,
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		e.Kind = layer.Dir
	case tar.TypeReg:
		e.Kind = layer.Regular
		if e.Data, err = io.ReadAll(body); err != nil {
			return item{}, err
		}
	case tar.TypeSymlink:
		e.Kind = layer.Symlink
		e.Target = hdr.Linkname
		if err := checkSymlink(e.Path, e.Target); err != nil {
			return item{}, err
		}
	case tar.TypeLink:
		// A layer has no hard links; the copy has the same content and,
		// being the same inode in the package, the same mode and owner.
		t, err := entryPath(hdr.Linkname)
		if err != nil || t == "." {
			return item{}, fmt.Errorf("hard link to %q: not a file path", hdr.Linkname)
		}
		target := earlier(canonical(t))
		if target == nil || target.Kind != layer.Regular {
			return item{}, fmt.Errorf("hard link to %s, which is not a regular file earlier in the package", hdr.Linkname)
		}
		e = *target
		e.Path = canonical(p)
	case tar.TypeChar, tar.TypeBlock:
		return item{}, errors.New("device nodes are not allowed")
	case tar.TypeFifo:
		return item{}, errors.New("named pipes are not allowed")
	default:
		return item{}, fmt.Errorf("unsupported tar entry type %q", hdr.Typeflag)
	}
	return item{name: hdr.Name, own: p, e: e}, nil
}

// entryPath cleans an archive name ("./usr/bin/", "./bin/dash") to a
// relative path, "." for the root.
func entryPath(name string) (string, error) {
	if strings.HasPrefix(name, "/") {
		return "", errors.New("absolute path")
	}
	p := strings.TrimSuffix(strings.TrimPrefix(name, "./"), "/")
	if p == "" || p == "." {
		return ".", nil
	}
	return layer.CleanPath(p)
}

// checkSymlink refuses a relative target that climbs above the image root
// from where the link is placed. Absolute targets are resolved against the
// image root, where ".." stops at "/".
func checkSymlink(linkPath, target string) error {
	if target == "" || strings.ContainsRune(target, 0) {
		return fmt.Errorf("symlink target %q is empty or has a NUL byte", target)
	}
	if strings.HasPrefix(target, "/") {
		return nil
	}
	if r := path.Join(path.Dir(linkPath), target); r == ".." || strings.HasPrefix(r, "../") {
		return fmt.Errorf("symlink to %q leaves the image root", target)
	}
	return nil
}

// finish fills the fields derived from the data: Files, MD5Sums when the
// package has none, and the conffile checksums.
func finish(u *Unpacked, items []item) error {
	at := make(map[string]*layer.Entry, len(items))
	for i := range items {
		e := &items[i].e
		at[e.Path] = e
		u.Files = append(u.Files, "/"+e.Path)
	}
	sort.Strings(u.Files)
	if u.MD5Sums == nil {
		var b bytes.Buffer
		for _, l := range u.Listed {
			if e := at[canonical(strings.TrimPrefix(l, "/"))]; e != nil && e.Kind == layer.Regular {
				sum := md5.Sum(e.Data)
				fmt.Fprintf(&b, "%s  %s\n", hex.EncodeToString(sum[:]), strings.TrimPrefix(l, "/"))
			}
		}
		u.MD5Sums = b.Bytes()
	}
	for _, line := range strings.Split(string(u.Conffiles), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		name, flags := f[len(f)-1], f[:len(f)-1]
		if len(flags) > 0 && flags[0] == "remove-on-upgrade" {
			continue // names a file the package no longer ships
		}
		p, err := layer.CleanPath(strings.TrimPrefix(name, "/"))
		if err != nil || !strings.HasPrefix(name, "/") {
			return fmt.Errorf("entry conffiles: %q is not an absolute path", name)
		}
		e := at[canonical(p)]
		if e == nil || e.Kind != layer.Regular {
			return fmt.Errorf("entry conffiles: %s is not a regular file of the package", name)
		}
		sum := md5.Sum(e.Data)
		u.conffiles = append(u.conffiles, conffile{path: name, md5: hex.EncodeToString(sum[:])})
	}
	return nil
}

// install adds the checked items to tree, after making sure every one of
// them can be added, so that a refused package leaves tree as it was.
func install(tree *layer.Tree, u *Unpacked, items []item) error {
	all := tree.Entries() // implicit parent directories included
	have := make(map[string]*layer.Entry, len(all))
	for _, e := range all {
		have[e.Path] = e
	}
	self := infoKey(u.Package)
	var add []layer.Entry
	for _, it := range items {
		p := it.e.Path
		if ex, ok := have[p]; ok {
			switch {
			case ex.Kind == layer.Dir && it.e.Kind == layer.Dir:
				if _, explicit := tree.Get(p); explicit {
					continue // dpkg leaves an existing directory as it is
				}
			case ex.Kind == layer.Dir:
				return fmt.Errorf("entry %s: /%s is a directory in the tree%s", it.name, p, ownedBy(all, p))
			case ex.Kind != it.e.Kind || owner(all, p) != self:
				return fmt.Errorf("entry %s: /%s is already in the tree%s", it.name, p, ownedBy(all, p))
			}
		}
		if err := checkParents(have, all, p); err != nil {
			return fmt.Errorf("entry %s: %w", it.name, err)
		}
		add = append(add, it.e)
	}
	for _, e := range infoFiles(u) {
		if ex, ok := have[e.Path]; ok && ex.Kind != layer.Regular {
			return fmt.Errorf("dpkg database: /%s is not a regular file in the tree", e.Path)
		}
		if err := checkParents(have, all, e.Path); err != nil {
			return fmt.Errorf("dpkg database: %w", err)
		}
		add = append(add, e)
	}
	for _, e := range add {
		if err := tree.Add(e); err != nil {
			// The checks above mirror Tree.Add's, so this is a bug.
			return fmt.Errorf("adding /%s after checking it: %w", e.Path, err)
		}
	}
	return nil
}

func checkParents(have map[string]*layer.Entry, all []*layer.Entry, p string) error {
	for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
		if e, ok := have[dir]; ok && e.Kind != layer.Dir {
			return fmt.Errorf("/%s: its parent /%s is not a directory in the tree%s", p, dir, ownedBy(all, dir))
		}
	}
	return nil
}

const infoDir = "var/lib/dpkg/info/"

// owner returns the package whose info/*.list names p (canonically), or "".
func owner(all []*layer.Entry, p string) string {
	for _, e := range all {
		name, ok := strings.CutPrefix(e.Path, infoDir)
		if !ok || e.Kind != layer.Regular || !strings.HasSuffix(name, ".list") || strings.Contains(name, "/") {
			continue
		}
		for _, l := range strings.Split(string(e.Data), "\n") {
			if c, err := layer.CleanPath(strings.TrimPrefix(l, "/")); err == nil && canonical(c) == p {
				return strings.TrimSuffix(name, ".list")
			}
		}
	}
	return ""
}

func ownedBy(all []*layer.Entry, p string) string {
	if o := owner(all, p); o != "" {
		return ", shipped by package " + o
	}
	return ", not from a package"
}

// infoKey is the name of the package's files under var/lib/dpkg/info: dpkg
// qualifies it with the architecture only for Multi-Arch: same packages.
func infoKey(p *deb.Package) string {
	if p.MultiArch == "same" {
		return p.Name + ":" + p.Architecture
	}
	return p.Name
}

// infoFiles are the var/lib/dpkg/info files of one package.
func infoFiles(u *Unpacked) []layer.Entry {
	base := infoDir + infoKey(u.Package)
	files := []layer.Entry{{Path: base + ".list", Kind: layer.Regular, Mode: 0o644, Data: []byte(strings.Join(u.Listed, "\n") + "\n")}}
	if len(u.MD5Sums) > 0 {
		files = append(files, layer.Entry{Path: base + ".md5sums", Kind: layer.Regular, Mode: 0o644, Data: u.MD5Sums})
	}
	if len(u.Conffiles) > 0 {
		files = append(files, layer.Entry{Path: base + ".conffiles", Kind: layer.Regular, Mode: 0o644, Data: u.Conffiles})
	}
	return files
}
