package wheel

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/docker/go-units"

	"github.com/kiln-build/kiln/internal/pep440"
	"github.com/kiln-build/kiln/internal/pyname"

	"github.com/kiln-build/kiln/internal/layer"
)

// InstallOptions are the installer-written parts of the .dist-info.
type InstallOptions struct {
	// Installer is the content of INSTALLER ("kiln", no newline, as uv
	// writes "uv"); no INSTALLER file when empty.
	Installer string
	// DirectURL is the URL the wheel was installed from, only for direct
	// URL and local path installs (never for index installs, per the
	// spec): it produces direct_url.json with the archive's sha256, in
	// pip's layout.
	DirectURL string
	// Requested writes the empty REQUESTED marker: the package was asked
	// for directly rather than pulled in as a dependency.
	Requested bool
	// Limits bound the unpacked size; zero fields take DefaultLimits'.
	Limits Limits
}

// Installed describes an installed distribution.
type Installed struct {
	Name, Version string // from METADATA
	Files         int    // files written (the rows of RECORD, RECORD included)
	// TopLevel are the importable top-level names, from the RECORD paths
	// in site-packages, sorted.
	TopLevel []string
	// EntryPoints maps console and gui script names to their
	// "module:attr" value; sort the keys before depending on the order.
	EntryPoints map[string]string
}

// pending is a file or symlink waiting to be merged into the tree.
type pending struct {
	kind layer.Kind
	mode fs.FileMode
	// The content: a wheel member copied as it is stays in the wheel file
	// (src, with its RECORD hash computed while checking it); what kiln
	// writes or rewrites is data.
	data   []byte
	src    layer.Source
	hash   string
	target string
	entry  string // the zip entry it came from or was generated from; "" for installer metadata
}

func (p *pending) row(path string) RecordRow {
	if p.src != nil {
		return RecordRow{Path: path, Hash: p.hash, Size: p.src.Size()}
	}
	return RowFor(path, p.data)
}

// zipEntry is a validated non-directory archive member.
type zipEntry struct {
	f       *zip.File
	name    string // clean relative path
	symlink bool
	exec    bool
}

// installer carries the state of one Install call. Everything is staged in
// files and only merged into the tree once the whole wheel has been read
// and checked, so a refused wheel leaves the tree as it was.
type installer struct {
	wheel string
	path  string // the wheel file, read again when the layer is written
	venv  Venv
	root  string // tree path of the venv
	sp    string // tree path of site-packages
	files map[string]*pending
}

func (in *installer) errf(entry, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if entry == "" {
		return fmt.Errorf("wheel %s: %s", in.wheel, msg)
	}
	return fmt.Errorf("wheel %s: entry %s: %s", in.wheel, entry, msg)
}

