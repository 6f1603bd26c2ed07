package verify

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"testing/fstest"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// maxScan is the largest file whose content is scanned for secrets; larger
// files are data or binaries, not where credentials are left behind.
const maxScan = 1 << 20

// entry is the metadata of one path of the flattened filesystem.
type entry struct {
	typ      byte
	size     int64
	mode     int64
	uid, gid int
	layer    int
}

func (e *entry) isDir() bool { return e.typ == tar.TypeDir }

// secretHit is a secret found in a layer, by kind, never by value.
type secretHit struct {
	layer      int
	path, kind string
}

// state is what one pass over the layers keeps: metadata of the flattened
// filesystem, the content of the few files the checks read (ELF objects,
// /etc/passwd, ld.so.conf), sizes and secrets found in any layer.
type state struct {
	files  map[string]*entry
	root   fstest.MapFS
	total  int64
	wasted int64
	hits   []secretHit
}

// rootFS adds symbolic links to fstest.MapFS, to satisfy ldso.FS.
type rootFS struct{ fstest.MapFS }

func (r rootFS) Readlink(name string) (string, error) { return r.ReadLink(name) }

// keepContent reports whether the content of the non-ELF file p is needed.
func keepContent(p string) bool {
	return p == "etc/passwd" || p == "etc/group" || p == "etc/ld.so.conf" || strings.HasPrefix(p, "etc/ld.so.conf.d/")
}

// scan streams every layer of img once.
func scan(img v1.Image) (*state, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("verify: listing layers: %w", err)
	}
	s := &state{files: map[string]*entry{}, root: fstest.MapFS{}}
	for i, l := range layers {
		if err := s.layer(i, l); err != nil {
			return nil, fmt.Errorf("verify: layer %d: %w", i, err)
		}
	}
	return s, nil
}

func (s *state) layer(i int, l v1.Layer) error {
	rc, err := l.Uncompressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.add(i, h, tr); err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
	}
}

// clean makes a tar entry name relative to the root; "" is the root itself.
func clean(name string) string {
	p := strings.TrimPrefix(path.Clean("/"+name), "/")
	return p
}

func (s *state) add(layer int, h *tar.Header, r io.Reader) error {
	p := clean(h.Name)
	if p == "" {
		return nil
	}
	dir, base := path.Split(p)
	dir = strings.TrimSuffix(dir, "/")
	if base == ".wh..wh..opq" {
		s.remove(dir, layer, false)
		return nil
	}
	if name, ok := strings.CutPrefix(base, ".wh."); ok {
		s.remove(path.Join(dir, name), layer, true)
		return nil
	}
	// A file or link replaces whatever non-directory stood on its path.
	for d := dir; d != "" && d != "."; d = path.Dir(d) {
		if e, ok := s.files[d]; ok && !e.isDir() {
			s.remove(d, layer+1, true)
		}
	}
	if old, ok := s.files[p]; ok && (!old.isDir() || h.Typeflag != tar.TypeDir) {
		s.remove(p, layer+1, true)
	}
	e := &entry{typ: h.Typeflag, mode: h.Mode, uid: h.Uid, gid: h.Gid, layer: layer}
	switch e.typ {
	case tar.TypeReg:
		e.size = h.Size
		s.total += h.Size
		if err := s.content(layer, p, h.Size, r); err != nil {
			return err
		}
	case tar.TypeSymlink:
		s.root[p] = &fstest.MapFile{Data: []byte(h.Linkname), Mode: fs.ModeSymlink | 0o777}
	case tar.TypeLink:
		target := clean(h.Linkname)
		if t, ok := s.files[target]; ok {
			*e = *t
			e.layer = layer
			e.size = 0 // shares its data with the target
		}
		if f, ok := s.root[target]; ok {
			s.root[p] = f
		}
		s.checkName(layer, p)
	}
	s.files[p] = e
	return nil
}

// content reads a regular file's data, scanning small ones for secrets and
// keeping what the checks need.
func (s *state) content(layer int, p string, size int64, r io.Reader) error {
	s.checkName(layer, p)
	var head []byte
	var err error
	if size <= maxScan {
		head, err = io.ReadAll(r)
	} else {
		head = make([]byte, 4)
		_, err = io.ReadFull(r, head)
	}
	if err != nil {
		return err
	}
	isELF := bytes.HasPrefix(head, []byte(elf.ELFMAG))
	if !isELF && size <= maxScan {
		for _, k := range contentSecrets(head) {
			s.hits = append(s.hits, secretHit{layer: layer, path: p, kind: k})
		}
	}
	switch {
	case isELF && int64(len(head)) < size:
		rest, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		s.root[p] = &fstest.MapFile{Data: append(head, rest...), Mode: 0o755}
	case isELF || (keepContent(p) && int64(len(head)) == size):
		s.root[p] = &fstest.MapFile{Data: head, Mode: 0o644}
	}
	return nil
}

func (s *state) checkName(layer int, p string) {
	if k := nameSecret(p); k != "" {
		s.hits = append(s.hits, secretHit{layer: layer, path: p, kind: k})
	}
}

// remove deletes p (when self) and everything below it that came from a
// layer before the given one, counting overwritten file bytes as wasted.
func (s *state) remove(p string, before int, self bool) {
	drop := func(q string, e *entry) {
		if e.layer >= before {
			return
		}
		s.wasted += e.size
		delete(s.files, q)
		delete(s.root, q)
	}
	if e, ok := s.files[p]; ok && self {
		drop(p, e)
	}
	prefix := p + "/"
	if p == "" {
		prefix = ""
	}
	for q, e := range s.files {
		if strings.HasPrefix(q, prefix) && q != p {
			drop(q, e)
		}
	}
}
