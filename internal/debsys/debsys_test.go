package debsys

import (
	"testing"

	"github.com/kiln-build/kiln/internal/ldcache"
)

func TestInstalledFromStatus(t *testing.T) {
	status := []byte(`Package: libssl3
Status: install ok installed
Architecture: amd64
Source: openssl
Version: 3.0.15-1~deb12u1
Provides: libssl

Package: oldpkg
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0

Package: dash
Status: install ok installed
Architecture: amd64
Version: 0.5.12-2
`)
	got, err := InstalledFromStatus(status)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "libssl3" || got[0].Source != "openssl" || len(got[0].Provides) != 1 || got[1].Name != "dash" {
		t.Fatalf("%+v", got)
	}
	if _, err := InstalledFromStatus([]byte("Package: x\nStatus: install ok installed\nVersion: ~~bad\n")); err == nil {
		t.Error("a bad version in the base's status was accepted")
	}
	if got, err := InstalledFromStatus(nil); err != nil || got != nil {
		t.Errorf("no status: %v %v", got, err)
	}
}

func TestMergeKeepsLayerEntries(t *testing.T) {
	old := []ldcache.Entry{{Soname: "libz.so.1", Path: "/usr/lib/x86_64-linux-gnu/libz.so.1", Flags: 1}, {Soname: "libc.so.6", Path: "/usr/lib/x86_64-linux-gnu/libc.so.6"}}
	fresh := []ldcache.Entry{{Soname: "libz.so.1", Path: "/usr/lib/x86_64-linux-gnu/libz.so.1", Flags: 2}, {Soname: "libpq.so.5", Path: "/usr/lib/x86_64-linux-gnu/libpq.so.5"}}
	got := merge(old, fresh)
	if len(got) != 3 {
		t.Fatalf("%+v", got)
	}
	for _, e := range got {
		if e.Soname == "libz.so.1" && e.Flags != 2 {
			t.Error("the base's entry won over the layer's")
		}
	}
}