// Install unpacks the wheel file f into tree under the venv, as uv does:
// archive root and .data/purelib|platlib into site-packages (both are
// site-packages in a venv, so Root-Is-Purelib does not change the result),
// .data/scripts into bin with "#!python" rewritten, .data/headers into
// include/site/pythonX.Y/<name>, .data/data into the venv root, launchers
// for console and gui scripts, installer metadata and a rewritten RECORD.
// Files are root-owned, 0755 if the archive gives any execute bit and 0644
// otherwise.
//
// Members copied as they are stay in the wheel file: the tree's entries read
// them again, by f's name, when the layer is written, so the file must not
// change until then (kiln's cache is content-addressed). Only what kiln
// parses or rewrites is read into memory, and each of those is capped.
//
// The wheel is refused — with an error naming it and the entry — for
// absolute or ".." paths, duplicate entries, device/fifo/socket entries,
// symlinks leaving the venv, a Wheel-Version above 1.x, anything but one
// .dist-info directory, a METADATA name or version that differs from the
// file name, names that are not UTF-8 or hold a line break, and members
// whose sizes exceed opts.Limits. The RECORD shipped in the wheel is not
// checked: the archive's hash is verified against the lock before it gets
// here, and pip and uv do not check it either.
func Install(tree *layer.Tree, v Venv, wheelName string, f *os.File, opts InstallOptions) (*Installed, error) {
	in := &installer{wheel: wheelName, path: f.Name(), venv: v, files: map[string]*pending{}}
	if err := v.validate(); err != nil {
		return nil, in.errf("", "%v", err)
	}
	in.root = treePath(v.Root)
	in.sp = treePath(v.SitePackages())
	fn, err := ParseFilename(wheelName)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		return nil, in.errf("", "%v", err)
	}
	size := st.Size()
	zr, err := zip.NewReader(f, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, in.errf("", "not a zip archive: %v", err)
	}
	entries, err := in.index(zr, size, opts.Limits.withDefaults())
	if err != nil {
		return nil, err
	}
	distInfo, err := in.findDistInfo(entries, fn)
	if err != nil {
		return nil, err
	}
	name, version, scripts, err := in.readDistInfo(entries, distInfo, fn)
	if err != nil {
		return nil, err
	}
	isScript := map[string]bool{}
	for _, s := range scripts {
		isScript[s.name] = true
	}

	dataDir := strings.TrimSuffix(distInfo, ".dist-info") + ".data"
	for i := range entries {
		if err := in.unpack(&entries[i], distInfo, dataDir, fn.NormalizedName(), isScript); err != nil {
			return nil, err
		}
	}
	eps := map[string]string{}
	for _, s := range scripts {
		body, err := Launcher(v.Root, s.spec)
		if err != nil {
			return nil, in.errf(distInfo+"/entry_points.txt", "%v", err)
		}
		launcher := &pending{kind: layer.Regular, mode: 0o755, data: body, entry: distInfo + "/entry_points.txt"}
		if err := in.stage(in.root+"/bin/"+s.name, launcher); err != nil {
			return nil, err
		}
		eps[s.name] = s.spec
	}
	if err := in.installerFiles(distInfo, f, size, opts); err != nil {
		return nil, err
	}
	rows := in.record(distInfo)
	if err := in.checkSymlinks(tree); err != nil {
		return nil, err
	}
	if err := in.checkMerge(tree); err != nil {
		return nil, err
	}
	if err := in.merge(tree); err != nil {
		return nil, err
	}
	return &Installed{Name: name, Version: version, Files: len(rows), TopLevel: topLevel(rows), EntryPoints: eps}, nil
}

// index validates every archive member's name, type and size and returns
// the non-directory ones in archive order.
func (in *installer) index(zr *zip.Reader, wheelSize int64, lim Limits) ([]zipEntry, error) {
	var out []zipEntry
	seen := map[string]string{}
	var total uint64
	for _, f := range zr.File {
		raw := f.Name
		if !utf8.ValidString(raw) {
			return nil, in.errf(fmt.Sprintf("%q", raw), "name is not valid UTF-8 (RECORD is UTF-8)")
		}
		// RECORD would quote such a name, but the line-based tools that
		// read file lists (and people) would not.
		if strings.ContainsAny(raw, "\n\r") {
			return nil, in.errf(fmt.Sprintf("%q", raw), "name contains a line break")
		}
		if strings.HasPrefix(raw, "/") {
			return nil, in.errf(fmt.Sprintf("%q", raw), "absolute path")
		}
		for _, part := range strings.Split(raw, "/") {
			if part == ".." {
				return nil, in.errf(fmt.Sprintf("%q", raw), "path contains ..")
			}
		}
		// Zip writers on Windows use backslashes as separators; such a name
		// would mean another path on Linux than it did where it was made.
		if strings.Contains(raw, "\\") {
			return nil, in.errf(fmt.Sprintf("%q", raw), "path contains a backslash")
		}
		mode := f.Mode()
		if mode&(fs.ModeDevice|fs.ModeCharDevice|fs.ModeNamedPipe|fs.ModeSocket|fs.ModeIrregular) != 0 {
			return nil, in.errf(raw, "is a device, fifo or socket (mode %v)", mode)
		}
		if f.Flags&0x1 != 0 {
			return nil, in.errf(raw, "is encrypted")
		}
		if mode.IsDir() {
			continue // directories come from the files in them, as with pip
		}
		if f.Method != zip.Store && f.Method != zip.Deflate {
			return nil, in.errf(raw, "compression method %d is not supported (stored and deflated are)", f.Method)
		}
		if err := in.checkSize(f, &total, wheelSize, lim); err != nil {
			return nil, err
		}
		name, err := layer.CleanPath(raw)
		if err != nil {
			return nil, in.errf(fmt.Sprintf("%q", raw), "%v", err)
		}
		if first, dup := seen[name]; dup {
			return nil, in.errf(raw, "duplicate of entry %s", first)
		}
		seen[name] = raw
		out = append(out, zipEntry{f: f, name: name, symlink: mode&fs.ModeSymlink != 0, exec: mode&0o111 != 0})
	}
	return out, nil
}

