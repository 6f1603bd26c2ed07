package wheel

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

// python-packaging.md §9.3.
func TestRecordHashVectors(t *testing.T) {
	for _, tc := range []struct{ data, record, hexPrefix string }{
		{"", "sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU", "e3b0c442"},
		{"pip\n", "sha256=zuuue4knoyJ-UwPPXg8fezS7VCrXJQrAP7zeNuwvFQg", "ceebae7b"},
		{"uv", "sha256=5hhM4Q4mYTT9z6QB6PGpUAW81PGNFrYrdXMj4oM_6ak", "e6184ce1"},
		{"hello\n", "sha256=WJG1tSLV3whtD_CxEPvZ0hu0_HFjrzTQgoai6Eb2vgM", "5891b5b5"},
	} {
		if got := RecordHash([]byte(tc.data)); got != tc.record {
			t.Errorf("RecordHash(%q) = %s, want %s", tc.data, got, tc.record)
		}
		sum := sha256.Sum256([]byte(tc.data))
		if !strings.HasPrefix(hex.EncodeToString(sum[:]), tc.hexPrefix) {
			t.Errorf("vector for %q is inconsistent", tc.data)
		}
	}
}

func TestFormatRecord(t *testing.T) {
	got := string(FormatRecord([]RecordRow{
		RowFor("pkg/b.py", []byte("hello\n")),
		{Path: "pkg-1.0.dist-info/RECORD"},
		RowFor("../../../bin/x", nil),
		RowFor(`pkg/we,ird "name".py`, []byte("")),
		RowFor(" leading space.py", []byte("")),
	}))
	want := " leading space.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\n" +
		"../../../bin/x,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\n" +
		"pkg-1.0.dist-info/RECORD,,\n" +
		"pkg/b.py,sha256=WJG1tSLV3whtD_CxEPvZ0hu0_HFjrzTQgoai6Eb2vgM,6\n" +
		`"pkg/we,ird ""name"".py",sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0` + "\n"
	if got != want {
		t.Errorf("FormatRecord:\n%s\nwant:\n%s", got, want)
	}
}

func TestLauncherVector(t *testing.T) {
	// python-packaging.md §4.5: uv's launcher for demo = demo_pkg.cli:main in /opt/venv.
	got, err := Launcher("/opt/venv", "demo_pkg.cli:main")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 298 || RecordHash(got) != "sha256=_elv6ZaORoxQgLMfch8sWZ7f1NxMTtsr6h-wlmXL3JE" {
		t.Errorf("launcher (%d bytes, %s):\n%s", len(got), RecordHash(got), got)
	}
	// Spaces around the colon and extras are accepted and ignored.
	same, err := Launcher("/opt/venv", " demo_pkg.cli : main  [cli, extra] ")
	if err != nil || string(same) != string(got) {
		t.Errorf("launcher with extras = %q, %v", same, err)
	}
	nested, err := Launcher("/opt/venv", "pkg.mod:App.run")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(nested), "from pkg.mod import App\n") || !strings.Contains(string(nested), "    sys.exit(App.run())\n") {
		t.Errorf("nested attribute launcher:\n%s", nested)
	}
}

func TestShebang(t *testing.T) {
	for root, want := range map[string]string{
		"/app/.venv":                   "#!/app/.venv/bin/python",
		"/opt/my venv":                 "#!/bin/sh\n'''exec' '/opt/my venv/bin/python' \"$0\" \"$@\"\n' '''",
		"/opt/it's venv":               "#!/bin/sh\n'''exec' '/opt/it'\\''s venv/bin/python' \"$0\" \"$@\"\n' '''",
		"/" + strings.Repeat("a", 112): "#!/" + strings.Repeat("a", 112) + "/bin/python", // 127 bytes with "\n"
		"/" + strings.Repeat("a", 113): "#!/bin/sh\n'''exec' '/" + strings.Repeat("a", 113) + "/bin/python' \"$0\" \"$@\"\n' '''",
	} {
		if got := shebang(root); got != want {
			t.Errorf("shebang(%q) = %q, want %q", root, got, want)
		}
	}
}

func TestLauncherRejects(t *testing.T) {
	for _, tc := range []struct{ root, spec string }{
		{"/opt/venv", "pkg"},
		{"/opt/venv", ":main"},
		{"/opt/venv", "pkg:"},
		{"/opt/venv", "os:system('id')"},
		{"/opt/venv", "pkg:main [extra"},
		{"/opt/venv", "pkg.:main"},
		{"/opt/venv", "1pkg:main"},
		{"/opt/venv", "pkg:main\nimport os"},
		{"relative", "pkg:main"},
		{"/opt/venv/", "pkg:main"},
		{"/opt/\nvenv", "pkg:main"},
	} {
		if _, err := Launcher(tc.root, tc.spec); err == nil {
			t.Errorf("Launcher(%q, %q) succeeded", tc.root, tc.spec)
		}
	}
}

func TestPyJSONString(t *testing.T) {
	for in, want := range map[string]string{
		"file:///a/b.whl": `"file:///a/b.whl"`,
		`q"b\s`:           `"q\"b\\s"`,
		"tab\tnl\n\x01":   `"tab\tnl\n\u0001"`,
		"é😀<&>":           `"\u00e9\ud83d\ude00<&>"`,
	} {
		if got := pyJSONString(in); got != want {
			t.Errorf("pyJSONString(%q) = %s, want %s", in, got, want)
		}
	}
	got := string(directURLJSON("https://user:secret@example.com/x.whl", "ab"))
	if want := `{"archive_info": {"hash": "sha256=ab", "hashes": {"sha256": "ab"}}, "url": "https://example.com/x.whl"}`; got != want {
		t.Errorf("directURLJSON = %s, want %s", got, want)
	}
}

func TestParseHeaders(t *testing.T) {
	h := ParseHeaders([]byte("Wheel-Version: 1.0\r\nwheel-version: 9.0\nTag:\n  py3-none-any\nBad Key: x\nnocolon\nRoot-Is-Purelib:true\n\nName: body\n"))
	if v, _ := h.First("WHEEL-VERSION"); v != "1.0" {
		t.Errorf("Wheel-Version = %q", v)
	}
	if v, _ := h.First("Tag"); v != "py3-none-any" {
		t.Errorf("Tag = %q", v)
	}
	if v, _ := h.First("Root-Is-Purelib"); v != "true" {
		t.Errorf("Root-Is-Purelib = %q", v)
	}
	if _, ok := h.First("Name"); ok {
		t.Error("read a header from the body")
	}
	if _, ok := h.First("Bad Key"); ok {
		t.Error("accepted a field name with a space")
	}
	for v, ok := range map[string]bool{"1.0": true, "1.9": true, "0.1": true, "2.0": false, "x": false, "1": false} {
		err := checkWheelVersion(ParseHeaders([]byte("Wheel-Version: " + v + "\n")))
		if (err == nil) != ok {
			t.Errorf("Wheel-Version %s: err = %v", v, err)
		}
	}
}
