package ldcache

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

func TestLibcmp(t *testing.T) {
	for _, c := range []struct {
		a, b             string
		signed, unsigned int
	}{
		{"libfoo.so.10", "libfoo.so.9", 1, 1},
		{"libfoo.so.9", "libfoo.so.10", -1, -1},
		{"libfoo.so.1", "libfoo.so.1", 0, 0},
		{"libfoo.so.01", "libfoo.so.1", 0, 0}, // numbers, not digits
		{"libfoo.so", "libfoo.so.1", -1, -1},  // end before anything
		{"libfoo.so.1", "libfoo.so", 1, 1},
		{"libfoo1.so", "libfoo.so", 1, 1}, // a number after any other byte
		{"libfoo.so", "libfoo1.so", -1, -1},
		{"libB.so", "liba.so", -1, -1},
		{"lib\xc3\xa9.so", "libz.so", -1, 1}, // high bytes are negative as signed char
		{"lib", "lib\x80", 1, -1},
		{"lib\x80", "lib", -1, 1},
	} {
		if got := sign(libcmp(c.a, c.b, true)); got != c.signed {
			t.Errorf("libcmp(%q, %q) signed = %d, want %d", c.a, c.b, got, c.signed)
		}
		if got := sign(libcmp(c.a, c.b, false)); got != c.unsigned {
			t.Errorf("libcmp(%q, %q) unsigned = %d, want %d", c.a, c.b, got, c.unsigned)
		}
	}
}

func TestStringTableSharesSuffixes(t *testing.T) {
	strs := []string{"libz.so.1", "/lib/x/libz.so.1", "libc.so.6", "/lib/x/libc.so.6", "libz.so.1", "x86-64-v3"}
	table, offs := stringTable(strs)
	for _, s := range strs {
		o := offs[s]
		if end := int(o) + len(s); end >= len(table) || string(table[o:end]) != s || table[end] != 0 {
			t.Errorf("%q at %d is not in the table %q", s, o, table)
		}
	}
	// Each soname lives in the tail of its path.
	if want := len("/lib/x/libz.so.1") + len("/lib/x/libc.so.6") + len("x86-64-v3") + 3; len(table) != want {
		t.Errorf("table is %d bytes, want %d: %q", len(table), want, table)
	}
}

func TestWriteParse(t *testing.T) {
	in := []Entry{
		{Soname: "libz.so.1", Path: "/usr/lib/x86_64-linux-gnu/libz.so.1"},
		{Soname: "libz.so.1", Path: "/usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libz.so.1.2.13", HWCaps: "x86-64-v3", HWCap: HWCapExtension | 2<<32},
		{Soname: "libz.so.1", Path: "/usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v2/libz.so.1.2.13", HWCaps: "x86-64-v2"},
		{Soname: "libc.so.6", Path: "/lib/x86_64-linux-gnu/libc.so.6", Flags: FlagELFLibc6 | FlagX8664Lib64},
		{Soname: "libold.so.2", Path: "/usr/lib/tls/libold.so.2", HWCap: 1 << 63},
		{Soname: "libold.so.2", Path: "/usr/lib/libold.so.2"},
		{Soname: "libfoo.so.10", Path: "/opt/libfoo.so.10"},
		{Soname: "libfoo.so.9", Path: "/opt/libfoo.so.9"},
		{Soname: "libfoo.so.9", Path: "/usr/lib/libfoo.so.9"},
	}
	data, err := Write(in, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"libz.so.1 => /usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v2/libz.so.1.2.13",
		"libz.so.1 => /usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libz.so.1.2.13",
		"libz.so.1 => /usr/lib/x86_64-linux-gnu/libz.so.1",
		"libold.so.2 => /usr/lib/tls/libold.so.2",
		"libold.so.2 => /usr/lib/libold.so.2",
		"libfoo.so.10 => /opt/libfoo.so.10",
		"libfoo.so.9 => /opt/libfoo.so.9",
		"libfoo.so.9 => /usr/lib/libfoo.so.9",
		"libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6",
	}
	var order []string
	for _, e := range got {
		order = append(order, e.Soname+" => "+e.Path)
		if e.Flags != FlagELFLibc6|FlagX8664Lib64 {
			t.Errorf("%s: flags %#x, want the amd64 default", e.Path, e.Flags)
		}
	}
	if !slices.Equal(order, want) {
		t.Errorf("order:\n%s\nwant:\n%s", strings.Join(order, "\n"), strings.Join(want, "\n"))
	}
	byPath := map[string]Entry{}
	for _, e := range got {
		byPath[e.Path] = e
	}
	for _, e := range in {
		g := byPath[e.Path]
		want := e
		want.Flags = FlagELFLibc6 | FlagX8664Lib64
		if want.HWCaps != "" {
			want.HWCap |= HWCapExtension
		}
		if g != want {
			t.Errorf("read back %+v, want %+v", g, want)
		}
	}
	// Writing what was read gives the same bytes.
	again, err := Write(got, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, data) {
		t.Error("writing the parsed entries changed the cache")
	}
	c, err := parse(data)
	if err != nil || c.generator != "kiln" {
		t.Errorf("generator = %q, %v; want kiln", c.generator, err)
	}
}

