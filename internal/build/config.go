package build

import (
	"fmt"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// configure turns the base's config into the service's.
func configure(cf *v1.ConfigFile, plan *Plan, pp *PlatformPlan, git gitDescription, epoch time.Time) {
	p := plan.project
	c := &cf.Config
	c.User = fmt.Sprintf("%d:%d", p.Config.User.UID, p.Config.User.GID)
	c.WorkingDir = AppRoot
	c.Entrypoint = nil
	c.Cmd = plan.Command
	c.StopSignal = "SIGTERM"

	env := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := env[k]; !ok {
			order = append(order, k)
		}
		env[k] = v
	}
	for _, kv := range c.Env {
		k, v, _ := strings.Cut(kv, "=")
		set(k, v)
	}
	path := env["PATH"]
	if path == "" {
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	set("PATH", VenvRoot+"/bin:"+path)
	set("VIRTUAL_ENV", VenvRoot)
	set("PYTHONUNBUFFERED", "1")
	set("PYTHONDONTWRITEBYTECODE", "1")
	for _, k := range sortedKeys(p.Config.Env) {
		set(k, p.Config.Env[k])
	}
	c.Env = nil
	for _, k := range order {
		c.Env = append(c.Env, k+"="+env[k])
	}

	port := port(p)
	c.ExposedPorts = map[string]struct{}{fmt.Sprintf("%d/tcp", port): {}}
	if hc := p.Config.Healthcheck; hc != nil && hc.Path != "" {
		hport := port
		if hc.Port != 0 {
			hport = hc.Port
		}
		url := fmt.Sprintf("http://127.0.0.1:%d%s", hport, hc.Path)
		c.Healthcheck = &v1.HealthConfig{
			Test: []string{"CMD", VenvRoot + "/bin/python", "-c",
				fmt.Sprintf("import sys, urllib.request; sys.exit(0 if urllib.request.urlopen(%q, timeout=%d).status == 200 else 1)", url, int(max(hc.Timeout, time.Second)/time.Second))},
			Interval:    hc.Interval,
			Timeout:     hc.Timeout,
			StartPeriod: hc.StartPeriod,
			Retries:     hc.Retries,
		}
	}
	if c.Labels == nil {
		c.Labels = map[string]string{}
	}
	for k, v := range ociLabels(plan, git, pp.BaseDigest) {
		c.Labels[k] = v
	}
	if len(p.Config.RequiredEnv) > 0 {
		// Names only: kiln verify --run reads them to prove the service refuses to start without.
		c.Labels["dev.kiln.required-env"] = strings.Join(p.Config.RequiredEnv, ",")
	}
	for k, v := range p.Config.Labels {
		c.Labels[k] = v
	}
	cf.Created = v1.Time{Time: epoch}
	cf.Author = "kiln"
}

func ociLabels(plan *Plan, git gitDescription, baseDigest string) map[string]string {
	l := map[string]string{
		"org.opencontainers.image.title":     plan.Project,
		"org.opencontainers.image.created":   time.Unix(plan.SourceDateEpoch, 0).UTC().Format(time.RFC3339),
		"org.opencontainers.image.base.name": plan.Base.Name,
	}
	if plan.Version != "" {
		l["org.opencontainers.image.version"] = plan.Version
	}
	if git.SHA != "" {
		l["org.opencontainers.image.revision"] = git.SHA
	}
	if git.Remote != "" {
		l["org.opencontainers.image.source"] = git.Remote
	}
	if baseDigest != "" {
		l["org.opencontainers.image.base.digest"] = baseDigest
	}
	return l
}

// annotations go on the manifest (and the index), where registries and
// scanners look for them; labels carry the same facts inside the config.
func annotations(plan *Plan, git gitDescription, baseDigest string) map[string]string {
	a := ociLabels(plan, git, baseDigest)
	for _, k := range []string{"org.opencontainers.image.source"} {
		if v, ok := plan.project.Config.Labels[k]; ok {
			a[k] = v
		}
	}
	return a
}
