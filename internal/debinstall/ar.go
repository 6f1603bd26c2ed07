package debinstall

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The ar container is read by hand: the Go ar packages around are
// unmaintained, and a .deb uses only the plain common subset (no symbol
// table, no long-name table), which a few dozen lines read strictly.

const (
	arMagic     = "!<arch>\n"
	arHeaderLen = 60
)

type arMember struct {
	name string
	data *io.SectionReader
}

// readAr lists the members of the ar archive r of the given size without
// reading their contents.
func readAr(r io.ReaderAt, size int64) ([]arMember, error) {
	magic := make([]byte, len(arMagic))
	if err := readFull(r, magic, 0); err != nil || string(magic) != arMagic {
		return nil, errors.New("not an ar archive")
	}
	var members []arMember
	hdr := make([]byte, arHeaderLen)
	for off := int64(len(arMagic)); off < size; {
		if size-off < arHeaderLen {
			return nil, fmt.Errorf("ar: truncated member header at offset %d", off)
		}
		if err := readFull(r, hdr, off); err != nil {
			return nil, fmt.Errorf("ar: member header at offset %d: %w", off, err)
		}
		if !bytes.Equal(hdr[58:60], []byte("`\n")) {
			return nil, fmt.Errorf("ar: bad member header at offset %d", off)
		}
		// GNU ar ends names with '/', dpkg-deb pads them with blanks only.
		name := strings.TrimSuffix(strings.TrimRight(string(hdr[:16]), " "), "/")
		n, err := strconv.ParseInt(strings.TrimRight(string(hdr[48:58]), " "), 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("ar: member %q: bad size %q", name, strings.TrimSpace(string(hdr[48:58])))
		}
		off += arHeaderLen
		if n > size-off {
			return nil, fmt.Errorf("ar: member %q: %d bytes, but only %d left in the file", name, n, size-off)
		}
		members = append(members, arMember{name: name, data: io.NewSectionReader(r, off, n)})
		off += n + n%2 // members start on even offsets
	}
	return members, nil
}

func readFull(r io.ReaderAt, buf []byte, off int64) error {
	n, err := r.ReadAt(buf, off)
	if n == len(buf) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}
