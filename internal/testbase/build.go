package testbase

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/kiln-build/kiln/internal/testcache"
)

const refName = "org.opencontainers.image.ref.name"

// buildLayout debootstraps both rootfses under tmp and writes the layout to out.
func buildLayout(tmp, out string, log io.Writer) error {
	logPath := filepath.Join(tmp, "build.log")
	lf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer lf.Close()
	w := io.MultiWriter(lf, log)
	if err := buildLayoutLogged(tmp, out, w); err != nil {
		return fmt.Errorf("%w\n--- end of %s:\n%s", err, logPath, tail(logPath, 25))
	}
	return nil
}

func buildLayoutLogged(tmp, out string, w io.Writer) error {
	start := time.Now()
	var imgs []v1.Image
	for _, arch := range []string{"amd64", "arm64"} {
		root := filepath.Join(tmp, arch)
		t0 := time.Now()
		var err error
		if arch == "amd64" {
			err = debootstrapNative(root, w)
		} else {
			err = debootstrapForeign(root, arch, w)
		}
		if err != nil {
			return fmt.Errorf("%s rootfs: %w", arch, err)
		}
		if err := trim(root); err != nil {
			return fmt.Errorf("%s rootfs: %w", arch, err)
		}
		t1 := time.Now()
		img, err := imageFromRootfs(root, arch, filepath.Join(tmp, arch+".tar.gz"))
		if err != nil {
			return fmt.Errorf("%s image: %w", arch, err)
		}
		// Free the disk early: the layer file is all the image needs now.
		if err := testcache.RemoveAll(root); err != nil {
			return err
		}
		size, _ := imageSize(img)
		fmt.Fprintf(w, "testbase: linux/%s: rootfs %s, layer %s, image %d bytes compressed\n",
			arch, t1.Sub(t0).Round(time.Second), time.Since(t1).Round(time.Second), size)
		imgs = append(imgs, img)
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for i, arch := range []string{"amd64", "arm64"} {
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        imgs[i],
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}},
		})
	}
	lp, err := layout.Write(out, empty.Index)
	if err != nil {
		return fmt.Errorf("writing layout: %w", err)
	}
	if err := lp.AppendIndex(idx, layout.WithAnnotations(map[string]string{refName: Tag})); err != nil {
		return fmt.Errorf("writing layout: %w", err)
	}
	// Blobs of layers are written 0600; readable ones let unprivileged test
	// runs share a cache that root built.
	err = filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		return os.Chmod(p, 0o644)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "testbase: layout built in %s\n", time.Since(start).Round(time.Second))
	return nil
}

func imageSize(img v1.Image) (int64, error) {
	m, err := img.Manifest()
	if err != nil {
		return 0, err
	}
	n := m.Config.Size
	for _, l := range m.Layers {
		n += l.Size
	}
	return n, nil
}

func debootstrapNative(root string, w io.Writer) error {
	return run(w, "debootstrap", "--variant=minbase", "--include=python3,ca-certificates",
		suite, root, Mirror())
}

