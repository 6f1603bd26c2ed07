// Package ldcache reads and writes glibc's /etc/ld.so.cache, and finds the
// libraries ldconfig would put in it, without running ldconfig: the image
// may be for another architecture and nothing runs at build time.
//
// The loader only needs the cache for libraries outside its default
// directories, but ctypes.util.find_library() reads it (through
// ldconfig -p), so an image without a current cache cannot find its own
// libraries by name.
//
// Write produces the format ldconfig has written since glibc 2.32: a
// "glibc-ld.so.cache1.1" header, the entries sorted the way the loader's
// binary search expects, a string table with shared suffixes and an
// extension directory naming the generator and the glibc-hwcaps
// subdirectories. Given the same entries it produces the bytes ldconfig
// does, except for the generator string.
package ldcache

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"
)

// Entry is one library in the cache.
type Entry struct {
	// Soname is the name the loader looks up, usually the DT_SONAME.
	Soname string
	// Path is where the library is in the image, an absolute path.
	Path string
	// Flags says which kind of library this is and for which ABI, for
	// example FlagELFLibc6|FlagX8664Lib64. Write uses the architecture's
	// value when it is zero.
	Flags int32
	// HWCap is the hwcap word of the entry. For an entry in a glibc-hwcaps
	// subdirectory it is HWCapExtension plus the library's x86 ISA level
	// in bits 32 to 41; Write assigns the subdirectory index in the low
	// bits. Otherwise it is a legacy hwcap mask, which only glibc before
	// 2.37 wrote (for tls, haswell, ... subdirectories), and usually 0.
	HWCap uint64
	// HWCaps names the glibc-hwcaps subdirectory the library is in, such
	// as "x86-64-v3", and is empty for ordinary entries.
	HWCaps string
}

// Flags values; the low byte is the library type, the next one the ABI.
const (
	FlagELFLibc6     = 0x0003
	FlagX8664Lib64   = 0x0300
	FlagAArch64Lib64 = 0x0a00
)

// HWCapExtension marks the hwcap word of a glibc-hwcaps entry.
const HWCapExtension = 1 << 62

const (
	magicOld   = "ld.so-1.7.0"
	magicNew   = "glibc-ld.so.cache" + "1.1" // magic and version
	oldHeader  = 16                          // magic, padding, nlibs
	oldEntry   = 12                          // flags, key, value
	newHeader  = 48
	newEntry   = 24 // flags, key, value, unused osversion, hwcap
	extMagic   = 0xeaa42174
	extSection = 16 // tag, flags, offset, size

	tagGenerator = 0
	tagHWCaps    = 1

	endianMask   = 3
	endianUnset  = 0
	endianLittle = 2
	endianBig    = 3

	isaLevelMask = 1<<10 - 1 // ISA level bits above bit 32 of a hwcaps entry

	// generator is recorded in the cache so that ldconfig -p says who
	// wrote it.
	generator = "kiln"
)

// arch is what the cache and the directory scan depend on for one target.
type arch struct {
	flags   int32
	triplet string // Debian multiarch directory
	machine uint16 // ELF e_machine
	// signedChar is the C char signedness of the target: ldconfig and
	// the loader compare names as char, so it decides where bytes >= 0x80
	// sort.
	signedChar bool
	// isaLevel is set where ldconfig reads the x86 ISA level property.
	isaLevel bool
}

var arches = map[string]arch{
	"amd64": {flags: FlagELFLibc6 | FlagX8664Lib64, triplet: "x86_64-linux-gnu", machine: 62, signedChar: true, isaLevel: true},
	"arm64": {flags: FlagELFLibc6 | FlagAArch64Lib64, triplet: "aarch64-linux-gnu", machine: 183},
}

func lookupArch(name string) (arch, error) {
	a, ok := arches[name]
	if !ok {
		return arch{}, fmt.Errorf("ldcache: unsupported architecture %q (want amd64 or arm64)", name)
	}
	return a, nil
}

// Parse returns the entries of an ld.so.cache file in file order: the new
// format, alone or after the old format's table, or the old format alone.
func Parse(data []byte) ([]Entry, error) {
	c, err := parse(data)
	if err != nil {
		return nil, err
	}
	return c.entries, nil
}

type cache struct {
	entries   []Entry
	generator string
}

func parse(data []byte) (*cache, error) {
	c, err := parseAny(data)
	if err != nil {
		return nil, fmt.Errorf("ldcache: %w", err)
	}
	return c, nil
}