func TestWriteEmpty(t *testing.T) {
	data, err := Write(nil, "arm64")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(data)
	if err != nil || len(got) != 0 {
		t.Fatalf("Parse = %v, %v; want no entries", got, err)
	}
}

func TestWriteErrors(t *testing.T) {
	ok := Entry{Soname: "libz.so.1", Path: "/lib/libz.so.1"}
	for _, c := range []struct {
		name string
		e    Entry
		arch string
		want string
	}{
		{"arch", ok, "riscv64", "unsupported architecture"},
		{"no soname", Entry{Path: "/lib/libz.so.1"}, "amd64", "empty"},
		{"no path", Entry{Soname: "libz.so.1"}, "amd64", "empty"},
		{"nul", Entry{Soname: "libz\x00.so", Path: "/x"}, "amd64", "NUL"},
		{"slash", Entry{Soname: "libz.so.1", Path: "/x", HWCaps: "a/b"}, "amd64", "slash"},
		{"hwcaps bits", Entry{Soname: "libz.so.1", Path: "/x", HWCaps: "x86-64-v3", HWCap: 1}, "amd64", "bits other than the ISA level"},
		{"extension without name", Entry{Soname: "libz.so.1", Path: "/x", HWCap: HWCapExtension}, "amd64", "no subdirectory"},
	} {
		_, err := Write([]Entry{ok, c.e}, c.arch)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Write error = %v, want one containing %q", c.name, err, c.want)
		}
		if err != nil && c.arch == "amd64" && !strings.Contains(err.Error(), "entry 1") {
			t.Errorf("%s: error %q does not name the entry", c.name, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	good, err := Write([]Entry{{Soname: "libz.so.1", Path: "/lib/libz.so.1", HWCaps: "x86-64-v3"}}, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	// Every truncation is an error.
	for n := range len(good) {
		if _, err := Parse(good[:n]); err == nil {
			t.Errorf("Parse of the first %d bytes succeeded", n)
		}
	}
	corrupt := func(off int, b ...byte) []byte {
		d := slices.Clone(good)
		copy(d[off:], b)
		return d
	}
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"magic", []byte("not a cache at all, not at all"), "bad magic"},
		{"endian", corrupt(28, 1), "invalid"},
		{"count", corrupt(20, 0xff, 0xff, 0xff, 0x0f), "do not fit"},
		{"key", corrupt(newHeader+4, 0xff, 0xff), "beyond the end"},
		{"value", corrupt(newHeader+8, 0xff, 0xff), "beyond the end"},
		{"hwcaps index", corrupt(newHeader+16, 7), "index 7 out of range"},
		{"extension offset", corrupt(32, 1), "bad extension offset"},
		{"extension magic", corrupt(int(binary.LittleEndian.Uint32(good[32:])), 0), "bad extension magic"},
		{"old count", append([]byte("ld.so-1.7.0\x00"), 0xff, 0xff, 0xff, 0xff), "do not fit"},
	} {
		_, err := Parse(c.data)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Parse error = %v, want one containing %q", c.name, err, c.want)
		}
	}
}