// debootstrapForeign builds a rootfs for arch without running anything of
// arch: stage 1 downloads every package and unpacks the essential ones; the
// rest (python3 and its libraries) are unpacked here the same way, and the
// dpkg database and passwd/group that stage 2 would write are written from
// the packages' own data.
func debootstrapForeign(root, arch string, w io.Writer) error {
	if err := run(w, "debootstrap", "--foreign", "--arch="+arch, "--variant=minbase",
		"--include=python3,ca-certificates", suite, root, Mirror()); err != nil {
		return err
	}
	meta := filepath.Join(root, "debootstrap")
	required, err := words(filepath.Join(meta, "required"))
	if err != nil {
		return err
	}
	base, err := words(filepath.Join(meta, "base"))
	if err != nil {
		return err
	}
	debs, err := debPaths(filepath.Join(meta, "debpaths"))
	if err != nil {
		return err
	}
	all := append(append([]string{}, required...), base...)
	sort.Strings(all)
	var status bytes.Buffer
	for _, pkg := range all {
		rel, ok := debs[pkg]
		if !ok {
			return fmt.Errorf("package %s: no .deb in debootstrap's debpaths", pkg)
		}
		deb := filepath.Join(root, rel)
		ctl, err := output("dpkg-deb", "--field", deb)
		if err != nil {
			return fmt.Errorf("package %s: %w", pkg, err)
		}
		status.Write(statusStanza(ctl))
	}
	// Stage 1 unpacked the required set; the rest only was downloaded.
	for _, pkg := range base {
		if err := unpack(root, filepath.Join(root, debs[pkg])); err != nil {
			return fmt.Errorf("package %s: %w", pkg, err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), status.Bytes(), 0o644); err != nil {
		return err
	}
	if err := passwdFromMasters(root); err != nil {
		return err
	}
	for _, want := range []string{"usr/bin/python3.11", "usr/lib/python3.11/os.py", "usr/bin/python3"} {
		if _, err := os.Lstat(filepath.Join(root, want)); err != nil {
			return fmt.Errorf("after unpacking: %w", err)
		}
	}
	return os.RemoveAll(meta)
}

// unpack extracts a .deb's data into root. GNU tar's --keep-directory-symlink
// keeps the merged-/usr links (/lib → usr/lib) that bookworm's packages, which
// still ship /lib/…, would otherwise replace with directories (dpkg-deb -x does).
func unpack(root, deb string) error {
	fsys := exec.Command("dpkg-deb", "--fsys-tarfile", deb)
	untar := exec.Command("tar", "-x", "--keep-directory-symlink", "--numeric-owner", "-p", "-C", root)
	pipe, err := fsys.StdoutPipe()
	if err != nil {
		return err
	}
	untar.Stdin = pipe
	var e1, e2 bytes.Buffer
	fsys.Stderr, untar.Stderr = &e1, &e2
	if err := untar.Start(); err != nil {
		return err
	}
	if err := fsys.Run(); err != nil {
		untar.Wait()
		return fmt.Errorf("dpkg-deb --fsys-tarfile %s: %w: %s", deb, err, e1.String())
	}
	if err := untar.Wait(); err != nil {
		return fmt.Errorf("tar -x of %s: %w: %s", deb, err, e2.String())
	}
	return nil
}

// statusStanza turns a package's control fields into its dpkg status entry,
// with the Status line dpkg inserts after Package.
func statusStanza(control []byte) []byte {
	var b bytes.Buffer
	for _, line := range strings.SplitAfter(strings.TrimRight(string(control), "\n")+"\n", "\n") {
		if line == "" {
			continue
		}
		b.WriteString(line)
		if strings.HasPrefix(line, "Package:") {
			b.WriteString("Status: install ok installed\n")
		}
	}
	b.WriteString("\n")
	return b.Bytes()
}

// passwdFromMasters writes /etc/passwd and /etc/group as base-passwd's
// preinst does, from the masters it ships.
func passwdFromMasters(root string) error {
	for _, f := range []string{"passwd", "group"} {
		dst := filepath.Join(root, "etc", f)
		if exists(dst) {
			continue
		}
		master, err := os.ReadFile(filepath.Join(root, "usr/share/base-passwd", f+".master"))
		if err != nil {
			return err
		}
		var b strings.Builder
		for _, line := range strings.Split(strings.TrimRight(string(master), "\n"), "\n") {
			fields := strings.Split(line, ":")
			if len(fields) > 1 {
				fields[1] = "x"
			}
			b.WriteString(strings.Join(fields, ":") + "\n")
		}
		if err := os.WriteFile(dst, []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// trim removes what a Dockerfile would: package caches and lists, logs, and
// the host's hostname and resolver configuration that debootstrap copies in.
func trim(root string) error {
	globs := []string{
		"var/cache/apt/archives/*.deb", "var/cache/apt/*.bin", "var/lib/apt/lists/*",
		"var/log/*", "var/cache/ldconfig/aux-cache", "etc/hostname", "etc/resolv.conf",
	}
	for _, g := range globs {
		matches, err := filepath.Glob(filepath.Join(root, g))
		if err != nil {
			return err
		}
		for _, m := range matches {
			if err := os.RemoveAll(m); err != nil {
				return err
			}
		}
	}
	return nil
}

// imageFromRootfs makes a one-layer image of root.
func imageFromRootfs(root, arch, layerPath string) (v1.Image, error) {
	if err := writeLayer(root, layerPath); err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromFile(layerPath, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	epoch := v1.Time{Time: time.Unix(0, 0).UTC()}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.ConfigFile(img, &v1.ConfigFile{
		Architecture: arch,
		OS:           "linux",
		Created:      epoch,
		Config: v1.Config{
			Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
			Cmd: []string{"python3"},
		},
	})
	if err != nil {
		return nil, err
	}
	return mutate.Append(img, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   epoch,
			CreatedBy: fmt.Sprintf("debootstrap --arch=%s --variant=minbase --include=python3,ca-certificates %s (kiln testbase %s)", arch, suite, recipe),
		},
	})
}

func run(w io.Writer, name string, args ...string) error {
	path, err := lookPath(name)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "testbase: %s %s\n", name, strings.Join(args, " "))
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = w, w
	cmd.Env = append(os.Environ(), "LC_ALL=C", "DEBIAN_FRONTEND=noninteractive",
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func output(name string, args ...string) ([]byte, error) {
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

func words(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(b)), nil
}

// debPaths reads debootstrap's "package /path/in/target.deb" list.
func debPaths(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("%s: line %d: want \"package path\", got %q", path, i+1, line)
		}
		out[f[0]] = f[1]
	}
	return out, nil
}

func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}
