package wheel

import (
	"archive/zip"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"

	"github.com/klauspost/compress/flate"
)

// Limits bound what one wheel may unpack to, so that a zip bomb is refused
// before it is read. A zero field takes DefaultLimits' value.
type Limits struct {
	// MaxUnpacked is the most bytes all members together may uncompress to.
	MaxUnpacked int64
	// MaxRatio is the most a member larger than ratioFloor, or the whole
	// wheel, may be compressed by (uncompressed size / compressed size).
	MaxRatio float64
}

// DefaultLimits leave room for the largest wheels published (torch and the
// CUDA libraries unpack to a few GiB and compress about 3:1); a deflated run
// of zeros compresses about 1000:1.
var DefaultLimits = Limits{MaxUnpacked: 8 << 30, MaxRatio: 200}

// ratioFloor is the size below which a member's ratio is not checked: small
// files of repeated text legitimately compress far better than 200:1, and
// cannot amount to much.
const ratioFloor = 1 << 20

func (l Limits) withDefaults() Limits {
	if l.MaxUnpacked <= 0 {
		l.MaxUnpacked = DefaultLimits.MaxUnpacked
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = DefaultLimits.MaxRatio
	}
	return l
}

// memberSource is a stored or deflated wheel member, read again from the
// wheel file each time the layer is written, so that no member is held in
// memory. The wheel file is a content-addressed cache blob that does not
// change; the size and the CRC-32 of the content the installer hashed are
// checked on every read all the same.
type memberSource struct {
	wheel, member string // for errors
	path          string // the wheel file
	offset        int64  // of the member's data in the file
	method        uint16
	csize, size   int64
	crc           uint32
}

func newMemberSource(wheel, path string, f *zip.File, crc uint32) (memberSource, error) {
	off, err := f.DataOffset()
	if err != nil {
		return memberSource{}, err
	}
	return memberSource{wheel: wheel, member: f.Name, path: path, offset: off, method: f.Method,
		csize: int64(f.CompressedSize64), size: int64(f.UncompressedSize64), crc: crc}, nil
}

func (m memberSource) Size() int64 { return m.size }

func (m memberSource) Open() (io.ReadCloser, error) {
	file, err := os.Open(m.path)
	if err != nil {
		return nil, fmt.Errorf("wheel %s: %w", m.wheel, err)
	}
	var r io.Reader = io.NewSectionReader(file, m.offset, m.csize)
	var fl io.ReadCloser
	switch m.method {
	case zip.Store:
	case zip.Deflate:
		fl = flate.NewReader(r)
		r = fl
	default:
		file.Close()
		return nil, m.errf("compression method %d is not supported", m.method)
	}
	return &memberReader{m: m, r: r, fl: fl, file: file, crc: crc32.NewIEEE()}, nil
}

func (m memberSource) errf(format string, args ...any) error {
	return fmt.Errorf("wheel %s: entry %s: %s", m.wheel, m.member, fmt.Sprintf(format, args...))
}

// memberReader yields a member's content and fails when it is longer or
// shorter than its size or its CRC differs.
type memberReader struct {
	m    memberSource
	r    io.Reader
	fl   io.ReadCloser // the decompressor, when deflated
	file *os.File
	crc  hash.Hash32
	n    int64
}

// Read checks the CRC as soon as the last byte is read, not at EOF: a
// reader of exactly Size bytes (io.CopyN) never asks for the EOF. It then
// withholds that last read, as io.CopyN drops an error that comes with
// the bytes that complete its count.
func (r *memberReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.crc.Write(p[:n])
	prev := r.n
	r.n += int64(n)
	switch {
	case r.n > r.m.size:
		return 0, r.m.errf("content is longer than its %d bytes", r.m.size)
	case r.n == r.m.size && (prev < r.n || r.m.size == 0) && r.crc.Sum32() != r.m.crc:
		return 0, r.m.errf("changed since it was installed (CRC-32 %08x, was %08x)", r.crc.Sum32(), r.m.crc)
	case errors.Is(err, io.EOF) && r.n < r.m.size:
		return n, r.m.errf("content ended after %d of %d bytes", r.n, r.m.size)
	case err != nil && !errors.Is(err, io.EOF):
		err = r.m.errf("%v", err)
	}
	return n, err
}

func (r *memberReader) Close() error {
	if r.fl != nil {
		r.fl.Close()
	}
	return r.file.Close()
}
