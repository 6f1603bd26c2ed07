package base

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"io"
	"sort"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// ent is one entry of a synthetic layer. A key of "dir/.wh.name" is a whiteout,
// as in OCI layers.
type ent struct {
	data   string
	link   string // symlink target
	hard   string // hard link target (archive path)
	mode   int64
	isFifo bool
}

func file(data string) ent       { return ent{data: data, mode: 0o644} }
func exe(data []byte) ent        { return ent{data: string(data), mode: 0o755} }
func symlink(target string) ent  { return ent{link: target} }
func hardlink(target string) ent { return ent{hard: target} }

// tarOf writes the entries of m, sorted, as an uncompressed tar.
func tarOf(m map[string]ent) []byte {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		e := m[n]
		h := &tar.Header{Name: n, Mode: e.mode}
		switch {
		case e.isFifo:
			h.Typeflag = tar.TypeFifo
		case e.link != "":
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, e.link, 0o777
		case e.hard != "":
			h.Typeflag, h.Linkname = tar.TypeLink, e.hard
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			panic(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(e.data))
		}
	}
	tw.Close()
	return buf.Bytes()
}

// image stacks the layers (bottom first) into an image with env in its config.
func image(t testing.TB, env []string, layers ...[]byte) v1.Image {
	t.Helper()
	img, err := mutate.Config(empty.Image, v1.Config{Env: env})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range layers {
		b := b
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(b)), nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatal(err)
		}
	}
	return img
}

// fakeELF builds a minimal little-endian ELF64 executable for machine: one
// PT_INTERP naming interp (none when empty), one PT_LOAD, and extra appended
// as the file's data, where version literals are planted.
func fakeELF(machine elf.Machine, typ elf.Type, interp string, extra string) []byte {
	const ehsize, phsize = 64, 56
	nph := 1
	if interp != "" {
		nph = 2
	}
	dataOff := uint64(ehsize + phsize*nph)
	var b bytes.Buffer
	le := binary.LittleEndian
	b.Write([]byte{0x7f, 'E', 'L', 'F', byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)})
	b.Write(make([]byte, 9))
	binary.Write(&b, le, uint16(typ))
	binary.Write(&b, le, uint16(machine))
	binary.Write(&b, le, uint32(elf.EV_CURRENT))
	binary.Write(&b, le, uint64(0))      // entry
	binary.Write(&b, le, uint64(ehsize)) // phoff
	binary.Write(&b, le, uint64(0))      // shoff
	binary.Write(&b, le, uint32(0))      // flags
	binary.Write(&b, le, uint16(ehsize))
	binary.Write(&b, le, uint16(phsize))
	binary.Write(&b, le, uint16(nph))
	binary.Write(&b, le, uint16(64)) // shentsize
	binary.Write(&b, le, uint16(0))  // shnum
	binary.Write(&b, le, uint16(0))  // shstrndx
	payload := []byte(extra)
	if interp != "" {
		payload = append([]byte(interp+"\x00"), payload...)
		ph(&b, elf.PT_INTERP, dataOff, uint64(len(interp)+1))
	}
	ph(&b, elf.PT_LOAD, 0, dataOff+uint64(len(payload)))
	b.Write(payload)
	return b.Bytes()
}

func ph(b *bytes.Buffer, typ elf.ProgType, off, size uint64) {
	le := binary.LittleEndian
	binary.Write(b, le, uint32(typ))
	binary.Write(b, le, uint32(elf.PF_R))
	binary.Write(b, le, off)
	binary.Write(b, le, off) // vaddr
	binary.Write(b, le, off) // paddr
	binary.Write(b, le, size)
	binary.Write(b, le, size)
	binary.Write(b, le, uint64(1))
}
