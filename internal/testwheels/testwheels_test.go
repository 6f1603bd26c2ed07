package testwheels

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

var wantWheels = []string{
	"click-8.1.3-py3-none-any.whl",
	"flask-2.2.2-py3-none-any.whl",
	"gunicorn-20.1.0-py3-none-any.whl",
	"itsdangerous-2.1.2-py3-none-any.whl",
	"jinja2-3.1.2-py3-none-any.whl",
	"kiln_demo_ext-1.0.0-cp311-cp311-manylinux_2_36_aarch64.whl",
	"kiln_demo_ext-1.0.0-cp311-cp311-manylinux_2_36_x86_64.whl",
	"kiln_dev_tool-1.0.0-py3-none-any.whl",
	"markupsafe-2.1.2-cp311-cp311-manylinux_2_36_aarch64.whl",
	"markupsafe-2.1.2-cp311-cp311-manylinux_2_36_x86_64.whl",
	"setuptools-66.1.1-py3-none-any.whl",
	"werkzeug-2.2.2-py3-none-any.whl",
}

func wheelNames(t *testing.T, dir string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.whl"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range paths {
		names = append(names, filepath.Base(p))
	}
	sort.Strings(names)
	return names
}

// The versions are bookworm's; a point release that moves one of them
// changes this list, and the recipe should be looked at again.
func TestWheelhouseContents(t *testing.T) {
	dir := Wheelhouse(t)
	if got := wheelNames(t, dir); !reflect.DeepEqual(got, wantWheels) {
		t.Fatalf("wheels\n got %q\nwant %q", got, wantWheels)
	}
	for _, name := range wantWheels {
		if err := verifyWheel(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
}

// distInfoFile reads one file from a wheel's .dist-info.
func distInfoFile(t *testing.T, wheel, file string) string {
	t.Helper()
	zr, err := zip.OpenReader(wheel)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		dir, name, _ := strings.Cut(f.Name, "/")
		if strings.HasSuffix(dir, ".dist-info") && name == file {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
	return ""
}

func TestWheelhouseMetadata(t *testing.T) {
	dir := Wheelhouse(t)
	requires := map[string][]string{
		// From Debian's Depends (dh_python3 took them out of requires.txt).
		"flask-2.2.2-py3-none-any.whl":        {"click>=8.0", "itsdangerous>=2.0", "Jinja2>=3.0", "Werkzeug>=2.2.2", `asgiref>=3.2; extra == "async"`, `python-dotenv; extra == "dotenv"`},
		"jinja2-3.1.2-py3-none-any.whl":       {"MarkupSafe>=2.0", `Babel>=2.7; extra == "i18n"`},
		"werkzeug-2.2.2-py3-none-any.whl":     {"MarkupSafe", `watchdog; extra == "watchdog"`},
		"gunicorn-20.1.0-py3-none-any.whl":    {"setuptools", `eventlet>=0.24.1; extra == "eventlet"`, `gevent>=1.4.0; extra == "gevent"`, `setproctitle; extra == "setproctitle"`, `tornado>=0.2; extra == "tornado"`},
		"click-8.1.3-py3-none-any.whl":        {`colorama; platform_system == "Windows"`},
		"itsdangerous-2.1.2-py3-none-any.whl": nil,
	}
	for wheel, want := range requires {
		meta, err := parsePKGInfo([]byte(distInfoFile(t, filepath.Join(dir, wheel), "METADATA")))
		if err != nil {
			t.Fatalf("%s: %v", wheel, err)
		}
		if got := meta.all("Requires-Dist"); !reflect.DeepEqual(got, want) {
			t.Errorf("%s Requires-Dist\n got %q\nwant %q", wheel, got, want)
		}
	}
	scripts := map[string]string{
		"flask-2.2.2-py3-none-any.whl":                               "flask = flask.cli:main",
		"gunicorn-20.1.0-py3-none-any.whl":                           "gunicorn = gunicorn.app.wsgiapp:run",
		"kiln_demo_ext-1.0.0-cp311-cp311-manylinux_2_36_x86_64.whl":  "kiln-demo-ext = kiln_demo_ext.cli:main",
		"kiln_demo_ext-1.0.0-cp311-cp311-manylinux_2_36_aarch64.whl": "kiln-demo-ext = kiln_demo_ext.cli:main",
		"kiln_dev_tool-1.0.0-py3-none-any.whl":                       "kiln-dev-tool = kiln_dev_tool:main",
	}
	for wheel, line := range scripts {
		ep := distInfoFile(t, filepath.Join(dir, wheel), "entry_points.txt")
		if !strings.Contains(ep, "[console_scripts]\n"+line+"\n") {
			t.Errorf("%s entry_points.txt lacks %q:\n%s", wheel, line, ep)
		}
	}
	for _, wheel := range wantWheels {
		if distInfoFile(t, filepath.Join(dir, wheel), "top_level.txt") == "" {
			t.Errorf("%s: no top_level.txt", wheel)
		}
	}
}

// Every compiled module must be an ELF shared object for the wheel's
// architecture, named with that architecture's EXT_SUFFIX.
func TestWheelhouseNativeModules(t *testing.T) {
	dir := Wheelhouse(t)
	for _, p := range platforms {
		for _, wheel := range []string{"kiln_demo_ext-1.0.0-" + p.tag() + ".whl", "markupsafe-2.1.2-" + p.tag() + ".whl"} {
			zr, err := zip.OpenReader(filepath.Join(dir, wheel))
			if err != nil {
				t.Fatal(err)
			}
			found := 0
			for _, f := range zr.File {
				if !strings.HasSuffix(f.Name, ".so") {
					continue
				}
				found++
				if !strings.HasSuffix(f.Name, p.extSuffix()) {
					t.Errorf("%s: %s not named for %s", wheel, f.Name, p.machine)
				}
				rc, _ := f.Open()
				data, _ := io.ReadAll(rc)
				rc.Close()
				ef, err := elf.NewFile(bytes.NewReader(data))
				if err != nil {
					t.Errorf("%s: %s: %v", wheel, f.Name, err)
					continue
				}
				if ef.Machine != p.elf || ef.Class != elf.ELFCLASS64 || ef.Type != elf.ET_DYN {
					t.Errorf("%s: %s is %v %v %v", wheel, f.Name, ef.Machine, ef.Class, ef.Type)
				}
				libs, _ := ef.ImportedLibraries()
				for _, l := range libs {
					if strings.HasPrefix(l, "libpython") {
						t.Errorf("%s: %s links %s (extensions must not)", wheel, f.Name, l)
					}
				}
				ef.Close()
			}
			zr.Close()
			if found != 1 {
				t.Errorf("%s: %d compiled modules, want 1", wheel, found)
			}
		}
	}
}

// Two builds from the same Debian packages give the same bytes.
func TestBuildIsReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the wheelhouse a second time")
	}
	cached := Wheelhouse(t)
	fresh := t.TempDir()
	if err := Build(fresh); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(filepath.Join(cached, SourcesFile))
	b, _ := os.ReadFile(filepath.Join(fresh, SourcesFile))
	if !bytes.Equal(a, b) {
		t.Skipf("Debian packages changed since the cache was built:\n%s\n---\n%s", a, b)
	}
	for _, name := range wantWheels {
		if ha, hb := fileSHA(t, filepath.Join(cached, name)), fileSHA(t, filepath.Join(fresh, name)); ha != hb {
			t.Errorf("%s: %s then %s", name, ha, hb)
		}
	}
}

func fileSHA(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// Debian's CPython 3.11, the interpreter of the e2e base image.
const python311 = "/usr/bin/python3.11"

// sitePackages unpacks the wheels for machine (and the pure ones) into a
// fresh directory, as an installer would into site-packages.
func sitePackages(t *testing.T, machine string) string {
	t.Helper()
	if _, err := os.Stat(python311); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s: %v (apt-get install python3.11)", python311, err)
		}
		t.Skipf("%s: %v", python311, err)
	}
	dir := Wheelhouse(t)
	site := t.TempDir()
	for _, name := range wheelNames(t, dir) {
		if !strings.HasSuffix(name, "-none-any.whl") && !strings.HasSuffix(name, "_"+machine+".whl") {
			continue
		}
		zr, err := zip.OpenReader(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range zr.File {
			out := filepath.Join(site, filepath.FromSlash(f.Name))
			if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
				t.Fatal(err)
			}
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(out, data, f.Mode().Perm()); err != nil {
				t.Fatal(err)
			}
		}
		zr.Close()
	}
	return site
}

