package testwheels

import (
	"reflect"
	"strings"
	"testing"
)

func TestParsePKGInfo(t *testing.T) {
	in := "Metadata-Version: 2.1\nName: Flask\nVersion: 2.2.2\nLicense: BSD\n  continued\nProvides-Extra: async\nProvides-Extra: dotenv\n\nBody text\n\nmore\n"
	p, err := parsePKGInfo([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if p.get("name") != "Flask" || p.get("Version") != "2.2.2" {
		t.Errorf("name/version %q %q", p.get("Name"), p.get("Version"))
	}
	if got := p.all("Provides-Extra"); !reflect.DeepEqual(got, []string{"async", "dotenv"}) {
		t.Errorf("extras %q", got)
	}
	out := string(p.bytes([]string{"Requires-Dist: click"}))
	want := "Metadata-Version: 2.1\nName: Flask\nVersion: 2.2.2\nLicense: BSD\n  continued\nProvides-Extra: async\nProvides-Extra: dotenv\nRequires-Dist: click\n\nBody text\n\nmore\n"
	if out != want {
		t.Errorf("bytes:\n%s\nwant:\n%s", out, want)
	}
}

func TestParsePKGInfoErrors(t *testing.T) {
	for _, in := range []string{
		"Name: x\nVersion: 1\n",                       // no Metadata-Version
		"Metadata-Version: 2.1\nVersion: 1\n",         // no Name
		" leading continuation\nName: x\n",            // continuation first
		"Metadata-Version: 2.1\nName x\nVersion: 1\n", // no colon
	} {
		if _, err := parsePKGInfo([]byte(in)); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

func TestRequiresTxt(t *testing.T) {
	// Shapes from Debian's Flask, gunicorn and click requires.txt, plus the
	// combined "[extra:marker]" section setuptools writes.
	in := `
[:python_version < "3.10"]

[async]
asgiref>=3.2

[:platform_system == "Windows"]
colorama

[gthread]

[tls:sys_platform != "win32"]
pyopenssl>=23 ; python_version >= "3.8"
`
	reqs, extras, err := requiresTxt([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	wantReqs := []string{
		`asgiref>=3.2; extra == "async"`,
		`colorama; platform_system == "Windows"`,
		`pyopenssl>=23; (python_version >= "3.8") and (sys_platform != "win32") and extra == "tls"`,
	}
	if !reflect.DeepEqual(reqs, wantReqs) {
		t.Errorf("reqs\n got %q\nwant %q", reqs, wantReqs)
	}
	if want := []string{"async", "gthread", "tls"}; !reflect.DeepEqual(extras, want) {
		t.Errorf("extras %q, want %q", extras, want)
	}
}

func TestRequiresTxtErrors(t *testing.T) {
	for _, in := range []string{"[unterminated\nfoo\n", "[bad extra!]\n", "-e git+https://x\n", "foo >= \n"} {
		if _, _, err := requiresTxt([]byte(in)); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

func TestDebianRequires(t *testing.T) {
	dists := map[string]string{
		"python3-click": "click", "python3-itsdangerous": "itsdangerous", "python3-jinja2": "Jinja2",
		"python3-werkzeug": "Werkzeug", "python3-markupsafe": "MarkupSafe",
		"python3-setuptools": "setuptools", "python3-pkg-resources": "setuptools",
	}
	cases := []struct {
		depends, self string
		want          []string
	}{
		// Debian bookworm python3-flask 2.2.2-3.
		{"python3-click (>= 8.0), python3-importlib-metadata | python3 (>> 3.10), python3-itsdangerous (>= 2.0), python3-jinja2 (>= 3.0), python3-werkzeug (>= 2.2.2), python3:any",
			"Flask", []string{"click>=8.0", "itsdangerous>=2.0", "Jinja2>=3.0", "Werkzeug>=2.2.2"}},
		// python3-gunicorn: two Debian packages, one distribution.
		{"python3-pkg-resources, python3-setuptools, python3:any", "gunicorn", []string{"setuptools"}},
		// python3-setuptools depends on its own other half.
		{"python3-pkg-resources (= 66.1.1-1+deb12u2), python3-distutils, python3:any", "setuptools", nil},
		// Epoch, revision, strict relations, arch qualifier, odd versions.
		{"python3-click:any (>> 1:7.1-2), python3-jinja2 (<< 4~), python3-markupsafe (= 2.1.2+dfsg-1)", "x",
			[]string{"click>7.1", "Jinja2", "MarkupSafe"}},
	}
	for _, c := range cases {
		got, err := debianRequires(c.depends, dists, c.self)
		if err != nil {
			t.Errorf("%s: %v", c.depends, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %q\nwant %q", c.depends, got, c.want)
		}
	}
	if _, err := debianRequires("python3-click (>= 8.0), ???", dists, "x"); err == nil {
		t.Error("unparsable relation: no error")
	}
}

func TestUpstreamVersion(t *testing.T) {
	for in, want := range map[string]string{
		"2.2.2-3":          "2.2.2",
		"3.1.2-1+deb12u3":  "3.1.2",
		"1:2.0-1":          "2.0",
		"1.2.3+dfsg-2":     "1.2.3",
		"66.1.1-1+deb12u2": "66.1.1",
		"20.1.0":           "20.1.0",
		"3.11~rc1-1":       "3.11",
	} {
		if got := upstreamVersion(in); got != want {
			t.Errorf("upstreamVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzRequiresTxt(f *testing.F) {
	f.Add("\n[:python_version < \"3.10\"]\n\n[async]\nasgiref>=3.2\n")
	f.Add("[e:m]\nfoo (>=1.0)\n")
	f.Add("foo[bar]>=1; python_version<'3'\n")
	f.Fuzz(func(t *testing.T, in string) {
		reqs, _, err := requiresTxt([]byte(in))
		if err != nil {
			return
		}
		for _, r := range reqs {
			if strings.Contains(r, "\n") {
				t.Fatalf("requirement spans lines: %q", r)
			}
			if requirementName(r) == "" {
				t.Fatalf("requirement without a name: %q", r)
			}
		}
	})
}

func FuzzParsePKGInfo(f *testing.F) {
	f.Add("Metadata-Version: 2.1\nName: a\nVersion: 1\n\nbody")
	f.Add("Metadata-Version: 2.1\nName: a\n continued\nVersion: 1\n")
	f.Fuzz(func(t *testing.T, in string) {
		p, err := parsePKGInfo([]byte(in))
		if err != nil {
			return
		}
		// Rendering and parsing again is stable.
		q, err := parsePKGInfo(p.bytes(nil))
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if q.get("Name") != p.get("Name") || q.get("Version") != p.get("Version") {
			t.Fatalf("round trip changed name/version")
		}
	})
}

func FuzzDebianRequires(f *testing.F) {
	f.Add("python3-click (>= 8.0), python3-foo | python3 (>> 3.10), python3:any")
	f.Add("python3-jinja2:any (<< 1:4~)")
	dists := map[string]string{"python3-click": "click", "python3-jinja2": "Jinja2"}
	f.Fuzz(func(t *testing.T, depends string) {
		reqs, err := debianRequires(depends, dists, "self")
		if err != nil {
			return
		}
		for _, r := range reqs {
			if !reqName.MatchString(r) {
				t.Fatalf("not a requirement: %q", r)
			}
		}
	})
}
