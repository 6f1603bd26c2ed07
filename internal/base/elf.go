package base

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
)

// elfInfo is what Inspect needs from an ELF file.
type elfInfo struct {
	machine elf.Machine
	arch    string // GOARCH-style name of machine
	typ     elf.Type
	interp  string // PT_INTERP, "" for static executables and most libraries
}

const maxInterp = 4096 // PATH_MAX; a longer PT_INTERP is not a loader path

// parseELF reads the header and program headers of data.
func parseELF(data []byte) (*elfInfo, error) {
	if !bytes.HasPrefix(data, []byte(elf.ELFMAG)) {
		return nil, fmt.Errorf("not an ELF file")
	}
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("bad ELF file: %w", err)
	}
	info := &elfInfo{machine: f.Machine, typ: f.Type, arch: goarch(f)}
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		if p.Filesz > maxInterp {
			return nil, fmt.Errorf("bad ELF file: PT_INTERP of %d bytes", p.Filesz)
		}
		b, err := io.ReadAll(p.Open())
		if err != nil {
			return nil, fmt.Errorf("bad ELF file: reading PT_INTERP: %w", err)
		}
		info.interp = strings.TrimRight(string(b), "\x00")
		break
	}
	return info, nil
}

// goarch names an ELF machine as OCI platforms do (GOARCH values).
func goarch(f *elf.File) string {
	switch f.Machine {
	case elf.EM_X86_64:
		return "amd64"
	case elf.EM_AARCH64:
		return "arm64"
	case elf.EM_386:
		return "386"
	case elf.EM_ARM:
		return "arm"
	case elf.EM_PPC64:
		if f.ByteOrder == binary.LittleEndian {
			return "ppc64le"
		}
		return "ppc64"
	case elf.EM_S390:
		return "s390x"
	case elf.EM_RISCV:
		return "riscv64"
	case elf.EM_LOONGARCH:
		return "loong64"
	case elf.EM_MIPS:
		if f.Class == elf.ELFCLASS64 {
			if f.ByteOrder == binary.LittleEndian {
				return "mips64le"
			}
			return "mips64"
		}
		if f.ByteOrder == binary.LittleEndian {
			return "mipsle"
		}
		return "mips"
	}
	return strings.ToLower(strings.TrimPrefix(f.Machine.String(), "EM_"))
}

// debArch maps a GOARCH name to Debian's architecture name, used to pick the
// right stanza of a multiarch dpkg database.
func debArch(goarch string) string {
	switch goarch {
	case "386":
		return "i386"
	case "arm":
		return "armhf"
	case "ppc64le":
		return "ppc64el"
	case "mipsle":
		return "mipsel"
	case "mips64le":
		return "mips64el"
	}
	return goarch
}