// checkSize refuses a member that would take the wheel's unpacked size past
// lim, or that is compressed more than lim allows, before anything is read.
// The declared uncompressed sizes bound what is read: archive/zip fails a
// member that yields more. Declared compressed sizes can lie, so the whole
// wheel's ratio is also checked against the file's real size.
func (in *installer) checkSize(f *zip.File, total *uint64, wheelSize int64, lim Limits) error {
	n := f.UncompressedSize64
	if n > uint64(lim.MaxUnpacked)-*total {
		return in.errf(f.Name, "unpacks to %d bytes, taking the wheel past its limit of %s (max-unpacked-size)", n, units.BytesSize(float64(lim.MaxUnpacked)))
	}
	*total += n
	if n > ratioFloor && float64(n) > lim.MaxRatio*float64(f.CompressedSize64) {
		return in.errf(f.Name, "compressed %.0f:1 (%d bytes to %d), more than the limit of %g:1 (max-compression-ratio): a zip bomb?",
			float64(n)/float64(max(f.CompressedSize64, 1)), n, f.CompressedSize64, lim.MaxRatio)
	}
	if *total > ratioFloor && float64(*total) > lim.MaxRatio*float64(wheelSize) {
		return in.errf(f.Name, "takes the wheel's unpacked size to %d bytes, %.0f times its %d bytes, more than the limit of %g:1 (max-compression-ratio): a zip bomb?",
			*total, float64(*total)/float64(max(wheelSize, 1)), wheelSize, lim.MaxRatio)
	}
	return nil
}

