package debfixup

import (
	"fmt"
	"path"
	"regexp"
	"strings"
)

// tzdata replicates tzdata's postinst with the zone as the debconf answer:
// /etc/localtime links to the zone file and /etc/timezone names it.
func tzdata(s *state) (string, error) {
	if !s.has("tzdata", "/usr/share/zoneinfo/tzdata.zi") {
		return "", nil
	}
	tz := s.opts.Timezone
	if strings.HasPrefix(tz, "/") || path.Clean(tz) != tz || strings.HasPrefix(tz, "..") {
		return "", fmt.Errorf("time zone %q is not a zone name such as Europe/Berlin", tz)
	}
	zone := "/usr/share/zoneinfo/" + tz
	if !s.v.isFile(zone) {
		return "", fmt.Errorf("time zone %q: %s does not exist", tz, zone)
	}
	if err := s.v.symlink("/etc/localtime", zone); err != nil {
		return "", err
	}
	if err := s.v.writeFile("/etc/timezone", 0o644, 0, 0, []byte(tz+"\n")); err != nil {
		return "", err
	}
	return "tzdata: /etc/localtime -> " + zone + ", /etc/timezone", nil
}

// installDefault copies a package's template into /etc when absent, as the
// install_from_default of libc-bin's and readline-common's postinsts does.
func installDefault(s *state, pkg, template, dst string) (string, error) {
	if !s.has(pkg, template) || s.v.exists(dst) {
		return "", nil
	}
	data, _ := s.v.readFile(template)
	if err := s.v.writeFile(dst, 0o644, 0, 0, data); err != nil {
		return "", err
	}
	return pkg + ": " + dst, nil
}

func nsswitch(s *state) (string, error) {
	return installDefault(s, "libc-bin", "/usr/share/libc-bin/nsswitch.conf", "/etc/nsswitch.conf")
}

func inputrc(s *state) (string, error) {
	return installDefault(s, "readline-common", "/usr/share/readline/inputrc", "/etc/inputrc")
}

var pythonMinimal = regexp.MustCompile(`^python(3\.[0-9]+)-minimal$`)

// python replicates python3.X-minimal's preinst and postinst (the
// python3.X_installed marker, /usr/local/lib/python3.X/dist-packages) and
// python3's postinst (/etc/python3/debian_config). Byte-compilation is not
// replicated: it runs the target's interpreter.
func python(s *state) (string, error) {
	v := s.v
	var did []string
	for _, pkg := range s.sortedInstalled() {
		m := pythonMinimal.FindStringSubmatch(pkg)
		if m == nil || !s.has(pkg, "/usr/bin/python"+m[1]) {
			continue
		}
		if !v.exists("/var/lib/python") {
			if err := v.mkdir("/var/lib/python", 0o755, 0, 0); err != nil {
				return "", err
			}
		}
		marker := "/var/lib/python/python" + m[1] + "_installed"
		if err := v.writeFile(marker, 0o644, 0, 0, nil); err != nil {
			return "", err
		}
		perm, gid := uint32(0o755), 0
		if v.exists("/etc/staff-group-for-usr-local") {
			staff, err := s.gid("staff")
			if err != nil {
				return "", err
			}
			perm, gid = 0o2755, staff
		}
		for _, d := range []string{"/usr/local/lib/python" + m[1], "/usr/local/lib/python" + m[1] + "/dist-packages"} {
			if v.exists(d) {
				continue
			}
			if err := v.mkdir(d, perm, 0, gid); err != nil {
				return "", err
			}
			did = append(did, d)
		}
		did = append(did, marker)
	}
	const config = "/etc/python3/debian_config"
	if s.has("python3", "/usr/share/python3/runtime.d") && !v.exists(config) {
		if !v.isDir("/etc/python3") {
			if err := v.mkdir("/etc/python3", 0o755, 0, 0); err != nil {
				return "", err
			}
		}
		if err := v.writeFile(config, 0o644, 0, 0, []byte("[DEFAULT]\nbyte-compile = standard\n")); err != nil {
			return "", err
		}
		did = append(did, config)
	}
	if len(did) == 0 {
		return "", nil
	}
	return "python: " + strings.Join(did, " "), nil
}
