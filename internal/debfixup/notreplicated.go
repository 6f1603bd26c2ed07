package debfixup

import "regexp"

// notReplicatedTable lists, for bookworm's runtime packages (those of a
// Python base and of the package list), what their maintainer
// scripts do that debfixup does not, read from their control archives.
// Packages whose scripts are fully replicated, or that have none (curl,
// clang-format, libjpeg62-turbo, libpq5, openssl, zlib1g: at most the
// ldconfig trigger), are absent.
var notReplicatedTable = map[string][]string{
	"ca-certificates": {
		"runs the hooks in /etc/ca-certificates/update.d (none in the runtime set; ca-certificates-java adds one)",
		"asks debconf which certificates to trust: all are trusted, the default",
	},
	"dash":     {"records the dpkg diversions of /bin/sh and sh.1.gz (the /bin/sh -> dash link itself is shipped)"},
	"dpkg":     {"enables dpkg-db-backup.timer", "moves misplaced alternatives state files"},
	"iproute2": {"setcap on /bin/ip when debconf iproute2/setcaps is true (the default is false)"},
	"libc6":    {"checks the kernel version", "restarts services after an upgrade"},
	"login":    {"creates /var/log/faillog, /etc/subuid and /etc/subgid"},
	"nginx":    {"starts nginx (invoke-rc.d), and reloads it on the nginx-reload trigger"},
	"nginx-common": {
		"update-rc.d nginx defaults: /etc/rc?.d links",
		"deb-systemd-helper enables nginx.service",
		"starts nginx.service when systemd runs",
	},
	"passwd":                {"systemd-tmpfiles --create passwd.conf (only with systemd installed)"},
	"python3":               {"py3compile -p python3: no .pyc", "runs the rtupdate hooks of /usr/share/python3/runtime.d"},
	"python3-minimal":       {"py3compile -p python3-minimal: no .pyc"},
	"python3-pkg-resources": {"py3compile -p python3-pkg-resources: no .pyc"},
	"supervisor": {
		"py3compile -p supervisor: no .pyc",
		"update-rc.d and invoke-rc.d: /etc/rc?.d links and a service start",
		"deb-systemd-helper enables supervisor.service",
	},
	"unzip": {"update-mime (only when mime-support's update-mime is installed)"},
}

var pythonInterpreter = regexp.MustCompile(`^python3\.[0-9]+$`)

// notReplicated returns the table's entries for the installed packages.
func notReplicated(installed []string) map[string][]string {
	out := map[string][]string{}
	for _, p := range installed {
		if e, ok := notReplicatedTable[p]; ok {
			out[p] = append([]string(nil), e...)
		}
		if m := pythonMinimal.FindStringSubmatch(p); m != nil {
			out[p] = []string{
				"byte-compiles libpython" + m[1] + "-minimal's modules with the target interpreter: no .pyc",
				"update-binfmts --import python" + m[1] + " (only with binfmt-support installed)",
			}
		}
		if pythonInterpreter.MatchString(p) {
			out[p] = []string{"byte-compiles lib" + p + "-stdlib's modules with the target interpreter: no .pyc"}
		}
	}
	return out
}
