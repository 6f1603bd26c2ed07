package wheel

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/flate"
)

// writeWheel streams a wheel to a file: the members of minimalWheel, then
// what extra adds, so that members of gigabytes never sit in memory.
func writeWheel(t *testing.T, extra func(zw *zip.Writer) error) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), pkgWheel)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	for _, m := range minimalWheel() {
		w, err := zw.Create(m.name)
		if err == nil {
			_, err = io.WriteString(w, m.data)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := extra(zw); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// deflatedZeros is the deflate stream of n zero bytes and their CRC-32.
func deflatedZeros(t *testing.T, n int64) ([]byte, uint32) {
	t.Helper()
	var buf bytes.Buffer
	fw, err := flate.NewWriter(&buf, flate.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, 1<<20)
	crc := crc32.NewIEEE()
	for left := n; left > 0; left -= int64(len(zeros)) {
		chunk := zeros[:min(left, int64(len(zeros)))]
		fw.Write(chunk)
		crc.Write(chunk)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), crc.Sum32()
}

// addRaw adds an already deflated member with the sizes and CRC given,
// true or not.
func addRaw(zw *zip.Writer, name string, raw []byte, crc uint32, size, csize uint64) error {
	h := &zip.FileHeader{Name: name, Method: zip.Deflate, CRC32: crc, UncompressedSize64: size, CompressedSize64: csize}
	h.SetMode(0o644)
	w, err := zw.CreateRaw(h)
	if err == nil {
		_, err = w.Write(raw)
	}
	return err
}

func installFile(t *testing.T, p string, opts InstallOptions) (*Installed, error) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return Install(newVenvTree(t, testVenv), testVenv, pkgWheel, f, opts)
}

// peakGrowth runs f and returns how far the process's peak resident memory
// (VmHWM, reset through clear_refs) rose above what was resident before.
func peakGrowth(t *testing.T, f func()) int64 {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Fatalf("resetting the peak RSS: %v", err)
	}
	before := procStatus(t, "VmRSS")
	f()
	return procStatus(t, "VmHWM") - before
}

// procStatus reads a "kB" field of /proc/self/status, in bytes.
func procStatus(t *testing.T, field string) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}

const memoryBound = 100 << 20