// findDistInfo returns the one top-level NAME-VERSION.dist-info directory,
// whose name must match the file name's.
func (in *installer) findDistInfo(entries []zipEntry, fn Filename) (string, error) {
	found := map[string]bool{}
	for _, e := range entries {
		if first, _, nested := strings.Cut(e.name, "/"); nested && strings.HasSuffix(first, ".dist-info") {
			found[first] = true
		}
	}
	var dirs []string
	for d := range found {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	switch len(dirs) {
	case 0:
		return "", in.errf("", "no .dist-info directory")
	case 1:
	default:
		return "", in.errf("", "%d .dist-info directories: %s", len(dirs), strings.Join(dirs, ", "))
	}
	name, _, _ := strings.Cut(strings.TrimSuffix(dirs[0], ".dist-info"), "-")
	if pyname.Normalize(name) != fn.NormalizedName() {
		return "", in.errf(dirs[0]+"/", "does not belong to %s", fn.Name)
	}
	return dirs[0], nil
}

// readDistInfo checks WHEEL, METADATA and the presence of RECORD, and reads
// the scripts declared in entry_points.txt.
func (in *installer) readDistInfo(entries []zipEntry, distInfo string, fn Filename) (name, version string, scripts []script, err error) {
	read := func(file string, required bool) ([]byte, error) {
		for i := range entries {
			e := &entries[i]
			if e.name != distInfo+"/"+file {
				continue
			}
			if e.symlink {
				return nil, in.errf(e.name, "is a symlink")
			}
			return in.read(e, maxParsed)
		}
		if required {
			return nil, in.errf(distInfo+"/"+file, "missing")
		}
		return nil, nil
	}
	wheelFile, err := read("WHEEL", true)
	if err != nil {
		return "", "", nil, err
	}
	if err := checkWheelVersion(ParseHeaders(wheelFile)); err != nil {
		return "", "", nil, in.errf(distInfo+"/WHEEL", "%v", err)
	}
	metadata, err := read("METADATA", true)
	if err != nil {
		return "", "", nil, err
	}
	name, version, err = checkMetadata(ParseHeaders(metadata), fn)
	if err != nil {
		return "", "", nil, in.errf(distInfo+"/METADATA", "%v", err)
	}
	if !slices.ContainsFunc(entries, func(e zipEntry) bool { return e.name == distInfo+"/RECORD" }) {
		return "", "", nil, in.errf(distInfo+"/RECORD", "missing")
	}
	epData, err := read("entry_points.txt", false)
	if err != nil {
		return "", "", nil, err
	}
	scripts, err = parseScripts(epData, in.venv.PythonMinor)
	if err != nil {
		return "", "", nil, in.errf(distInfo+"/entry_points.txt", "%v", err)
	}
	return name, version, scripts, nil
}

// checkMetadata compares METADATA's Name and Version with the file name.
// As in uv, the version may lack the file name's local segment.
func checkMetadata(h Headers, fn Filename) (name, version string, err error) {
	name, ok := h.First("Name")
	if !ok || name == "" {
		return "", "", fmt.Errorf("no Name")
	}
	version, ok = h.First("Version")
	if !ok || version == "" {
		return "", "", fmt.Errorf("no Version")
	}
	if pyname.Normalize(name) != fn.NormalizedName() {
		return "", "", fmt.Errorf("name %q does not match the file name's %q", name, fn.Name)
	}
	mv, err := pep440.ParseVersion(version)
	if err != nil {
		return "", "", fmt.Errorf("invalid Version %q", version)
	}
	fv, err := pep440.ParseVersion(fn.Version)
	if err != nil {
		return "", "", fmt.Errorf("invalid file name version %q", fn.Version)
	}
	if mv.Compare(fv) != 0 {
		if mv.Compare(fv.Public()) != 0 {
			return "", "", fmt.Errorf("version %q does not match the file name's %q", version, fn.Version)
		}
	}
	return name, version, nil
}

// The most kiln reads into memory of a member it parses or rewrites
// (METADATA, WHEEL, entry_points.txt, a script's "#!python" line) and of a
// symlink's target (PATH_MAX).
const (
	maxParsed = 16 << 20
	maxTarget = 4096
)

// open opens e's content. archive/zip stops at the declared size and checks
// the CRC, so a lying header is an error, not a runaway read; the error
// says so rather than archive/zip's "not a valid zip file", which is what
// its reader returns, mid-member, for content past the declared size.
func (in *installer) open(e *zipEntry) (io.ReadCloser, error) {
	rc, err := e.f.Open()
	if err != nil {
		return nil, in.errf(e.name, "%v", err)
	}
	return &zipReader{in: in, e: e, r: rc}, nil
}

type zipReader struct {
	in *installer
	e  *zipEntry
	r  io.ReadCloser
}

func (z *zipReader) Read(p []byte) (int, error) {
	n, err := z.r.Read(p)
	switch {
	case err == nil || err == io.EOF:
	case errors.Is(err, zip.ErrFormat):
		err = z.in.errf(z.e.name, "content is longer than the %d bytes its header declares", z.e.f.UncompressedSize64)
	default:
		err = z.in.errf(z.e.name, "%v", err)
	}
	return n, err
}

func (z *zipReader) Close() error { return z.r.Close() }

// read returns the uncompressed content of e, refusing one over limit bytes.
func (in *installer) read(e *zipEntry, limit int64) ([]byte, error) {
	if e.f.UncompressedSize64 > uint64(limit) {
		return nil, in.errf(e.name, "is %d bytes, more than the %s kiln reads of such a file", e.f.UncompressedSize64, units.BytesSize(float64(limit)))
	}
	rc, err := in.open(e)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// hash streams e once through sha256, checking it as archive/zip does, and
// returns a source reading it again from the wheel file, which checks the
// CRC-32 of what was hashed (archive/zip skips the check when the archive
// records a CRC of 0).
func (in *installer) hash(e *zipEntry) (layer.Source, string, error) {
	rc, err := in.open(e)
	if err != nil {
		return nil, "", err
	}
	defer rc.Close()
	h, crc := sha256.New(), crc32.NewIEEE()
	if _, err := io.Copy(io.MultiWriter(h, crc), rc); err != nil {
		return nil, "", err
	}
	src, err := newMemberSource(in.wheel, in.path, e.f, crc.Sum32())
	if err != nil {
		return nil, "", in.errf(e.name, "%v", err)
	}
	return src, recordDigest(h.Sum(nil)), nil
}

// installerWritten are .dist-info files that belong to the installer, not
// the wheel; a copy inside the archive is dropped.
var installerWritten = map[string]bool{"RECORD": true, "INSTALLER": true, "REQUESTED": true, "direct_url.json": true}

// unpack stages one archive member at its installed location.
func (in *installer) unpack(e *zipEntry, distInfo, dataDir, normName string, isScript map[string]bool) error {
	parts := strings.SplitN(e.name, "/", 3)
	dest := in.sp + "/" + e.name
	script := false
	switch parts[0] {
	case distInfo:
		if len(parts) == 2 && installerWritten[parts[1]] {
			return nil
		}
	case dataDir:
		if len(parts) < 3 {
			return in.errf(e.name, "files in %s must be in a purelib, platlib, headers, scripts or data directory", dataDir)
		}
		rest := parts[2]
		switch parts[1] {
		case "purelib", "platlib":
			dest = in.sp + "/" + rest
		case "headers":
			dest = in.root + "/include/site/python" + in.venv.PythonMinor + "/" + normName + "/" + rest
		case "data":
			dest = in.root + "/" + rest
		case "scripts":
			if strings.Contains(rest, "/") {
				return in.errf(e.name, "scripts cannot be in subdirectories")
			}
			if isScript[scriptMatchName(rest)] {
				return nil // the launcher generated for the entry point wins, as in pip and uv
			}
			if e.symlink {
				return in.errf(e.name, "scripts cannot be symlinks")
			}
			dest, script = in.root+"/bin/"+rest, true
		default:
			return in.errf(e.name, "unknown wheel data directory %q", parts[1])
		}
	}
	p := &pending{kind: layer.Regular, mode: 0o644, entry: e.name}
	if e.symlink {
		target, err := in.read(e, maxTarget)
		if err != nil {
			return err
		}
		// RECORD hashes a symlink's target, as pip does.
		p.kind, p.mode, p.data, p.target = layer.Symlink, 0o777, target, string(target)
		return in.stage(dest, p)
	}
	if script || e.exec {
		p.mode = 0o755
	}
	if script {
		rewritten, err := in.rewriteShebang(e)
		if err != nil {
			return err
		}
		if rewritten != nil {
			p.data = rewritten
			return in.stage(dest, p)
		}
	}
	var err error
	if p.src, p.hash, err = in.hash(e); err != nil {
		return err
	}
	return in.stage(dest, p)
}

// rewriteShebang returns the script e with "#!python" replaced by the venv's
// interpreter, or nil when it does not start so.
func (in *installer) rewriteShebang(e *zipEntry) ([]byte, error) {
	const marker = "#!python"
	rc, err := in.open(e)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	head := make([]byte, len(marker))
	if n, err := io.ReadFull(rc, head); err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, err
	} else if string(head[:n]) != marker {
		return nil, nil
	}
	data, err := in.read(e, maxParsed)
	if err != nil {
		return nil, err
	}
	// uv keeps the rest of the line; "#!pythonw" only means GUI on Windows.
	rest := bytes.TrimPrefix(data[len(marker):], []byte("w"))
	return append([]byte(shebang(in.venv.Root)), rest...), nil
}

// scriptMatchName strips the suffixes pip ignores when matching a data
// script against an entry point name.
func scriptMatchName(name string) string {
	for _, suffix := range []string{".exe", "-script.py", ".pya"} {
		if s, ok := strings.CutSuffix(name, suffix); ok {
			return s
		}
	}
	return name
}

func (in *installer) stage(dest string, p *pending) error {
	label := p.entry
	if label == "" {
		label = dest
	}
	clean, err := layer.CleanPath(dest)
	if err != nil {
		return in.errf(label, "%v", err)
	}
	if prev, dup := in.files[clean]; dup {
		by := prev.entry
		if by == "" {
			by = "the installer"
		}
		return in.errf(label, "installs to /%s, already written by %s", clean, by)
	}
	in.files[clean] = p
	return nil
}

// installerFiles stages INSTALLER, REQUESTED and direct_url.json.
func (in *installer) installerFiles(distInfo string, r io.ReaderAt, size int64, opts InstallOptions) error {
	dir := in.sp + "/" + distInfo + "/"
	if opts.Installer != "" {
		if err := in.stage(dir+"INSTALLER", &pending{kind: layer.Regular, mode: 0o644, data: []byte(opts.Installer)}); err != nil {
			return err
		}
	}
	if opts.Requested {
		if err := in.stage(dir+"REQUESTED", &pending{kind: layer.Regular, mode: 0o644, data: []byte{}}); err != nil {
			return err
		}
	}
	if opts.DirectURL != "" {
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(r, 0, size)); err != nil {
			return in.errf("", "hashing for direct_url.json: %v", err)
		}
		body := directURLJSON(opts.DirectURL, hex.EncodeToString(h.Sum(nil)))
		if err := in.stage(dir+"direct_url.json", &pending{kind: layer.Regular, mode: 0o644, data: body}); err != nil {
			return err
		}
	}
	return nil
}

