package ldcache

import (
	"bytes"
	"io/fs"
	"testing"
	"testing/fstest"
)

func FuzzParse(f *testing.F) {
	for _, arch := range []string{"amd64", "arm64"} {
		data, err := Write([]Entry{
			{Soname: "libz.so.1", Path: "/lib/libz.so.1"},
			{Soname: "libz.so.1", Path: "/lib/glibc-hwcaps/x86-64-v3/libz.so.1.2.13", HWCaps: "x86-64-v3", HWCap: 3 << 32},
			{Soname: "libtls.so.1", Path: "/lib/tls/libtls.so.1", HWCap: 1 << 63},
		}, arch)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	old := append([]byte("ld.so-1.7.0\x00"), 1, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0)
	f.Add(append(old, "a\x00b\x00"...))
	f.Add([]byte(magicNew))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := Parse(data)
		if err != nil {
			return
		}
		// What Write accepts it writes stably.
		first, err := Write(entries, "amd64")
		if err != nil {
			return
		}
		back, err := Parse(first)
		if err != nil {
			t.Fatalf("Parse of a written cache: %v", err)
		}
		second, err := Write(back, "amd64")
		if err != nil {
			t.Fatalf("Write of a parsed written cache: %v", err)
		}
		if !bytes.Equal(first, second) {
			t.Fatal("writing the parsed cache changed it")
		}
	})
}

// noLinks is an FS without symbolic links.
type noLinks struct{ fstest.MapFS }

func (noLinks) Readlink(name string) (string, error) {
	return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
}

// FuzzScan feeds Scan an arbitrary object and ld.so.conf.
func FuzzScan(f *testing.F) {
	f.Add(buildELF(elfSpec{machine: emX8664, soname: "libz.so.1", isaNeeded: 4}), "/opt\ninclude /etc/*.conf\n")
	f.Add(buildELF(elfSpec{machine: emX8664}), "hwcap 0 nosegneg\n/opt/x=libc6 # c\n")
	f.Add(buildELF(elfSpec{machine: emAArch64, soname: "libz.so.1"}), "")
	f.Fuzz(func(t *testing.T, obj []byte, conf string) {
		root := noLinks{fstest.MapFS{
			"etc/ld.so.conf":                                       {Data: []byte(conf)},
			"etc/more.conf":                                        {Data: []byte("include /etc/ld.so.conf\n/usr/local/lib\n")},
			"opt/libfuzz.so.1":                                     {Data: obj},
			"usr/lib/x86_64-linux-gnu/libfuzz.so.1":                {Data: obj},
			"usr/lib/x86_64-linux-gnu/glibc-hwcaps/v":              {Mode: fs.ModeDir},
			"usr/lib/x86_64-linux-gnu/glibc-hwcaps/v/libfuzz.so.2": {Data: obj},
		}}
		for _, arch := range []string{"amd64", "arm64"} {
			entries, err := Scan(root, arch)
			if err != nil {
				t.Fatalf("Scan: %v", err)
			}
			if _, err := Write(entries, arch); err != nil {
				t.Fatalf("Write of scanned entries: %v", err)
			}
		}
	})
}