// The zip bomb of issue 10: 11 members of 1 GiB of zeros, about 11 MiB.
func TestZipBombRefused(t *testing.T) {
	raw, crc := deflatedZeros(t, 1<<30)
	p := writeWheel(t, func(zw *zip.Writer) error {
		for i := range 11 {
			if err := addRaw(zw, "pkg/zeros"+strconv.Itoa(i), raw, crc, 1<<30, uint64(len(raw))); err != nil {
				return err
			}
		}
		return nil
	})
	var err error
	start := time.Now()
	grew := peakGrowth(t, func() { _, err = installFile(t, p, InstallOptions{}) })
	took := time.Since(start)
	if err == nil {
		t.Fatal("the zip bomb was installed")
	}
	for _, want := range []string{"wheel " + pkgWheel + ": entry pkg/zeros0: ", "max-compression-ratio", "zip bomb"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if grew > memoryBound {
		t.Errorf("peak RSS grew by %d MiB", grew>>20)
	}
	// Inflating one member takes about 0.2 s here, all eleven 2 s.
	if took > time.Second {
		t.Errorf("refusing took %v: the installer read the members", took)
	}
	t.Logf("refused in %v, peak RSS +%d MiB: %v", took, grew>>20, err)
}

func TestWheelLimits(t *testing.T) {
	const size = 64 << 20
	raw, crc := deflatedZeros(t, size) // about 1000:1
	for _, tc := range []struct {
		name   string
		extra  func(zw *zip.Writer) error
		limits Limits
		want   []string
	}{
		{"declared smaller than it is", func(zw *zip.Writer) error {
			return addRaw(zw, "pkg/liar", raw, crc, 1024, uint64(len(raw)))
		}, Limits{}, []string{"entry pkg/liar: ", "content is longer than the 1024 bytes its header declares"}},
		{"declared compressed size lies", func(zw *zip.Writer) error {
			return addRaw(zw, "pkg/liar", raw, crc, size, size)
		}, Limits{}, []string{"entry pkg/liar: ", "times its", "max-compression-ratio"}},
		{"declared larger than it is", func(zw *zip.Writer) error {
			return addRaw(zw, "pkg/liar", raw, crc, size+1, uint64(len(raw)))
		}, Limits{MaxRatio: 1e6}, []string{"entry pkg/liar: ", "unexpected EOF"}},
		{"too much in total", func(zw *zip.Writer) error {
			for _, name := range []string{"pkg/a", "pkg/b"} {
				if err := addRaw(zw, name, raw, crc, size, uint64(len(raw))); err != nil {
					return err
				}
			}
			return nil
		}, Limits{MaxUnpacked: size + size/2, MaxRatio: 1e6}, []string{"entry pkg/b: ", "unpacks to 67108864 bytes", "limit of 96MiB (max-unpacked-size)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeWheel(t, tc.extra)
			var err error
			grew := peakGrowth(t, func() { _, err = installFile(t, p, InstallOptions{Limits: tc.limits}) })
			if err == nil {
				t.Fatal("installed")
			}
			for _, want := range append(tc.want, "wheel "+pkgWheel+": ") {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if grew > memoryBound {
				t.Errorf("peak RSS grew by %d MiB", grew>>20)
			}
		})
	}
}

// A highly compressible member that is legitimate passes once the ratio
// limit is raised, and reads back whole from the wheel file.
func TestRatioLimitConfigurable(t *testing.T) {
	const size = 8 << 20
	raw, crc := deflatedZeros(t, size)
	p := writeWheel(t, func(zw *zip.Writer) error { return addRaw(zw, "pkg/sparse.bin", raw, crc, size, uint64(len(raw))) })
	if _, err := installFile(t, p, InstallOptions{}); err == nil || !strings.Contains(err.Error(), "entry pkg/sparse.bin: compressed ") {
		t.Fatalf("with the default limits: %v", err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tree := newVenvTree(t, testVenv)
	if _, err := Install(tree, testVenv, pkgWheel, f, InstallOptions{Limits: Limits{MaxRatio: 5000}}); err != nil {
		t.Fatal(err)
	}
	e, ok := tree.Get("app/.venv/lib/python3.11/site-packages/pkg/sparse.bin")
	if !ok || e.Size() != size {
		t.Fatalf("sparse.bin = %+v", e)
	}
	if got := content(t, e); !bytes.Equal(got, make([]byte, size)) {
		t.Error("sparse.bin does not read back as zeros")
	}
}

// A 1 GiB member is hashed and written to the layer without being held in
// memory.
func TestLargeMemberStreams(t *testing.T) {
	block := make([]byte, 1<<20)
	rand.Read(block)
	sum := sha256.New()
	p := writeWheel(t, func(zw *zip.Writer) error {
		h := &zip.FileHeader{Name: "pkg/big.bin", Method: zip.Store}
		h.SetMode(0o644)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		for range 1024 {
			w.Write(block)
			sum.Write(block)
		}
		return nil
	})
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tree := newVenvTree(t, testVenv)
	grew := peakGrowth(t, func() {
		if _, err = Install(tree, testVenv, pkgWheel, f, InstallOptions{}); err == nil {
			err = tree.Write(io.Discard, time.Unix(0, 0))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if grew > memoryBound {
		t.Errorf("peak RSS grew by %d MiB installing and writing a 1 GiB member", grew>>20)
	}
	t.Logf("peak RSS +%d MiB", grew>>20)
	record, _ := tree.Get("app/.venv/lib/python3.11/site-packages/pkg-1.0.dist-info/RECORD")
	if row := "pkg/big.bin," + recordDigest(sum.Sum(nil)) + ",1073741824\n"; !bytes.Contains(content(t, record), []byte(row)) {
		t.Errorf("RECORD lacks %q", row)
	}
}

// The layer is written from the wheel file after Install returned: a file
// changed in between is an error, not a layer of other content.
func TestMemberChangedAfterInstall(t *testing.T) {
	p := writeWheel(t, func(zw *zip.Writer) error {
		h := &zip.FileHeader{Name: "pkg/data.txt", Method: zip.Store}
		w, err := zw.CreateHeader(h)
		if err == nil {
			_, err = io.WriteString(w, "original content")
		}
		return err
	})
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tree := newVenvTree(t, testVenv)
	if _, err := Install(tree, testVenv, pkgWheel, f, InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, bytes.Replace(data, []byte("original content"), []byte("tampered content"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	err = tree.Write(io.Discard, time.Unix(0, 0))
	if err == nil || !strings.Contains(err.Error(), "wheel "+pkgWheel+": entry pkg/data.txt: changed since it was installed") {
		t.Errorf("writing the layer: %v", err)
	}
}

func TestNamesRefused(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"pkg/caf\xe9.py", `entry "pkg/caf\xe9.py": name is not valid UTF-8`},
		{"pkg/a\x00b.py", `"pkg/a\x00b.py"`},
		{"pkg/a\nb.py", `"pkg/a\nb.py"`},
	} {
		tree := newVenvTree(t, testVenv)
		before := snapshot(t, tree)
		_, err := install(t, tree, testVenv, pkgWheel, buildZip(t, minimalWheel(member{name: tc.name, data: "x"})), InstallOptions{})
		if err == nil || !strings.Contains(err.Error(), "wheel "+pkgWheel+": ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %s", tc.name, err, tc.want)
		}
		if !bytes.Equal(before, snapshot(t, tree)) {
			t.Errorf("%q: tree changed", tc.name)
		}
	}
}
