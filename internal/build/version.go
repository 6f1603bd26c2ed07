package build

import (
	"encoding/json"
	"os/exec"
	"strings"
	"time"

	"github.com/kiln-build/kiln/internal/layer"
)

type gitDescription struct {
	SHA      string
	Short    string
	Describe string
	Remote   string
}

// gitInfo describes the project's checkout; outside a git work tree, or
// without git, every field is empty and the build goes on.
func gitInfo(dir string) gitDescription {
	run := func(args ...string) string {
		out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).Output()
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(out))
	}
	g := gitDescription{SHA: run("rev-parse", "HEAD")}
	if g.SHA == "" {
		return g
	}
	g.Short = run("rev-parse", "--short=12", "HEAD")
	g.Describe = run("describe", "--tags", "--always", "--dirty")
	g.Remote = publicURL(run("remote", "get-url", "origin"))
	return g
}

// publicURL keeps a remote URL only when it carries no credentials.
func publicURL(u string) string {
	if strings.Contains(u, "@") && strings.Contains(u, "://") {
		return ""
	}
	return u
}

// VersionFile is the content of /app/version.json.
type VersionFile struct {
	Name        string `json:"name"`
	Version     string `json:"version"`
	GitSHA      string `json:"git_sha"`
	GitShortSHA string `json:"git_short_sha"`
	GitDescribe string `json:"git_describe"`
	BuiltAt     string `json:"built_at"`
	LockSHA256  string `json:"lock_sha256"`
	BaseDigest  string `json:"base_digest"`
}

// versionTree is the last, tiny layer: it changes with every commit, so
// nothing below it has to.
func versionTree(plan *Plan, pp *PlatformPlan, git gitDescription, epoch time.Time) (*layer.Tree, error) {
	v := VersionFile{
		Name:        plan.Project,
		Version:     plan.Version,
		GitSHA:      git.SHA,
		GitShortSHA: git.Short,
		GitDescribe: git.Describe,
		BuiltAt:     epoch.UTC().Format(time.RFC3339),
		LockSHA256:  plan.Lock.Sha256,
		BaseDigest:  pp.BaseDigest,
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	t := layer.NewTree()
	if err := t.AddFile("app/version.json", 0o644, append(b, '\n')); err != nil {
		return nil, err
	}
	return t, nil
}