func parseAny(data []byte) (*cache, error) {
	if bytes.HasPrefix(data, []byte(magicNew)) {
		return parseNew(data, 0)
	}
	if !bytes.HasPrefix(data, []byte(magicOld)) {
		return nil, errors.New("not an ld.so.cache file (bad magic)")
	}
	if len(data) < oldHeader {
		return nil, errors.New("truncated header")
	}
	n := uint64(binary.LittleEndian.Uint32(data[12:]))
	if n > uint64(len(data)-oldHeader)/oldEntry {
		return nil, fmt.Errorf("%d entries do not fit in %d bytes", n, len(data))
	}
	end := oldHeader + int(n)*oldEntry
	// The new format follows the old table, aligned for its 64-bit hwcap.
	if off := (end + 7) &^ 7; len(data) > off+newHeader && bytes.HasPrefix(data[off:], []byte(magicNew)) {
		return parseNew(data, off)
	}
	strs := data[end:]
	c := &cache{}
	for i := range int(n) {
		e := data[oldHeader+i*oldEntry:]
		key, err := cString(strs, binary.LittleEndian.Uint32(e[4:]))
		if err != nil {
			return nil, fmt.Errorf("entry %d: name: %w", i, err)
		}
		value, err := cString(strs, binary.LittleEndian.Uint32(e[8:]))
		if err != nil {
			return nil, fmt.Errorf("entry %d (%s): path: %w", i, key, err)
		}
		c.entries = append(c.entries, Entry{Soname: key, Path: value, Flags: int32(binary.LittleEndian.Uint32(e))})
	}
	return c, nil
}

// parseNew reads the new format starting at off in data. String indices
// are relative to that start, extension offsets to the start of the file.
func parseNew(data []byte, off int) (*cache, error) {
	h := data[off:]
	if len(h) < newHeader {
		return nil, errors.New("truncated header")
	}
	var bo binary.ByteOrder
	switch h[28] & endianMask {
	case endianUnset, endianLittle:
		bo = binary.LittleEndian
	case endianBig:
		bo = binary.BigEndian
	default:
		return nil, errors.New("header marks the cache invalid")
	}
	n := uint64(bo.Uint32(h[20:]))
	if n > uint64(len(h)-newHeader)/newEntry {
		return nil, fmt.Errorf("%d entries do not fit in %d bytes", n, len(h))
	}
	c := &cache{}
	hwcaps, err := parseExtensions(data, h, bo, bo.Uint32(h[32:]), c)
	if err != nil {
		return nil, err
	}
	c.entries = make([]Entry, 0, n)
	for i := range int(n) {
		e := h[newHeader+i*newEntry:]
		key, err := cString(h, bo.Uint32(e[4:]))
		if err != nil {
			return nil, fmt.Errorf("entry %d: name: %w", i, err)
		}
		value, err := cString(h, bo.Uint32(e[8:]))
		if err != nil {
			return nil, fmt.Errorf("entry %d (%s): path: %w", i, key, err)
		}
		ent := Entry{Soname: key, Path: value, Flags: int32(bo.Uint32(e)), HWCap: bo.Uint64(e[16:])}
		if isExtension(ent.HWCap) {
			idx := uint32(ent.HWCap)
			if uint64(idx) >= uint64(len(hwcaps)) {
				return nil, fmt.Errorf("entry %d (%s): glibc-hwcaps index %d out of range", i, key, idx)
			}
			ent.HWCaps = hwcaps[idx]
			ent.HWCap &^= math.MaxUint32
		}
		c.entries = append(c.entries, ent)
	}
	return c, nil
}

// parseExtensions reads the extension directory at off, sets c.generator
// and returns the glibc-hwcaps subdirectory names by index.
func parseExtensions(data, strs []byte, bo binary.ByteOrder, off uint32, c *cache) ([]string, error) {
	if off == 0 {
		return nil, nil
	}
	if off%4 != 0 || uint64(off)+8 > uint64(len(data)) {
		return nil, fmt.Errorf("bad extension offset %d", off)
	}
	d := data[off:]
	if bo.Uint32(d) != extMagic {
		return nil, errors.New("bad extension magic")
	}
	count := uint64(bo.Uint32(d[4:]))
	if count > uint64(len(d)-8)/extSection {
		return nil, fmt.Errorf("%d extension sections do not fit in the file", count)
	}
	var hwcaps []string
	for i := range int(count) {
		s := d[8+i*extSection:]
		tag, start, size := bo.Uint32(s), uint64(bo.Uint32(s[8:])), uint64(bo.Uint32(s[12:]))
		if start+size > uint64(len(data)) {
			return nil, fmt.Errorf("extension section %d extends beyond the file", i)
		}
		body := data[start : start+size]
		switch tag {
		case tagGenerator:
			c.generator = string(body)
		case tagHWCaps:
			if size == 0 || size%4 != 0 || start%4 != 0 {
				return nil, fmt.Errorf("malformed glibc-hwcaps section (offset %d, size %d)", start, size)
			}
			for j := 0; j < len(body); j += 4 {
				name, err := cString(strs, bo.Uint32(body[j:]))
				if err != nil {
					return nil, fmt.Errorf("glibc-hwcaps name %d: %w", j/4, err)
				}
				hwcaps = append(hwcaps, name)
			}
		}
	}
	return hwcaps, nil
}

