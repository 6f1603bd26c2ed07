package testbase

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/klauspost/compress/gzip"
)

// writeLayer writes root as a gzipped tar at dst, deterministic for a given
// tree: entries in sorted order, mtime 0, numeric owners without names, modes
// (with setuid/setgid/sticky) kept, symlinks and hard links kept. Device
// nodes, sockets and fifos are left out (a runtime provides /dev), and so is
// anything mounted below root.
func writeLayer(root, dst string) (err error) {
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	zw, err := gzip.NewWriterLevel(f, gzip.DefaultCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	rootInfo, err := os.Lstat(root)
	if err != nil {
		return err
	}
	w := &layerWriter{tw: tw, root: root, dev: uint64(rootInfo.Sys().(*syscall.Stat_t).Dev), links: map[[2]uint64]string{}}
	if err := w.dir("."); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

type layerWriter struct {
	tw    *tar.Writer
	root  string
	dev   uint64
	links map[[2]uint64]string // (dev, inode) of multiply-linked files → first path written
}

// dir writes the entries of rel (relative to root), recursively, sorted by name.
func (w *layerWriter) dir(rel string) error {
	ents, err := os.ReadDir(filepath.Join(w.root, rel))
	if err != nil {
		return err
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	for _, e := range ents {
		p := filepath.Join(rel, e.Name())
		if rel == "." {
			p = e.Name()
		}
		if err := w.entry(p); err != nil {
			return err
		}
	}
	return nil
}

func (w *layerWriter) entry(rel string) error {
	full := filepath.Join(w.root, rel)
	fi, err := os.Lstat(full)
	if err != nil {
		return err
	}
	st := fi.Sys().(*syscall.Stat_t)
	if uint64(st.Dev) != w.dev {
		return nil // a mount point: not part of the rootfs
	}
	h := &tar.Header{
		Name:    filepath.ToSlash(rel),
		Mode:    int64(st.Mode & 0o7777),
		Uid:     int(st.Uid),
		Gid:     int(st.Gid),
		ModTime: time.Unix(0, 0),
	}
	switch fi.Mode().Type() {
	case fs.ModeDir:
		h.Typeflag = tar.TypeDir
		h.Name += "/"
		if err := w.tw.WriteHeader(h); err != nil {
			return err
		}
		return w.dir(rel)
	case fs.ModeSymlink:
		h.Typeflag = tar.TypeSymlink
		if h.Linkname, err = os.Readlink(full); err != nil {
			return err
		}
		return w.tw.WriteHeader(h)
	case 0:
		if st.Nlink > 1 {
			key := [2]uint64{uint64(st.Dev), st.Ino}
			if first, ok := w.links[key]; ok {
				h.Typeflag, h.Linkname = tar.TypeLink, first
				return w.tw.WriteHeader(h)
			}
			w.links[key] = h.Name
		}
		h.Typeflag, h.Size = tar.TypeReg, fi.Size()
		if err := w.tw.WriteHeader(h); err != nil {
			return err
		}
		src, err := os.Open(full)
		if err != nil {
			return err
		}
		defer src.Close()
		if n, err := io.Copy(w.tw, src); err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		} else if n != h.Size {
			return fmt.Errorf("%s: changed size while being read", rel)
		}
		return nil
	}
	return nil // device, socket, fifo
}
