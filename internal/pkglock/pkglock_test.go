package pkglock

import (
	"strings"
	"testing"
)

func sample() *Lock {
	l := &Lock{}
	l.Set(Platform{Platform: "linux/arm64", Layer: LayerPackages, Suite: "bookworm", Base: "sha256:b", Requested: []string{"curl", "libpq5"},
		Packages: []Package{{Name: "libpq5", Version: "15.10-0+deb12u1", Architecture: "arm64", SHA256: strings.Repeat("a", 64), Size: 10, URL: "http://deb.debian.org/debian/pool/main/p/postgresql-15/libpq5.deb"}}})
	l.Set(Platform{Platform: "linux/amd64", Layer: LayerPackages, Suite: "bookworm", Base: "sha256:a", Requested: []string{"libpq5", "curl"},
		Packages: []Package{
			{Name: "zlib1g", Version: "1:1.2.13.dfsg-1", Architecture: "amd64", SHA256: strings.Repeat("b", 64), Size: 1, URL: "u"},
			{Name: "curl", Version: "7.88.1-10+deb12u8", Architecture: "amd64", SHA256: strings.Repeat("c", 64), Size: 2, URL: "u"},
		}})
	return l
}

func TestRoundTripAndOrder(t *testing.T) {
	l := sample()
	data, err := l.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(data)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	again, _ := back.Marshal()
	if string(again) != string(data) {
		t.Fatalf("not stable:\n%s\n---\n%s", data, again)
	}
	if back.Platforms[0].Platform != "linux/amd64" || back.Platforms[0].Packages[0].Name != "curl" {
		t.Errorf("entries not sorted: %+v", back.Platforms)
	}
	if _, ok := back.Find("linux/amd64", "sha256:a", LayerPackages, []string{"curl", "libpq5"}); !ok {
		t.Error("Find with the same request in another order failed")
	}
	if _, ok := back.Find("linux/amd64", "sha256:a", LayerPackages, []string{"curl"}); ok {
		t.Error("a different request must not match a stale entry")
	}
	if _, ok := back.Find("linux/amd64", "sha256:a", LayerBase, []string{"curl", "libpq5"}); ok {
		t.Error("the base layer's entry is another entry")
	}
	if _, ok := back.Find("linux/amd64", "sha256:other", LayerPackages, []string{"curl", "libpq5"}); ok {
		t.Error("another base must not match")
	}
}

func TestParseRefuses(t *testing.T) {
	for name, text := range map[string]string{
		"version":     "version = 2\n",
		"unknown key": "version = 1\nsurprise = true\n",
		"bad hash":    "version = 1\n[[platform]]\nplatform = \"linux/amd64\"\nlayer = \"packages\"\nbase = \"x\"\n[[platform.package]]\nname = \"a\"\nversion = \"1\"\nurl = \"u\"\nsha256 = \"zz\"\n",
		"bad layer":   "version = 1\n[[platform]]\nplatform = \"linux/amd64\"\nbase = \"x\"\nlayer = \"other\"\n",
		"no base":     "version = 1\n[[platform]]\nplatform = \"linux/amd64\"\n",
	} {
		if _, err := Parse([]byte(text)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzParse(f *testing.F) {
	data, _ := sample().Marshal()
	f.Add(data)
	f.Add([]byte("version = 1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := Parse(b)
		if err != nil {
			return
		}
		out, err := l.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(out); err != nil {
			t.Fatalf("re-parse of marshalled lock: %v", err)
		}
	})
}