// isExtension reports whether hwcap is that of a glibc-hwcaps entry: the
// extension bit and nothing else above bit 32 but the ISA level.
func isExtension(hwcap uint64) bool {
	return (hwcap>>32)&^isaLevelMask == HWCapExtension>>32
}

func cString(b []byte, off uint32) (string, error) {
	if uint64(off) >= uint64(len(b)) {
		return "", fmt.Errorf("string offset %d beyond the end", off)
	}
	i := bytes.IndexByte(b[off:], 0)
	if i < 0 {
		return "", fmt.Errorf("string at offset %d is not terminated", off)
	}
	return string(b[off : int(off)+i]), nil
}

// Write returns an ld.so.cache holding entries for a target architecture,
// "amd64" or "arm64". Entries are sorted as ldconfig sorts them; entries
// that sort equal (the same soname in several directories) keep their
// order, which is the loader's preference, so list them in search order
// as Scan does.
func Write(entries []Entry, arch string) ([]byte, error) {
	return write(entries, arch, generator)
}

func write(entries []Entry, archName, gen string) ([]byte, error) {
	a, err := lookupArch(archName)
	if err != nil {
		return nil, err
	}
	es := slices.Clone(entries)
	var names []string
	var strLen uint64
	for i := range es {
		e := &es[i]
		if err := validate(e); err != nil {
			return nil, fmt.Errorf("ldcache: entry %d (%s => %s): %w", i, e.Soname, e.Path, err)
		}
		if e.Flags == 0 {
			e.Flags = a.flags
		}
		if e.HWCaps != "" {
			names = append(names, e.HWCaps)
		}
		strLen += uint64(len(e.Soname)+len(e.Path)+len(e.HWCaps)) + 3
	}
	if strLen > math.MaxUint32 {
		return nil, errors.New("ldcache: names and paths exceed 4 GiB")
	}
	slices.SortStableFunc(es, func(x, y Entry) int { return compareEntries(&x, &y, a.signedChar) })
	// The loader ranks glibc-hwcaps subdirectories by their index in a
	// table sorted by name.
	slices.Sort(names)
	names = slices.Compact(names)

	all := make([]string, 0, 2*len(es)+len(names))
	for _, e := range es {
		all = append(all, e.Soname, e.Path)
	}
	strs, offs := stringTable(append(all, names...))

	strStart := uint64(newHeader) + uint64(len(es))*newEntry
	extStart := (strStart + uint64(len(strs)) + 3) &^ 3
	sections := uint64(1)
	if len(names) > 0 {
		sections = 2
	}
	hwcapsStart := extStart + 8 + sections*extSection
	genStart := hwcapsStart + 4*uint64(len(names))
	total := genStart + uint64(len(gen))
	if total > math.MaxUint32 {
		return nil, fmt.Errorf("ldcache: cache of %d entries would exceed 4 GiB", len(es))
	}

	le := binary.LittleEndian
	buf := make([]byte, 0, total)
	buf = append(buf, magicNew...)
	buf = le.AppendUint32(buf, uint32(len(es)))
	buf = le.AppendUint32(buf, uint32(len(strs)))
	buf = append(buf, endianLittle, 0, 0, 0)
	buf = le.AppendUint32(buf, uint32(extStart))
	buf = append(buf, make([]byte, 12)...)
	for _, e := range es {
		hwcap := e.HWCap
		if e.HWCaps != "" {
			idx, _ := slices.BinarySearch(names, e.HWCaps)
			hwcap = HWCapExtension | hwcap&(isaLevelMask<<32) | uint64(idx)
		}
		buf = le.AppendUint32(buf, uint32(e.Flags))
		buf = le.AppendUint32(buf, uint32(strStart)+offs[e.Soname])
		buf = le.AppendUint32(buf, uint32(strStart)+offs[e.Path])
		buf = le.AppendUint32(buf, 0)
		buf = le.AppendUint64(buf, hwcap)
	}
	buf = append(buf, strs...)
	buf = append(buf, make([]byte, extStart-uint64(len(buf)))...)
	buf = le.AppendUint32(buf, extMagic)
	buf = le.AppendUint32(buf, uint32(sections))
	buf = appendSection(buf, tagGenerator, genStart, len(gen))
	if len(names) > 0 {
		buf = appendSection(buf, tagHWCaps, hwcapsStart, 4*len(names))
	}
	for _, n := range names {
		buf = le.AppendUint32(buf, uint32(strStart)+offs[n])
	}
	return append(buf, gen...), nil
}