// directURLJSON renders direct_url.json as pip does (json.dumps with
// sorted keys), with credentials removed from the URL as the spec requires.
func directURLJSON(rawURL, sha256hex string) []byte {
	if u, err := url.Parse(rawURL); err == nil && u.User != nil {
		u.User = nil
		rawURL = u.String()
	}
	return []byte(`{"archive_info": {"hash": "sha256=` + sha256hex + `", "hashes": {"sha256": "` + sha256hex + `"}}, "url": ` + pyJSONString(rawURL) + `}`)
}

// pyJSONString quotes s like Python's json.dumps with ensure_ascii.
func pyJSONString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r < 0x20 || r > 0x7e && r != 0x7f:
				if r > 0xffff {
					r -= 0x10000
					fmt.Fprintf(&b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
				} else {
					fmt.Fprintf(&b, `\u%04x`, r)
				}
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// record stages the rewritten RECORD and returns its rows.
func (in *installer) record(distInfo string) []RecordRow {
	recordPath := in.sp + "/" + distInfo + "/RECORD"
	rows := []RecordRow{{Path: in.relToSitePackages(recordPath)}}
	for p, f := range in.files {
		rows = append(rows, f.row(in.relToSitePackages(p)))
	}
	body := FormatRecord(rows)
	in.files[recordPath] = &pending{kind: layer.Regular, mode: 0o644, data: body}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Path < rows[j].Path })
	return rows
}

