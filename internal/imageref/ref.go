// Package imageref parses image references in skopeo's transport syntax and
// reads the images they name.
//
//	REGISTRY/REPO[:TAG][@DIGEST]   a registry (also written docker://…)
//	oci:DIR[:TAG]                  an OCI image layout directory
//	docker-archive:FILE[:REF]      a `docker save` tarball
//	docker-daemon:NAME[:TAG]       the local Docker engine
//	deb:SUITE                      a base assembled from Debian packages
//
// As in skopeo, the path of an oci: or docker-archive: reference ends at its
// first colon, so paths containing colons cannot be named. A registry image
// whose name collides with a transport (an image called "oci") is reached
// with the docker:// prefix.
package imageref

import (
	"fmt"
	"net"
	"regexp"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Transport names where an image lives.
type Transport string

const (
	Registry      Transport = "registry"
	OCI           Transport = "oci"
	DockerArchive Transport = "docker-archive"
	DockerDaemon  Transport = "docker-daemon"
	Deb           Transport = "deb"
)

// Ref is a parsed image reference. Which fields are set depends on Transport:
// Name for registry and docker-daemon (and the optional reference inside a
// docker-archive), Path for oci and docker-archive, Tag whenever the
// reference carries one, Suite for deb.
type Ref struct {
	Transport Transport
	Raw       string // as given
	Name      string // registry reference or daemon image name, as given
	Path      string // OCI layout directory or archive file
	Tag       string
	Suite     string
}

// skopeo transports kiln does not implement. Naming them is almost certainly
// not meant as a Docker Hub image called "dir" or "oci-archive", so they are
// refused rather than pulled.
var unsupported = []string{"containers-storage", "dir", "oci-archive", "ostree", "sif", "tarball"}

// Parse parses an image reference in skopeo's transport syntax.
func Parse(s string) (Ref, error) {
	r, err := parse(s)
	if err != nil {
		return Ref{}, fmt.Errorf("image reference %q: %w", s, err)
	}
	r.Raw = s
	return r, nil
}

func parse(s string) (Ref, error) {
	if s == "" {
		return Ref{}, fmt.Errorf("empty")
	}
	if rest, ok := strings.CutPrefix(s, "docker://"); ok {
		return parseRegistry(rest)
	}
	transport, rest, ok := strings.Cut(s, ":")
	if !ok {
		return parseRegistry(s)
	}
	switch Transport(transport) {
	case OCI:
		dir, tag, hasTag := strings.Cut(rest, ":")
		if dir == "" {
			return Ref{}, fmt.Errorf("oci: needs a directory (oci:DIR[:TAG])")
		}
		if hasTag {
			if err := checkRefName(tag); err != nil {
				return Ref{}, err
			}
		}
		return Ref{Transport: OCI, Path: dir, Tag: tag}, nil
	case DockerArchive:
		file, ref, hasRef := strings.Cut(rest, ":")
		if file == "" {
			return Ref{}, fmt.Errorf("docker-archive: needs a file (docker-archive:FILE[:NAME:TAG])")
		}
		r := Ref{Transport: DockerArchive, Path: file}
		if hasRef {
			t, err := name.NewTag(ref)
			if err != nil {
				return Ref{}, fmt.Errorf("docker-archive: image name %q: %w", ref, err)
			}
			r.Name, r.Tag = ref, t.TagStr()
		}
		return r, nil
	case DockerDaemon:
		ref, err := name.ParseReference(rest)
		if err != nil {
			return Ref{}, fmt.Errorf("docker-daemon: %w", err)
		}
		return Ref{Transport: DockerDaemon, Name: rest, Tag: tagOf(rest, ref)}, nil
	case Deb:
		if !suiteRE.MatchString(rest) {
			return Ref{}, fmt.Errorf("deb: suite %q is not a Debian suite or codename (e.g. deb:bookworm)", rest)
		}
		return Ref{Transport: Deb, Suite: rest}, nil
	}
	if slices.Contains(unsupported, transport) {
		return Ref{}, fmt.Errorf("transport %q is not supported (use a registry reference, docker://, oci:, docker-archive:, docker-daemon: or deb:)", transport)
	}
	return parseRegistry(s)
}

func parseRegistry(s string) (Ref, error) {
	ref, err := name.ParseReference(s)
	if err != nil {
		return Ref{}, err
	}
	return Ref{Transport: Registry, Name: s, Tag: tagOf(s, ref)}, nil
}

// tagOf returns the tag of a reference, including the one that name.Digest
// drops from REPO:TAG@DIGEST.
func tagOf(s string, ref name.Reference) string {
	switch ref := ref.(type) {
	case name.Tag:
		return ref.TagStr()
	case name.Digest:
		base, _, _ := strings.Cut(s, "@")
		if i := strings.LastIndex(base, ":"); i > strings.LastIndex(base, "/") {
			return base[i+1:]
		}
	}
	return ""
}

var (
	// org.opencontainers.image.ref.name grammar from the image-spec annotations.
	refNameRE = regexp.MustCompile(`^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*$`)
	suiteRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9.+-]*$`)
)

func checkRefName(tag string) error {
	if !refNameRE.MatchString(tag) {
		return fmt.Errorf("oci: tag %q is not a valid org.opencontainers.image.ref.name", tag)
	}
	return nil
}

// String returns r in the syntax Parse accepts.
func (r Ref) String() string {
	switch r.Transport {
	case Registry:
		// A name that would read as another transport keeps its prefix.
		if p, err := parse(r.Name); err != nil || p.Transport != Registry {
			return "docker://" + r.Name
		}
		return r.Name
	case OCI:
		if r.Tag != "" {
			return "oci:" + r.Path + ":" + r.Tag
		}
		return "oci:" + r.Path
	case DockerArchive:
		if r.Name != "" {
			return "docker-archive:" + r.Path + ":" + r.Name
		}
		return "docker-archive:" + r.Path
	case DockerDaemon:
		return "docker-daemon:" + r.Name
	case Deb:
		return "deb:" + r.Suite
	}
	return r.Raw
}

// Reference returns the name.Reference of a registry or docker-daemon Ref.
// Registries on loopback addresses are reached over plain HTTP; others only
// when insecure is set.
func (r Ref) Reference(insecure bool) (name.Reference, error) {
	if r.Transport != Registry && r.Transport != DockerDaemon {
		return nil, fmt.Errorf("%s: not a registry or docker-daemon reference", r)
	}
	ref, err := name.ParseReference(r.Name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r, err)
	}
	if insecure || isLoopback(ref.Context().RegistryStr()) {
		ref, err = name.ParseReference(r.Name, name.Insecure)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r, err)
		}
	}
	return ref, nil
}

func isLoopback(registry string) bool {
	host := registry
	if h, _, err := net.SplitHostPort(registry); err == nil {
		host = h
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
