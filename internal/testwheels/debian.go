package testwheels

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"github.com/kiln-build/kiln/internal/testcache"
)

// apt runs apt-get with a private state directory (package lists and
// archive cache) so that it needs neither the host's `apt-get update` nor a
// `dpkg --add-architecture arm64`: the lists are fetched for amd64 and arm64
// from the host's configured sources, and apt checks them against the
// archive's signed InRelease files (the keyrings named in the host's
// sources), then checks every downloaded .deb against the SHA256 in those
// lists.
type apt struct {
	state string
}

func (a *apt) options() []string {
	return []string{
		"-q",
		"-o", "Dir::State::Lists=" + filepath.Join(a.state, "lists"),
		"-o", "Dir::Cache=" + filepath.Join(a.state, "cache"),
		"-o", "APT::Architectures::=amd64",
		"-o", "APT::Architectures::=arm64",
		"-o", "Acquire::Languages=none",
		"-o", "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false",
	}
}

// fetch refreshes the private lists and downloads pkgs ("name" or
// "name:arch") into dir. It holds a lock on the state directory so that
// concurrent builds do not run apt on it at the same time.
func (a *apt) fetch(ctx context.Context, dir string, pkgs []string) error {
	for _, d := range []string{"lists/partial", "cache/archives/partial"} {
		if err := os.MkdirAll(filepath.Join(a.state, d), 0o755); err != nil {
			return err
		}
	}
	unlock, err := testcache.Lock(filepath.Join(a.state, "lock"))
	if err != nil {
		return err
	}
	defer unlock()

	update := exec.CommandContext(ctx, "apt-get", append(a.options(), "update")...)
	if out, err := update.CombinedOutput(); err != nil {
		return unavailable("apt-get update: %v\n%s", err, out)
	}
	download := exec.CommandContext(ctx, "apt-get", append(append(a.options(), "download"), pkgs...)...)
	download.Dir = dir
	if out, err := download.CombinedOutput(); err != nil {
		return unavailable("apt-get download: %v\n%s", err, out)
	}
	return nil
}

// deb is one downloaded Debian binary package.
type deb struct {
	path    string
	pkg     string
	version string
	arch    string
	depends string
	sha256  string
}

func readDeb(ctx context.Context, p string) (*deb, error) {
	out, err := exec.CommandContext(ctx, "dpkg-deb", "--showformat=${Package}\n${Version}\n${Architecture}\n${Depends}\n", "--show", p).Output()
	if err != nil {
		return nil, fmt.Errorf("deb %s: dpkg-deb --show: %w", filepath.Base(p), exitDetail(err))
	}
	f := strings.SplitN(string(out), "\n", 5)
	if len(f) < 4 || f[0] == "" || f[1] == "" || f[2] == "" {
		return nil, fmt.Errorf("deb %s: incomplete control fields %q", filepath.Base(p), out)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	return &deb{path: p, pkg: f[0], version: f[1], arch: f[2], depends: f[3], sha256: hex.EncodeToString(sum[:])}, nil
}

// debFile is a regular file from a .deb's data archive.
type debFile struct {
	data []byte
	exec bool
}

// files returns the regular files under prefix (a path in the package
// without the leading "./", e.g. "usr/lib/python3/dist-packages/"), keyed
// by their path below prefix. Symbolic links are returned separately as
// name -> target, for the caller to decide on; anything else (devices,
// hard links) is an error.
func (d *deb) files(ctx context.Context, prefix string) (map[string]debFile, map[string]string, error) {
	cmd := exec.CommandContext(ctx, "dpkg-deb", "--fsys-tarfile", d.path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("deb %s: %w", filepath.Base(d.path), err)
	}
	files := map[string]debFile{}
	links := map[string]string{}
	tr := tar.NewReader(stdout)
	var readErr error
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			readErr = err
			break
		}
		name := strings.TrimPrefix(path.Clean(h.Name), "./")
		rel, ok := strings.CutPrefix(name, prefix)
		if !ok || rel == "" {
			continue
		}
		switch h.Typeflag {
		case tar.TypeDir:
		case tar.TypeReg:
			data, err := io.ReadAll(tr)
			if err != nil {
				readErr = err
				break
			}
			files[rel] = debFile{data: data, exec: h.Mode&0o111 != 0}
		case tar.TypeSymlink:
			links[rel] = h.Linkname
		default:
			readErr = fmt.Errorf("%s: unsupported entry type %q", name, h.Typeflag)
		}
		if readErr != nil {
			break
		}
	}
	// Drain so dpkg-deb does not die of SIGPIPE and hide the real error.
	_, _ = io.Copy(io.Discard, stdout)
	waitErr := cmd.Wait()
	if readErr != nil {
		return nil, nil, fmt.Errorf("deb %s: %w", filepath.Base(d.path), readErr)
	}
	if waitErr != nil {
		return nil, nil, fmt.Errorf("deb %s: dpkg-deb --fsys-tarfile: %v: %s", filepath.Base(d.path), waitErr, stderr.Bytes())
	}
	return files, links, nil
}

func exitDetail(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return fmt.Errorf("%w: %s", err, bytes.TrimSpace(ee.Stderr))
	}
	return err
}