// relToSitePackages gives p, a tree path inside the venv, as RECORD
// spells it: relative to site-packages (lib/pythonX.Y/site-packages is
// three levels below the venv root).
func (in *installer) relToSitePackages(p string) string {
	if rest, ok := strings.CutPrefix(p, in.sp+"/"); ok {
		return rest
	}
	return "../../../" + strings.TrimPrefix(p, in.root+"/")
}

// checkSymlinks refuses symlinks whose target leaves the venv. The target
// is walked one component at a time and may neither step outside the venv
// nor pass through another symlink, so that no chain of links escapes where
// a purely lexical check would let it.
func (in *installer) checkSymlinks(tree *layer.Tree) error {
	root := strings.Split(in.root, "/")
	for _, p := range sortedKeys(in.files) {
		f := in.files[p]
		if f.kind != layer.Symlink {
			continue
		}
		t := f.target
		if t == "" || strings.ContainsAny(t, "\x00\\") || !utf8.ValidString(t) {
			return in.errf(f.entry, "invalid symlink target %q", t)
		}
		cur := strings.Split(path.Dir(p), "/")
		if strings.HasPrefix(t, "/") {
			rest, ok := strings.CutPrefix(t, in.venv.Root+"/")
			if !ok {
				return in.errf(f.entry, "symlink to %q leaves the venv", f.target)
			}
			t, cur = rest, root
		}
		parts := strings.Split(t, "/")
		for i, part := range parts {
			switch part {
			case "", ".":
				continue
			case "..":
				cur = cur[:len(cur)-1]
			default:
				cur = append(cur[:len(cur):len(cur)], part)
			}
			if !hasPrefix(cur, root) {
				return in.errf(f.entry, "symlink to %q leaves the venv", f.target)
			}
			if i < len(parts)-1 && in.isSymlink(tree, strings.Join(cur, "/")) {
				return in.errf(f.entry, "symlink to %q goes through another symlink", f.target)
			}
		}
	}
	return nil
}

