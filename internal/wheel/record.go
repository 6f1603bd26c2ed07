package wheel

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"sort"
	"strconv"
	"strings"
)

// RecordHash is the RECORD hash field of data: "sha256=" and the urlsafe
// base64 digest without padding.
func RecordHash(data []byte) string {
	sum := sha256.Sum256(data)
	return recordDigest(sum[:])
}

func recordDigest(sha256sum []byte) string {
	return "sha256=" + base64.RawURLEncoding.EncodeToString(sha256sum)
}

// RecordRow is one line of a RECORD file. Path is relative to site-packages
// ("../../../bin/x" for scripts). A row with an empty Hash (RECORD itself)
// is written with empty hash and size.
type RecordRow struct {
	Path string
	Hash string
	Size int64
}

// RowFor returns the RECORD row of a file with content data.
func RowFor(path string, data []byte) RecordRow {
	return RecordRow{Path: path, Hash: RecordHash(data), Size: int64(len(data))}
}

// FormatRecord renders rows as uv writes RECORD: sorted by path, CSV with
// minimal quoting and "\n" line ends.
func FormatRecord(rows []RecordRow) []byte {
	sorted := append([]RecordRow(nil), rows...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	var b bytes.Buffer
	for _, r := range sorted {
		b.WriteString(csvField(r.Path))
		b.WriteByte(',')
		if r.Hash != "" {
			b.WriteString(csvField(r.Hash))
			b.WriteByte(',')
			b.WriteString(strconv.FormatInt(r.Size, 10))
		} else {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// csvField quotes like Python's csv.QUOTE_MINIMAL, which is what readers of
// RECORD expect; encoding/csv would also quote a leading space.
func csvField(s string) string {
	if !strings.ContainsAny(s, ",\"\r\n") {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
