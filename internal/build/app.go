package build

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kiln-build/kiln/internal/layer"
	"github.com/kiln-build/kiln/internal/wheel"
)

// appTree lays out the project under /app, plus what makes it an installed
// distribution of the venv: a dist-info (so importlib.metadata knows its
// version), a .pth putting its import root on sys.path, and launchers for
// its [project.scripts]. These venv files belong here, not in the
// dependencies layer, so that the dependencies layer does not change when the
// project's version or scripts do.
func appTree(plan *Plan, pp *PlatformPlan) (*layer.Tree, error) {
	p := plan.project
	t := layer.NewTree()
	if err := t.AddDir(strings.TrimPrefix(AppRoot, "/"), 0o755); err != nil {
		return nil, err
	}
	files, err := p.Files()
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		dst := path.Join(strings.TrimPrefix(AppRoot, "/"), filepath.ToSlash(f.Rel))
		if f.Link != "" {
			if err := t.AddSymlink(dst, f.Link); err != nil {
				return nil, fmt.Errorf("project file %s: %w", f.Rel, err)
			}
			continue
		}
		data, err := os.ReadFile(filepath.Join(p.Dir, f.Rel))
		if err != nil {
			return nil, fmt.Errorf("project file %s: %w", f.Rel, err)
		}
		mode := os.FileMode(0o644)
		if f.Mode&0o111 != 0 {
			mode = 0o755
		}
		if err := t.AddFile(dst, mode, data); err != nil {
			return nil, fmt.Errorf("project file %s: %w", f.Rel, err)
		}
	}

	site := path.Join(strings.TrimPrefix(VenvRoot, "/"), "lib", "python"+pp.info.PythonMinor, "site-packages")
	version := p.Version
	if version == "" {
		version = "0+unknown"
	}
	distName := strings.ReplaceAll(p.NormalizedName, "-", "_")
	distInfo := fmt.Sprintf("%s-%s.dist-info", distName, version)
	var record [][3]string
	put := func(rel string, mode os.FileMode, data []byte) error {
		full := path.Join(site, rel)
		if err := t.AddFile(full, mode, data); err != nil {
			return err
		}
		record = append(record, [3]string{rel, recordHash(data), fmt.Sprint(len(data))})
		return nil
	}

	var meta bytes.Buffer
	fmt.Fprintf(&meta, "Metadata-Version: 2.1\nName: %s\nVersion: %s\n", p.Name, version)
	if p.RequiresPython != "" {
		fmt.Fprintf(&meta, "Requires-Python: %s\n", p.RequiresPython)
	}
	for _, d := range p.Dependencies {
		fmt.Fprintf(&meta, "Requires-Dist: %s\n", d)
	}
	if err := put(distInfo+"/METADATA", 0o644, meta.Bytes()); err != nil {
		return nil, err
	}
	if err := put(distInfo+"/INSTALLER", 0o644, []byte("kiln\n")); err != nil {
		return nil, err
	}
	directURL, _ := json.Marshal(map[string]any{"url": "file://" + AppRoot, "dir_info": map[string]any{}})
	if err := put(distInfo+"/direct_url.json", 0o644, directURL); err != nil {
		return nil, err
	}
	importRoot := path.Join(AppRoot, filepath.ToSlash(p.Layout.ImportRoot))
	if err := put("_"+distName+".pth", 0o644, []byte(importRoot+"\n")); err != nil {
		return nil, err
	}

	var entry bytes.Buffer
	for _, group := range []struct {
		name    string
		scripts map[string]string
	}{{"console_scripts", p.Scripts}, {"gui_scripts", p.GUIScripts}} {
		if len(group.scripts) == 0 {
			continue
		}
		fmt.Fprintf(&entry, "[%s]\n", group.name)
		for _, name := range sortedKeys(group.scripts) {
			spec := group.scripts[name]
			fmt.Fprintf(&entry, "%s = %s\n", name, spec)
			body, err := wheel.Launcher(VenvRoot, spec)
			if err != nil {
				return nil, fmt.Errorf("%s: script %s = %q: %w", filepath.Join(p.Dir, "pyproject.toml"), name, spec, err)
			}
			if err := put("../../../bin/"+name, 0o755, body); err != nil {
				return nil, err
			}
		}
		entry.WriteString("\n")
	}
	if entry.Len() > 0 {
		if err := put(distInfo+"/entry_points.txt", 0o644, entry.Bytes()); err != nil {
			return nil, err
		}
	}
	record = append(record, [3]string{distInfo + "/RECORD", "", ""})
	sort.Slice(record, func(i, j int) bool { return record[i][0] < record[j][0] })
	var rec bytes.Buffer
	for _, r := range record {
		fmt.Fprintf(&rec, "%s,%s,%s\n", r[0], r[1], r[2])
	}
	if err := t.AddFile(path.Join(site, distInfo, "RECORD"), 0o644, rec.Bytes()); err != nil {
		return nil, err
	}
	return t, nil
}

func recordHash(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256=" + base64.RawURLEncoding.EncodeToString(sum[:])
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