func hasPrefix(p, prefix []string) bool {
	if len(p) < len(prefix) {
		return false
	}
	for i := range prefix {
		if p[i] != prefix[i] {
			return false
		}
	}
	return true
}

func (in *installer) isSymlink(tree *layer.Tree, p string) bool {
	if f, ok := in.files[p]; ok {
		return f.kind == layer.Symlink
	}
	e, ok := tree.Get(p)
	return ok && e.Kind == layer.Symlink
}

// checkMerge makes sure merging cannot fail half-way: no staged file sits
// below a staged file or a non-directory of the tree, none replaces a
// directory or symlink of the tree, and the venv's pyvenv.cfg stays.
func (in *installer) checkMerge(tree *layer.Tree) error {
	cfg := in.root + "/pyvenv.cfg"
	for _, p := range sortedKeys(in.files) {
		f := in.files[p]
		label := f.entry
		if label == "" {
			label = p
		}
		if p == cfg {
			return in.errf(label, "would replace the venv's pyvenv.cfg")
		}
		if e, ok := tree.Get(p); ok && e.Kind != layer.Regular {
			return in.errf(label, "would replace the directory or symlink /%s", p)
		}
		for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
			if _, ok := in.files[dir]; ok {
				return in.errf(label, "/%s is installed as a file", dir)
			}
			if e, ok := tree.Get(dir); ok && e.Kind != layer.Dir {
				return in.errf(label, "/%s is not a directory", dir)
			}
		}
	}
	return nil
}

func (in *installer) merge(tree *layer.Tree) error {
	for _, p := range sortedKeys(in.files) {
		f := in.files[p]
		e := layer.Entry{Path: p, Kind: f.kind, Mode: f.mode, Target: f.target}
		if f.kind == layer.Regular {
			e.Data, e.Source = f.data, f.src
		}
		if err := tree.Add(e); err != nil {
			return in.errf(f.entry, "%v", err)
		}
	}
	return nil
}

func sortedKeys(m map[string]*pending) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// topLevel lists the importable names a distribution adds, from its
// RECORD paths: packages (directories) and modules (.py and extension
// files) directly in site-packages.
func topLevel(rows []RecordRow) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range rows {
		if strings.HasPrefix(r.Path, "../") {
			continue
		}
		first, _, nested := strings.Cut(r.Path, "/")
		name := ""
		switch {
		case nested:
			if first != "__pycache__" && !strings.HasSuffix(first, ".dist-info") && !strings.HasSuffix(first, ".data") {
				name = first
			}
		case strings.HasSuffix(first, ".py"):
			name = strings.TrimSuffix(first, ".py")
		case strings.HasSuffix(first, ".so"), strings.HasSuffix(first, ".pyd"):
			name, _, _ = strings.Cut(first, ".")
		}
		if identifier(name) && !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}
