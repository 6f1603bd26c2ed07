package wheel

import (
	"fmt"
	"path"
	"strings"

	"github.com/kiln-build/kiln/internal/layer"
)

// Venv is a virtual environment at a fixed absolute path inside the image.
// Venvs are not relocatable (launchers carry absolute shebangs), so Root
// must be the path the image will run it from.
type Venv struct {
	Root        string // "/app/.venv"
	PythonMinor string // "3.11"
	Interpreter string // base interpreter in the image, "/usr/bin/python3.11"
	KilnVersion string // written to pyvenv.cfg as "kiln = …"; "unknown" if empty
}

// SitePackages is the absolute path of the venv's site-packages directory,
// both purelib and platlib in the venv sysconfig scheme.
func (v Venv) SitePackages() string {
	return v.Root + "/lib/python" + v.PythonMinor + "/site-packages"
}

func (v Venv) validate() error {
	if err := checkVenvRoot(v.Root); err != nil {
		return err
	}
	if minor, ok := strings.CutPrefix(v.PythonMinor, "3."); !ok || minor == "" || len(minor) > 3 || strings.Trim(minor, "0123456789") != "" {
		return fmt.Errorf("venv %s: python version %q: want 3.N", v.Root, v.PythonMinor)
	}
	if err := checkAbsPath(v.Interpreter); err != nil {
		return fmt.Errorf("venv %s: interpreter: %w", v.Root, err)
	}
	if path.Base(v.Interpreter) == "." || v.Interpreter == "/" {
		return fmt.Errorf("venv %s: interpreter %q is not a file", v.Root, v.Interpreter)
	}
	return nil
}

func checkVenvRoot(root string) error {
	if err := checkAbsPath(root); err != nil {
		return fmt.Errorf("venv root: %w", err)
	}
	if root == "/" {
		return fmt.Errorf("venv root cannot be /")
	}
	return nil
}

// checkAbsPath accepts clean absolute paths that can appear in a shebang,
// pyvenv.cfg and a single-quoted shell word.
func checkAbsPath(p string) error {
	if !strings.HasPrefix(p, "/") || path.Clean(p) != p {
		return fmt.Errorf("%q is not a clean absolute path", p)
	}
	if strings.ContainsAny(p, "\x00\n\r\\") {
		return fmt.Errorf("%q contains a NUL, newline or backslash", p)
	}
	return nil
}

// treePath turns an absolute image path into a layer.Tree key.
func treePath(abs string) string { return strings.TrimPrefix(abs, "/") }

// Create adds the venv skeleton to tree, as `uv venv` lays it out minus
// the files only uv needs:
//
//	bin/python -> Interpreter (absolute), bin/python3 -> python,
//	bin/python3.N -> python, bin/activate, lib/python3.N/site-packages/,
//	lib64 -> lib, pyvenv.cfg
//
// pyvenv.cfg has CPython's keys, which are what the interpreter and tools
// read, and a kiln line in the place uv writes "uv = <version>":
//
//	home = <directory of Interpreter>
//	include-system-site-packages = false
//	version = <pythonFullVersion>
//	executable = <Interpreter>
//	kiln = <KilnVersion>
func (v Venv) Create(tree *layer.Tree, pythonFullVersion string) error {
	if err := v.validate(); err != nil {
		return err
	}
	if rest, ok := strings.CutPrefix(pythonFullVersion, v.PythonMinor+"."); !ok || rest == "" || rest[0] < '0' || rest[0] > '9' || strings.ContainsAny(rest, " \n\r") {
		return fmt.Errorf("venv %s: python version %q is not a %s.x version", v.Root, pythonFullVersion, v.PythonMinor)
	}
	kiln := v.KilnVersion
	if kiln == "" {
		kiln = "unknown"
	}
	if strings.ContainsAny(kiln, "\n\r") {
		return fmt.Errorf("venv %s: kiln version %q contains a newline", v.Root, kiln)
	}
	cfg := "home = " + path.Dir(v.Interpreter) + "\n" +
		"include-system-site-packages = false\n" +
		"version = " + pythonFullVersion + "\n" +
		"executable = " + v.Interpreter + "\n" +
		"kiln = " + kiln + "\n"

	root := treePath(v.Root)
	lib := root + "/lib/python" + v.PythonMinor
	steps := []func() error{
		func() error { return tree.AddDir(root, 0o755) },
		func() error { return tree.AddDir(root+"/bin", 0o755) },
		func() error { return tree.AddDir(root+"/lib", 0o755) },
		func() error { return tree.AddDir(lib, 0o755) },
		func() error { return tree.AddDir(lib+"/site-packages", 0o755) },
		func() error { return tree.AddSymlink(root+"/lib64", "lib") },
		func() error { return tree.AddSymlink(root+"/bin/python", v.Interpreter) },
		func() error { return tree.AddSymlink(root+"/bin/python3", "python") },
		func() error { return tree.AddSymlink(root+"/bin/python"+v.PythonMinor, "python") },
		func() error { return tree.AddFile(root+"/bin/activate", 0o644, activateScript(v.Root)) },
		func() error { return tree.AddFile(root+"/pyvenv.cfg", 0o644, []byte(cfg)) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return fmt.Errorf("venv %s: %w", v.Root, err)
		}
	}
	return nil
}

// activateScript is a small POSIX-shell activate for people who open a shell
// in the container; the image's PATH already puts the venv first.
func activateScript(root string) []byte {
	quoted := "'" + strings.ReplaceAll(root, "'", `'\''`) + "'"
	return []byte(`# Source this file from a POSIX shell: . ` + quoted + `/bin/activate
deactivate () {
    if [ -n "${_KILN_OLD_PATH+set}" ]; then
        PATH="$_KILN_OLD_PATH"
        export PATH
        unset _KILN_OLD_PATH
    fi
    if [ -n "${_KILN_OLD_PYTHONHOME+set}" ]; then
        PYTHONHOME="$_KILN_OLD_PYTHONHOME"
        export PYTHONHOME
        unset _KILN_OLD_PYTHONHOME
    fi
    unset VIRTUAL_ENV
    hash -r 2>/dev/null
    if [ "${1-}" != nondestructive ]; then
        unset -f deactivate
    fi
}
deactivate nondestructive
VIRTUAL_ENV=` + quoted + `
export VIRTUAL_ENV
_KILN_OLD_PATH="$PATH"
PATH="$VIRTUAL_ENV/bin:$PATH"
export PATH
if [ -n "${PYTHONHOME+set}" ]; then
    _KILN_OLD_PYTHONHOME="$PYTHONHOME"
    unset PYTHONHOME
fi
hash -r 2>/dev/null
`)
}