// consoleScript runs a console_scripts entry point found through
// importlib.metadata, the way an installed launcher would. -S keeps the
// host's dist-packages off sys.path, so only the unpacked wheels count.
func consoleScript(site, name string, args ...string) *exec.Cmd {
	code := `import sys
from importlib.metadata import entry_points
ep = entry_points(group="console_scripts")[sys.argv[1]]
sys.argv = sys.argv[1:]
sys.exit(ep.load()())`
	cmd := exec.Command(python311, append([]string{"-S", "-c", code, name}, args...)...)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+site, "PYTHONDONTWRITEBYTECODE=1")
	return cmd
}

func TestDemoExtConsoleScript(t *testing.T) {
	site := sitePackages(t, "x86_64")
	out, err := consoleScript(site, "kiln-demo-ext").CombinedOutput()
	if err != nil {
		t.Fatalf("kiln-demo-ext: %v\n%s", err, out)
	}
	h := fnv.New64a()
	h.Write([]byte("kiln"))
	want := fmt.Sprintf("kiln-demo-ext 1.0.0 fnv1a(kiln)=%d machine=x86_64\n", h.Sum64())
	if string(out) != want {
		t.Errorf("got %q, want %q", out, want)
	}
}

// The wheels are enough to serve examples/flask-service with gunicorn: this
// is what the e2e image will do, minus the image.
func TestFlaskServiceUnderGunicorn(t *testing.T) {
	site := sitePackages(t, "x86_64")
	src, err := filepath.Abs("../../examples/flask-service/src")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	cmd := consoleScript(site, "gunicorn", "--bind", addr, "--workers", "2", "--pythonpath", src, "flask_service.app:app")
	cmd.Env = append(cmd.Env, "FLASK_SERVICE_GREETING=from the test")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	// Its own process group, so a failed test can stop the workers too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}()

	client := &http.Client{Timeout: 2 * time.Second}
	var resp *http.Response
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err = client.Get("http://" + addr + "/health")
		if err == nil {
			break
		}
		select {
		case werr := <-done:
			stopped = true
			t.Fatalf("gunicorn exited: %v\n%s", werr, logs.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no answer on %s: %v\n%s", addr, err, logs.String())
		}
	}
	var health map[string]string
	err = json.NewDecoder(resp.Body).Decode(&health)
	resp.Body.Close()
	if resp.StatusCode != 200 || err != nil || health["status"] != "ok" {
		t.Fatalf("/health: %d %v %v", resp.StatusCode, health, err)
	}

	resp, err = client.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	var index struct {
		Greeting string `json:"greeting"`
		FNV1a    uint64 `json:"fnv1a"`
	}
	err = json.NewDecoder(resp.Body).Decode(&index)
	resp.Body.Close()
	h := fnv.New64a()
	h.Write([]byte("kiln"))
	if err != nil || index.FNV1a != h.Sum64() || index.Greeting != "from the test" {
		t.Errorf("/: %+v %v, want fnv1a %d", index, err, h.Sum64())
	}

	// gunicorn stops cleanly on SIGTERM.
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		stopped = true
		if err != nil {
			t.Errorf("gunicorn after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Errorf("gunicorn did not stop on SIGTERM\n%s", logs.String())
	}
	sc := bufio.NewScanner(bytes.NewReader(logs.Bytes()))
	for sc.Scan() {
		if strings.Contains(sc.Text(), "Traceback") {
			t.Errorf("gunicorn log has a traceback:\n%s", logs.String())
			break
		}
	}
}
