package imageref

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Ref
	}{
		{"python:3.12-slim-bookworm", Ref{Transport: Registry, Name: "python:3.12-slim-bookworm", Tag: "3.12-slim-bookworm"}},
		{"python", Ref{Transport: Registry, Name: "python", Tag: "latest"}},
		{"docker://ghcr.io/acme/api:1.4", Ref{Transport: Registry, Name: "ghcr.io/acme/api:1.4", Tag: "1.4"}},
		{"localhost:5000/app", Ref{Transport: Registry, Name: "localhost:5000/app", Tag: "latest"}},
		{"127.0.0.1:5000/a/b:v1@sha256:" + strings.Repeat("ab", 32),
			Ref{Transport: Registry, Name: "127.0.0.1:5000/a/b:v1@sha256:" + strings.Repeat("ab", 32), Tag: "v1"}},
		{"127.0.0.1:5000/a/b@sha256:" + strings.Repeat("ab", 32),
			Ref{Transport: Registry, Name: "127.0.0.1:5000/a/b@sha256:" + strings.Repeat("ab", 32)}},
		// A Docker Hub image that happens to be called "docker".
		{"docker:27", Ref{Transport: Registry, Name: "docker:27", Tag: "27"}},
		{"docker://oci:1.0", Ref{Transport: Registry, Name: "oci:1.0", Tag: "1.0"}},
		{"oci:./out", Ref{Transport: OCI, Path: "./out"}},
		{"oci:/tmp/layout:v1.2", Ref{Transport: OCI, Path: "/tmp/layout", Tag: "v1.2"}},
		{"oci:base:library/python:3.12", Ref{Transport: OCI, Path: "base", Tag: "library/python:3.12"}},
		{"docker-archive:img.tar", Ref{Transport: DockerArchive, Path: "img.tar"}},
		{"docker-archive:img.tar:acme/api:1.4", Ref{Transport: DockerArchive, Path: "img.tar", Name: "acme/api:1.4", Tag: "1.4"}},
		{"docker-archive:img.tar:acme/api", Ref{Transport: DockerArchive, Path: "img.tar", Name: "acme/api", Tag: "latest"}},
		{"docker-daemon:acme/api:1.4", Ref{Transport: DockerDaemon, Name: "acme/api:1.4", Tag: "1.4"}},
		{"docker-daemon:acme/api", Ref{Transport: DockerDaemon, Name: "acme/api", Tag: "latest"}},
		{"deb:bookworm", Ref{Transport: Deb, Suite: "bookworm"}},
		{"deb:bookworm-backports", Ref{Transport: Deb, Suite: "bookworm-backports"}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		tt.want.Raw = tt.in
		if got != tt.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "empty"},
		{"oci:", "needs a directory"},
		{"oci::v1", "needs a directory"},
		{"oci:dir:", "not a valid org.opencontainers.image.ref.name"},
		{"oci:dir:bad tag", "not a valid"},
		{"docker-archive:", "needs a file"},
		{"docker-archive:x.tar:Not/Valid", "image name"},
		{"docker-daemon:", "docker-daemon"},
		{"docker-daemon:UPPER", "docker-daemon"},
		{"deb:", "not a Debian suite"},
		{"deb:Bookworm", "not a Debian suite"},
		{"deb:../etc", "not a Debian suite"},
		{"oci-archive:x.tar", `transport "oci-archive" is not supported`},
		{"containers-storage:foo", "not supported"},
		{"dir:/tmp/x", "not supported"},
		{"Python:3", "image reference"},
		{"docker://", "image reference"},
		{"ghcr.io/acme/api:bad tag", "image reference"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		if err == nil {
			t.Errorf("Parse(%q): no error, want one containing %q", tt.in, tt.want)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.in) {
			t.Errorf("Parse(%q) = %q, want it to name the input and contain %q", tt.in, err, tt.want)
		}
	}
}

func TestString(t *testing.T) {
	for in, want := range map[string]string{
		"docker://ghcr.io/acme/api:1.4":     "ghcr.io/acme/api:1.4",
		"docker://oci:1.0":                  "docker://oci:1.0",
		"docker://docker-daemon:x":          "docker://docker-daemon:x",
		"oci:out:v1":                        "oci:out:v1",
		"docker-archive:a.tar:acme/api:1.4": "docker-archive:a.tar:acme/api:1.4",
		"docker-daemon:acme/api":            "docker-daemon:acme/api",
		"deb:trixie":                        "deb:trixie",
	} {
		r, err := Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.String(); got != want {
			t.Errorf("Parse(%q).String() = %q, want %q", in, got, want)
		}
	}
}

func TestReferenceInsecure(t *testing.T) {
	tests := []struct {
		in       string
		insecure bool
		scheme   string
	}{
		{"127.0.0.1:5000/app", false, "http"},
		{"localhost:5000/app", false, "http"},
		{"[::1]:5000/app", false, "http"},
		{"ghcr.io/acme/app", false, "https"},
		{"registry.example:5000/app", false, "https"},
		{"registry.example:5000/app", true, "http"},
	}
	for _, tt := range tests {
		r, err := Parse(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := r.Reference(tt.insecure)
		if err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if got := ref.Context().Scheme(); got != tt.scheme {
			t.Errorf("%s insecure=%v: scheme %s, want %s", tt.in, tt.insecure, got, tt.scheme)
		}
	}
	r, _ := Parse("oci:dir")
	if _, err := r.Reference(false); err == nil {
		t.Error("Reference of an oci: ref: no error")
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1:5000": true, "127.1.2.3": true, "localhost": true, "localhost:80": true,
		"reg.localhost:5000": true, "[::1]:5000": true,
		"10.0.0.1:5000": false, "ghcr.io": false, "localhost.example.com": false,
	} {
		if got := isLoopback(host); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"python:3.12-slim-bookworm@sha256:" + strings.Repeat("0", 64),
		"docker://ghcr.io/acme/api:1.4", "docker://oci:1", "localhost:5000/a/b",
		"oci:dir", "oci:dir:tag", "oci:a:b:c", "docker-archive:x.tar", "docker-archive:x.tar:a/b:c",
		"docker-daemon:a:b", "deb:bookworm", "dir:x", "oci-archive:x", ":", "docker:", "a:b:c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			return
		}
		if r.Raw != s {
			t.Fatalf("Parse(%q).Raw = %q", s, r.Raw)
		}
		str := r.String()
		r2, err := Parse(str)
		if err != nil {
			t.Fatalf("Parse(%q) ok, but its String %q does not parse: %v", s, str, err)
		}
		r2.Raw = r.Raw
		if r2 != r {
			t.Fatalf("Parse(%q) = %+v, but Parse(String()=%q) = %+v", s, r, str, r2)
		}
		if r.Transport == Registry || r.Transport == DockerDaemon {
			if _, err := r.Reference(false); err != nil {
				t.Fatalf("Parse(%q) ok, Reference: %v", s, err)
			}
		}
	})
}