func appendSection(buf []byte, tag uint32, off uint64, size int) []byte {
	buf = binary.LittleEndian.AppendUint32(buf, tag)
	buf = binary.LittleEndian.AppendUint32(buf, 0)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(off))
	return binary.LittleEndian.AppendUint32(buf, uint32(size))
}

func validate(e *Entry) error {
	switch {
	case e.Soname == "" || e.Path == "":
		return errors.New("empty name or path")
	case strings.ContainsRune(e.Soname+e.Path+e.HWCaps, 0):
		return errors.New("NUL byte in name, path or glibc-hwcaps subdirectory")
	case strings.Contains(e.HWCaps, "/"):
		return fmt.Errorf("glibc-hwcaps subdirectory %q contains a slash", e.HWCaps)
	case e.HWCaps != "" && e.HWCap&^(HWCapExtension|isaLevelMask<<32) != 0:
		return fmt.Errorf("hwcap %#x has bits other than the ISA level for a glibc-hwcaps entry", e.HWCap)
	case e.HWCaps == "" && e.HWCap&HWCapExtension != 0:
		return fmt.Errorf("hwcap %#x marks a glibc-hwcaps entry but no subdirectory is named", e.HWCap)
	}
	return nil
}

// compareEntries orders entries as ldconfig does: by soname descending
// (the loader's binary search relies on it), then flags descending,
// glibc-hwcaps entries first (the loader stops at the first other one)
// by subdirectory name, then the most specific legacy hwcap first.
func compareEntries(x, y *Entry, signedChar bool) int {
	if c := libcmp(y.Soname, x.Soname, signedChar); c != 0 {
		return c
	}
	if c := cmp.Compare(y.Flags, x.Flags); c != 0 {
		return c
	}
	switch {
	case x.HWCaps != "" && y.HWCaps == "":
		return -1
	case x.HWCaps == "" && y.HWCaps != "":
		return 1
	case x.HWCaps != "":
		if c := strings.Compare(x.HWCaps, y.HWCaps); c != 0 {
			return c
		}
		// The ISA level of glibc-hwcaps entries does not take part.
		return 0
	}
	if c := cmp.Compare(bits.OnesCount64(y.HWCap), bits.OnesCount64(x.HWCap)); c != 0 {
		return c
	}
	return cmp.Compare(y.HWCap, x.HWCap)
}

// libcmp compares library names as glibc's _dl_cache_libcmp does: a run
// of digits compares as a number and after any other character, so
// libfoo.so.10 comes after libfoo.so.9. Numbers wrap at 32 bits as they do
// in C, and other bytes compare as the target's char.
func libcmp(a, b string, signedChar bool) int {
	at := func(s string, i int) int32 {
		switch {
		case i >= len(s):
			return 0
		case signedChar:
			return int32(int8(s[i]))
		default:
			return int32(s[i])
		}
	}
	digit := func(c int32) bool { return '0' <= c && c <= '9' }
	i, j := 0, 0
	for i < len(a) {
		ca, cb := at(a, i), at(b, j)
		switch {
		case digit(ca):
			if !digit(cb) {
				return 1
			}
			var va, vb int32
			for ; i < len(a) && digit(at(a, i)); i++ {
				va = va*10 + at(a, i) - '0'
			}
			for ; j < len(b) && digit(at(b, j)); j++ {
				vb = vb*10 + at(b, j) - '0'
			}
			if va != vb {
				return int(va - vb)
			}
		case digit(cb):
			return -1
		case ca != cb:
			return int(ca - cb)
		default:
			i++
			j++
		}
	}
	return int(-at(b, j))
}

// stringTable lays out strs as ldconfig does, each string once and a
// string that ends another stored in the other's tail, and returns the
// table and each string's offset in it.
func stringTable(strs []string) ([]byte, map[string]uint32) {
	uniq := slices.Clone(strs)
	slices.Sort(uniq)
	uniq = slices.Compact(uniq)
	// Sorting the reversed strings in descending order puts each string
	// right after the longer strings ending in it.
	slices.SortFunc(uniq, func(a, b string) int {
		for i := 1; i <= min(len(a), len(b)); i++ {
			if ca, cb := a[len(a)-i], b[len(b)-i]; ca != cb {
				return int(cb) - int(ca)
			}
		}
		return len(b) - len(a)
	})
	offs := make(map[string]uint32, len(uniq))
	var size uint32
	for i, s := range uniq {
		if i > 0 && strings.HasSuffix(uniq[i-1], s) {
			prev := uniq[i-1]
			offs[s] = offs[prev] + uint32(len(prev)-len(s))
			continue
		}
		offs[s] = size
		size += uint32(len(s)) + 1
	}
	table := make([]byte, size)
	for _, s := range uniq {
		copy(table[offs[s]:], s)
	}
	return table, offs
}