// TestWriteListedByLdconfig checks with the real ldconfig that it reads
// back exactly the entries written, for both architectures.
func TestWriteListedByLdconfig(t *testing.T) {
	ldconfig(t)
	for _, arch := range []string{"amd64", "arm64"} {
		t.Run(arch, func(t *testing.T) {
			triplet := arches[arch].triplet
			in := []Entry{
				{Soname: "libz.so.1", Path: "/usr/lib/" + triplet + "/libz.so.1"},
				{Soname: "libz.so.1", Path: "/usr/lib/" + triplet + "/glibc-hwcaps/x86-64-v3/libz.so.1.2.13", HWCaps: "x86-64-v3", HWCap: 2 << 32},
				{Soname: "libz.so", Path: "/usr/lib/" + triplet + "/libz.so"},
				{Soname: "libpq.so.5", Path: "/usr/lib/" + triplet + "/libpq.so.5"},
				{Soname: "libpq.so.5", Path: "/usr/local/lib/libpq.so.5"},
				{Soname: "ld-linux.so.2", Path: "/lib/ld-linux.so.2", Flags: FlagELFLibc6},
				{Soname: "libtls.so.1", Path: "/usr/lib/tls/libtls.so.1", HWCap: 1 << 63},
			}
			data, err := Write(in, arch)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "ld.so.cache")
			if err := os.WriteFile(file, data, 0o644); err != nil {
				t.Fatal(err)
			}
			listed, gen := printCache(t, file)
			parsed, err := Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			if want := describeAll(parsed); !reflect.DeepEqual(listed, want) {
				t.Errorf("ldconfig -p lists\n%v\nwant\n%v", listed, want)
			}
			if gen != "kiln" {
				t.Errorf("generator %q, want kiln", gen)
			}
			// Every entry written is listed, with the arch's flags.
			var want []listing
			for _, e := range in {
				if e.Flags == 0 {
					e.Flags = arches[arch].flags
				}
				want = append(want, describe(e))
			}
			sortListings(want)
			got := slices.Clone(listed)
			sortListings(got)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("ldconfig -p lists\n%v\nwant (any order)\n%v", got, want)
			}
			for _, l := range listed {
				abi := map[string]string{"amd64": "x86-64", "arm64": "AArch64"}[arch]
				if l.soname != "ld-linux.so.2" && !strings.HasPrefix(l.desc, "libc6,"+abi) {
					t.Errorf("%s: %q, want libc6,%s", l.path, l.desc, abi)
				}
			}
		})
	}
}

func sortListings(ls []listing) {
	slices.SortFunc(ls, func(a, b listing) int { return strings.Compare(a.path+a.desc, b.path+b.desc) })
}

// TestHostCacheRoundTrip reads the host's cache, which the host's
// ldconfig wrote, and writes it back.
func TestHostCacheRoundTrip(t *testing.T) {
	data, err := os.ReadFile("/etc/ld.so.cache")
	if err != nil {
		t.Skipf("host cache: %v", err)
	}
	c, err := parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.entries) == 0 {
		t.Skip("host cache is empty")
	}
	arch := map[int32]string{FlagELFLibc6 | FlagX8664Lib64: "amd64", FlagELFLibc6 | FlagAArch64Lib64: "arm64"}[c.entries[0].Flags]
	if arch == "" {
		t.Skipf("host cache is for flags %#x", c.entries[0].Flags)
	}
	again, err := write(c.entries, arch, c.generator)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, data) {
		i := 0
		for i < min(len(again), len(data)) && again[i] == data[i] {
			i++
		}
		t.Errorf("rewritten cache differs from the host's at byte %d (%d vs %d bytes)", i, len(again), len(data))
	}
	if arch == "amd64" {
		listed, gen := printCache(t, "")
		if want := describeAll(c.entries); !reflect.DeepEqual(listed, want) {
			t.Errorf("Parse disagrees with ldconfig -p:\n%v\nwant\n%v", want, listed)
		}
		if gen != c.generator {
			t.Errorf("generator %q, ldconfig says %q", c.generator, gen)
		}
	}
}

func TestArm64WriteParse(t *testing.T) {
	in := []Entry{
		{Soname: "libc.so.6", Path: "/lib/aarch64-linux-gnu/libc.so.6"},
		{Soname: "ld-linux-aarch64.so.1", Path: "/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1"},
		{Soname: "libpq.so.5", Path: "/usr/lib/aarch64-linux-gnu/libpq.so.5", Flags: FlagELFLibc6 | FlagAArch64Lib64},
	}
	data, err := Write(in, "arm64")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	var sonames []string
	for _, e := range got {
		sonames = append(sonames, e.Soname)
		if e.Flags != 0x0a03 {
			t.Errorf("%s: flags %#x, want 0xa03 (libc6, AArch64)", e.Soname, e.Flags)
		}
	}
	if want := []string{"libpq.so.5", "libc.so.6", "ld-linux-aarch64.so.1"}; !slices.Equal(sonames, want) {
		t.Errorf("order %q, want %q", sonames, want)
	}
	// High bytes sort as unsigned char on arm64 and signed on amd64.
	high := []Entry{{Soname: "lib\xc3\xa9.so", Path: "/a"}, {Soname: "libz.so", Path: "/b"}}
	for arch, first := range map[string]string{"arm64": "lib\xc3\xa9.so", "amd64": "libz.so"} {
		data, err := Write(high, arch)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		if got[0].Soname != first {
			t.Errorf("%s: first entry %q, want %q", arch, got[0].Soname, first)
		}
	}
}
