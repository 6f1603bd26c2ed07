package debfixup

import (
	"strings"
)

// nginxModulePriority gives the modules-enabled prefix of the bookworm
// modules whose postinst does not use 50: ndk loads before the modules
// built on it, stream's add-ons after stream.
var nginxModulePriority = map[string]string{
	"http-ndk": "10", "stream-geoip": "70", "stream-geoip2": "70", "stream-js": "70",
}

// nginx replicates nginx-common's postinst on a first install (log
// directory and files owned for www-data and adm, the default site
// enabled, the default index page) and each libnginx-mod-* postinst (its
// modules-enabled link). It also creates the temporary directories nginx
// makes as root on its first start, so that it can start as another user.
func nginx(s *state) (string, error) {
	v := s.v
	var did []string
	if s.has("nginx-common", "/usr/share/nginx/html/index.html") {
		adm, err := s.gid("adm")
		if err != nil {
			return "", err
		}
		www, err := s.uid("www-data")
		if err != nil {
			return "", err
		}
		const logdir = "/var/log/nginx"
		if err := v.mkdir(logdir, 0o755, 0, adm); err != nil {
			return "", err
		}
		for _, f := range []string{logdir + "/access.log", logdir + "/error.log"} {
			if v.exists(f) {
				continue
			}
			if err := v.writeFile(f, 0o640, www, adm, nil); err != nil {
				return "", err
			}
		}
		did = append(did, logdir)
		const site = "/etc/nginx/sites-enabled/default"
		if !v.exists(site) && v.isDir("/etc/nginx/sites-enabled") && v.isDir("/etc/nginx/sites-available") {
			if err := v.symlink(site, "/etc/nginx/sites-available/default"); err != nil {
				return "", err
			}
			did = append(did, site)
		}
		const index = "/var/www/html/index.nginx-debian.html"
		if !v.exists(index) {
			for _, d := range []string{"/var/www", "/var/www/html"} {
				if !v.isDir(d) {
					if err := v.mkdir(d, 0o755, 0, 0); err != nil {
						return "", err
					}
				}
			}
			data, _ := v.readFile("/usr/share/nginx/html/index.html")
			if err := v.writeFile(index, 0o644, 0, 0, data); err != nil {
				return "", err
			}
			did = append(did, index)
		}
		for _, d := range []string{"body", "fastcgi", "proxy", "scgi", "uwsgi"} {
			p := "/var/lib/nginx/" + d
			if v.exists(p) {
				continue
			}
			if err := v.mkdir(p, 0o700, www, 0); err != nil {
				return "", err
			}
		}
		did = append(did, "/var/lib/nginx/*")
	}
	for _, pkg := range s.sortedInstalled() {
		mod, ok := strings.CutPrefix(pkg, "libnginx-mod-")
		if !ok {
			continue
		}
		conf := "/usr/share/nginx/modules-available/mod-" + mod + ".conf"
		if !s.has(pkg, conf) {
			continue
		}
		prio := nginxModulePriority[mod]
		if prio == "" {
			prio = "50"
		}
		link := "/etc/nginx/modules-enabled/" + prio + "-mod-" + mod + ".conf"
		if err := v.symlink(link, conf); err != nil {
			return "", err
		}
		did = append(did, link)
	}
	if len(did) == 0 {
		return "", nil
	}
	return "nginx: " + strings.Join(did, " "), nil
}
