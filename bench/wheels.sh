#!/usr/bin/env bash
# Makes the wheelhouse for kiln's benchmarks: a Django 3.2 service (Django,
# asgiref, sqlparse, pytz, gunicorn, setuptools with pkg_resources, psycopg2,
# whitenoise), a FastAPI 0.92 service (fastapi, starlette, pydantic,
# typing-extensions, anyio, sniffio, idna, uvicorn 0.17.6, h11, click) with
# uvicorn's "standard" extras that Debian has (httptools, uvloop, websockets,
# python-dotenv, PyYAML, watchgod), second, newer sqlparse and python-dotenv from trixie for
# the "one dependency changed" scenario, and Debian's pip wheel for builder
# stages.
#
# Where from: no PyPI is reachable here, and the Debian archive this machine
# reaches serves the binary packages but not most source tarballs (apt-get
# source gets 404 for e.g. psycopg2_2.9.5.orig.tar.gz), so nothing can be
# compiled from source. Each wheel is instead repackaged from Debian's signed
# binary packages (bookworm + updates + security; the second versions from trixie):
# apt checks the lists against the archive keyring and every .deb against
# them, using a private apt state so the host's apt setup is untouched.
# Compiled modules (psycopg2, PyYAML, uvloop, httptools) are Debian's own
# builds for CPython 3.11 and are tagged manylinux_2_36_x86_64 (bookworm's
# glibc); they link Debian's libpq5, libyaml-0-2, libuv1 and
# libhttp-parser2.9, which a runtime image must therefore contain.
#
# Usage: bash bench/wheels.sh [OUTDIR]   (prints OUTDIR on stdout)
# OUTDIR defaults to ${KILN_BENCH_CACHE:-~/.cache/kiln-bench}/wheels. A
# finished OUTDIR holds a stamp naming RECIPE and is reused as is; delete
# OUTDIR (or its .kiln-bench-wheels stamp) to force a rebuild. OUTDIR.work
# keeps the private apt lists between rebuilds. KILN_BENCH_DEBIAN_MIRROR
# (and KILN_BENCH_DEBIAN_SECURITY_MIRROR) replace deb.debian.org.
set -euo pipefail

# Bump when the package list or the conversion changes: a stamp that differs
# makes the next run rebuild.
RECIPE="kiln-bench-wheels 2 (bookworm debs + trixie sqlparse and python-dotenv)"

out=${1:-${KILN_BENCH_CACHE:-$HOME/.cache/kiln-bench}/wheels}
out=${out%/}
stamp_ok() { [[ -f $out/.kiln-bench-wheels && $(<"$out/.kiln-bench-wheels") == "$RECIPE" ]]; }
if stamp_ok; then
	printf '%s\n' "$out"
	exit 0
fi

log() { printf 'wheels.sh: %s\n' "$*" >&2; }
die() {
	log "FAILED: $*"
	exit 1
}

mkdir -p "$(dirname "$out")"
# Two runs at once would race on the apt state and the final rename.
exec 9>"$out.lock"
flock 9
if stamp_ok; then
	printf '%s\n' "$out"
	exit 0
fi

# pyenv's python3 may come first on PATH; the debs are built for Debian's.
PY=/usr/bin/python3
mirror=${KILN_BENCH_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${KILN_BENCH_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
work=$out.work
build=$work/build.$$
trap 'rm -rf "$build"' EXIT
rm -rf "$build"
mkdir -p "$build/wheels"

# Distribution name, then the binary packages that make its wheel (the
# first holds the metadata). Debian splits pkg_resources out of setuptools;
# upstream's setuptools wheel has both and gunicorn 20.1 imports it.
dists=(
	"Django python3-django" "asgiref python3-asgiref" "sqlparse python3-sqlparse"
	"pytz python3-tz" "gunicorn python3-gunicorn"
	"setuptools python3-setuptools python3-pkg-resources"
	"psycopg2 python3-psycopg2" "whitenoise python3-whitenoise"
	"fastapi python3-fastapi" "starlette python3-starlette" "pydantic python3-pydantic"
	"typing-extensions python3-typing-extensions" "anyio python3-anyio"
	"sniffio python3-sniffio" "idna python3-idna" "uvicorn python3-uvicorn"
	"h11 python3-h11" "click python3-click" "httptools python3-httptools"
	"uvloop python3-uvloop" "websockets python3-websockets"
	"python-dotenv python3-dotenv" "PyYAML python3-yaml" "watchgod python3-watchgod"
)
compiled=(psycopg2 pyyaml uvloop httptools)
# The "one dependency changed" packages, one per benchmark service: trixie's
# are pure-Python wheels that still run on 3.11 and that their dependents
# accept (Django 3.2: sqlparse>=0.2.2; uvicorn's standard set: python-dotenv>=0.13).
seconds=("sqlparse python3-sqlparse" "python-dotenv python3-dotenv")
second_names=() second_debs=()
for d in "${seconds[@]}"; do
	read -r n deb <<<"$d"
	second_names+=("$n")
	second_debs+=("$deb")
done

# Debian package -> distribution, to turn Depends back into Requires-Dist.
DEBMAP=""
for d in "${dists[@]}"; do
	read -r name debs <<<"$d"
	for deb in $debs; do DEBMAP+="$deb=$name "; done
done
export DEBMAP

# Host tools: python3-venv for the import check; apt and dpkg-deb are always
# there. No compiler: nothing is built from source (see the top).
need_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# Lists may be absent on a fresh machine: update only when install fails.
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
		{ apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } ||
		die "apt-get install ${missing[*]}"
}
need_pkgs python3 python3-venv

# papt STATE ARGS...: apt-get on a private state under $work/apt/STATE.
papt() {
	local st=$work/apt/$1
	shift
	apt-get -q -o Dir::State::Lists="$st/lists" -o Dir::Cache="$st/cache" \
		-o Dir::Etc::SourceList="$st/sources.list" -o Dir::Etc::SourceParts="$work/apt/empty" \
		-o Dir::Etc::Preferences=/nonexistent -o Dir::Etc::PreferencesParts="$work/apt/empty" \
		-o Acquire::Languages=none -o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false \
		-o APT::Sandbox::User=root "$@"
}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[[ -f $keyring ]] || need_pkgs debian-archive-keyring
mkdir -p "$work/apt/empty"
for st in bookworm trixie; do
	mkdir -p "$work/apt/$st/lists/partial" "$work/apt/$st/cache/archives/partial"
done
printf 'deb [signed-by=%s] %s %s main\n' "$keyring" "$mirror" bookworm "$keyring" "$mirror" bookworm-updates \
	"$keyring" "$security" bookworm-security >"$work/apt/bookworm/sources.list"
printf 'deb [signed-by=%s] %s trixie main\n' "$keyring" "$mirror" >"$work/apt/trixie/sources.list"
for st in bookworm trixie; do
	log "apt-get update ($st, private state)"
	papt "$st" update --error-on=any >&2 || die "apt-get update for $st"
done

all_debs=(python3-pip-whl libjs-jquery)
for d in "${dists[@]}"; do
	read -r _ debs <<<"$d"
	read -ra ds <<<"$debs"
	all_debs+=("${ds[@]}")
done
mkdir -p "$build/debs/bookworm" "$build/debs/trixie"
log "downloading ${#all_debs[@]} packages"
(cd "$build/debs/bookworm" && papt bookworm download "${all_debs[@]}" >&2) || die "apt-get download (bookworm)"
(cd "$build/debs/trixie" && papt trixie download "${second_debs[@]}" >&2) || die "apt-get download ${second_debs[*]} (trixie)"
debfile() { # debfile SUITE PACKAGE
	local f=("$build/debs/$1/$2"_*.deb)
	[[ ${#f[@]} == 1 && -f ${f[0]} ]] || die "no single .deb for $2 in $1"
	printf '%s\n' "${f[0]}"
}

# The conversion: Debian's egg-info/dist-info becomes a wheel's dist-info;
# Requires-Dist comes back from Depends, where dh_python3 moved it.
repack_py=$(
	cat <<'PY'
import base64, csv, hashlib, io, os, re, sys, sysconfig, zipfile
root, dist, debver, depends, outdir, wins, fixver = sys.argv[1:8]
norm = lambda n: re.sub(r"[-_.]+", "-", n).lower()
debmap = dict(x.split("=", 1) for x in os.environ["DEBMAP"].split())
sp = os.path.join(root, "usr/lib/python3/dist-packages")
def parse(path):
    text = open(path, encoding="utf-8").read()
    head, _, body = text.partition("\n\n")
    hs = []
    for line in head.split("\n"):
        if line[:1] in (" ", "\t"): hs[-1] += "\n" + line
        elif line: hs.append(line)
    return hs, body
def get(hs, key):
    return [h.split(":", 1)[1].strip() for h in hs if h.split(":", 1)[0].strip().lower() == key.lower()]
metas = []
for m in sorted(os.listdir(sp)):
    for f in ("PKG-INFO", "METADATA"):
        p = os.path.join(sp, m, f)
        if m.endswith((".egg-info", ".dist-info")) and os.path.isfile(p) and norm(get(parse(p)[0], "Name")[0]) == norm(dist):
            metas.append((m, p))
if len(metas) != 1: sys.exit(f"{dist}: want one metadata dir, found {metas}")
meta, mfile = metas[0]
hs, body = parse(mfile)
name, version = get(hs, "Name")[0], get(hs, "Version")[0]
up = re.sub(r"[+~].*", "", re.sub(r"-[^-]*$", "", re.sub(r"^\d+:", "", debver)))
if fixver and up != version:
    hs = [h if not h.lower().startswith("version:") else "Version: " + up for h in hs]
    version = up
if up != version: sys.exit(f"{dist}: metadata version {version} is not Debian's upstream {up}")
reqname = lambda r: norm(re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", r).group(1))
wins = {norm(w) for w in wins.split(",") if w}
# Upstream pins that Debian's pairing breaks give way to Debian's Depends.
hs = [h for h in hs if not (h.lower().startswith("requires-dist:") and ";" not in h and reqname(h.split(":", 1)[1]) in wins)]
new = []
rt = os.path.join(sp, meta, "requires.txt")
if not get(hs, "Requires-Dist") and os.path.isfile(rt):
    extra = marker = ""
    for line in open(rt, encoding="utf-8").read().splitlines():
        line = line.strip()
        if not line or line.startswith("#"): continue
        if line.startswith("["):
            extra, _, marker = line[1:-1].partition(":")
            if extra and extra not in get(hs, "Provides-Extra") + [n[16:] for n in new]:
                new.append("Provides-Extra: " + extra)
            continue
        req, _, own = line.partition(";")
        cl = [c.strip() for c in (own, marker) if c.strip()] + ([f'extra == "{extra}"'] if extra else [])
        new.append("Requires-Dist: " + req.strip() + ("; " + " and ".join(f"({c})" if len(cl) > 1 else c for c in cl) if cl else ""))
have = {reqname(r) for r in get(hs, "Requires-Dist") + [n[14:] for n in new if n.startswith("Requires-Dist:")]}
def pep440(op, v):
    v = re.sub(r"-[^-]*$", "", re.sub(r"^\d+:", "", v))
    if not op or not re.fullmatch(r"[0-9]+(\.[0-9]+)*", v): return ""
    return {">=": ">=", "<=": "<=", ">>": ">", "<<": "<", "=": "=="}[op] + v
for group in filter(None, (g.strip() for g in depends.split(","))):
    alts = [a.strip() for a in group.split("|")]
    m = re.match(r"([a-z0-9][a-z0-9+.-]+)(:\S+)?\s*(\(\s*(<<|<=|=|>=|>>)\s*([^)\s]+)\s*\))?", alts[0])
    d = debmap.get(m.group(1))
    if not d or norm(d) == norm(dist) or norm(d) in have: continue
    have.add(norm(d))
    req = d + pep440(m.group(4), m.group(5) or "")
    for a in alts[1:]:  # "X | python3 (>> 3.8)": X is needed only on older Pythons
        pm = re.match(r"python3(-supported-min)?\s*\(\s*(>>|>=)\s*([0-9.]+)\s*\)", a)
        if pm: req += f'; python_version {"<=" if pm.group(2) == ">>" else "<"} "{pm.group(3)}"'
    new.append("Requires-Dist: " + req)
metadata = "\n".join(hs + new) + "\n" + ("\n" + body if body else "")
files = {}
for dp, dns, fns in os.walk(sp):
    rel = os.path.relpath(dp, sp)
    dns[:] = sorted(x for x in dns if x != "__pycache__" and not (rel == "." and x == meta))
    for x in dns:
        if os.path.islink(os.path.join(dp, x)): sys.exit(f"{dist}: symlinked directory {x}")
    for fn in fns:
        p = os.path.join(dp, fn)
        if fn.endswith(".pyc"): continue
        for _ in range(20):  # Debian links bundled files (jquery) to other packages; ship the file
            if not os.path.islink(p): break
            t = os.readlink(p)
            p = os.path.normpath(os.path.join(root, t.lstrip("/")) if t.startswith("/") else os.path.join(os.path.dirname(p), t))
        if not p.startswith(root + "/") or not os.path.isfile(p): sys.exit(f"{dist}: {fn} links outside the packages given: {p}")
        files[os.path.normpath(os.path.join(rel, fn))] = (open(p, "rb").read(), os.stat(p).st_mode & 0o111 != 0)
sos = [f for f in files if f.endswith(".so")]
for f in sos:
    data = files[f][0]
    if data[:4] != b"\x7fELF" or data[18:20] != b"\x3e\x00": sys.exit(f"{dist}: {f} is not an x86-64 ELF")
    if not f.endswith(sysconfig.get_config_var("EXT_SUFFIX")): sys.exit(f"{dist}: {f} is not for this CPython")
py = "cp%d%d" % sys.version_info[:2]
tag = f"{py}-{py}-manylinux_2_36_x86_64" if sos else "py3-none-any"
esc = norm(name).replace("-", "_")
di = f"{esc}-{version}.dist-info"
files[di + "/METADATA"] = (metadata.encode(), False)
files[di + "/WHEEL"] = (f"Wheel-Version: 1.0\nGenerator: kiln bench/wheels.sh\nRoot-Is-Purelib: {str(not sos).lower()}\nTag: {tag}\n".encode(), False)
for extra in ("entry_points.txt", "top_level.txt"):
    p = os.path.join(sp, meta, extra)
    if os.path.isfile(p): files[f"{di}/{extra}"] = (open(p, "rb").read(), False)
order = sorted(f for f in files if not f.startswith(di + "/")) + sorted(f for f in files if f.startswith(di + "/"))
rec = io.StringIO()
w = csv.writer(rec, lineterminator="\n")
for f in order:
    h = base64.urlsafe_b64encode(hashlib.sha256(files[f][0]).digest()).rstrip(b"=").decode()
    w.writerow([f, "sha256=" + h, len(files[f][0])])
w.writerow([di + "/RECORD", "", ""])
files[di + "/RECORD"] = (rec.getvalue().encode(), False)
whl = os.path.join(outdir, f"{esc}-{version}-{tag}.whl")
with zipfile.ZipFile(whl, "w") as z:
    for f in order + [di + "/RECORD"]:
        zi = zipfile.ZipInfo(f, (1980, 1, 1, 0, 0, 0))
        zi.external_attr = (0o100755 if files[f][1] else 0o100644) << 16
        z.writestr(zi, files[f][0], zipfile.ZIP_DEFLATED, 9)
print(os.path.basename(whl))
PY
)

# repack NAME SUITE DEB... : one wheel from the given binary packages.
repack() {
	local name=$1 suite=$2 wins="" fixver="" root deb first
	shift 2
	root=$build/root/$suite-$name
	mkdir -p "$root"
	first=$(debfile "$suite" "$1")
	for deb in "$@"; do dpkg-deb -x "$(debfile "$suite" "$deb")" "$root"; done
	case $name in
	# Debian replaces the admin's bundled jquery with links into libjs-jquery.
	Django) dpkg-deb -x "$(debfile bookworm libjs-jquery)" "$root" ;;
	# fastapi 0.92 pins starlette<0.26 but Debian ships it with starlette
	# 0.26.1 (Depends: >= 0.25.0); keeping the pin would make the
	# wheelhouse inconsistent (pip check fails).
	fastapi) wins=starlette ;;
	# Its upstream sets the version at release time; Debian's build kept the
	# placeholder 0.0.dev0, which no requirement (uvicorn: >=0.6) accepts.
	watchgod) fixver=1 ;;
	esac
	"$PY" -c "$repack_py" "$root" "$name" "$(dpkg-deb -f "$first" Version)" \
		"$(dpkg-deb -f "$first" Depends)" "$build/wheels" "$wins" "$fixver" >&2 || die "repackaging $name from $*"
}
for d in "${dists[@]}"; do
	read -r name debs <<<"$d"
	read -ra ds <<<"$debs"
	repack "$name" bookworm "${ds[@]}"
done
for d in "${seconds[@]}"; do
	read -r n deb <<<"$d"
	repack "$n" trixie "$deb"
done
dpkg-deb -x "$(debfile bookworm python3-pip-whl)" "$build/root/pip"
cp "$build/root/pip"/usr/share/python-wheels/pip-*.whl "$build/wheels/" || die "pip wheel missing from python3-pip-whl"
rm -rf "$build/root"

w=$build/wheels
# wheelfile NAME: the file-name form of a distribution name.
wheelfile() { local n=${1,,}; printf '%s\n' "${n//-/_}"; }
: >"$w/second-version.txt"
olds=() news=()
for n in "${second_names[@]}"; do
	f_n=$(wheelfile "$n")
	versions=$(for f in "$w/$f_n"-*.whl; do f=${f##*/}; f=${f#"$f_n"-}; printf '%s\n' "${f%%-*}"; done | sort -V | tr '\n' ' ')
	read -r old new extra <<<"$versions"
	[[ -n $old && -n $new && -z ${extra:-} ]] || die "$n: want two versions, have: $versions"
	printf '%s %s %s\n' "$f_n" "$old" "$new" >>"$w/second-version.txt"
	olds+=("$f_n-$old") news+=("$f_n-$new")
done

# --- Checks: counts, zip and RECORD integrity, tags, then imports. ---
log "checking wheels"
expected=(pip)
for d in "${dists[@]}"; do expected+=("${d%% *}"); done
check_py=$(
	cat <<'PY'
import base64, csv, hashlib, io, re, sys, zipfile, glob, os
w, seconds, compiled, *expected = sys.argv[1:]
norm = lambda n: re.sub(r"[-_.]+", "_", n).lower()
bad = []
for name in expected:
    n = norm(name)
    got = [f for f in glob.glob(os.path.join(w, "*.whl")) if os.path.basename(f).split("-")[0].lower() == n]
    if len(got) != (2 if n in [norm(x) for x in seconds.split(",")] else 1): bad.append(f"{name}: {len(got)} wheels")
    for f in got:
        z = zipfile.ZipFile(f)
        if z.testzip(): bad.append(f"{f}: corrupt member")
        di = {m.split("/")[0] for m in z.namelist() if m.split("/")[0].endswith(".dist-info")}
        if len(di) != 1: bad.append(f"{f}: dist-info dirs {di}"); continue
        di = di.pop()
        tags = {l[5:].strip() for l in z.read(di + "/WHEEL").decode().splitlines() if l.startswith("Tag: ")}
        py, abi, plat = os.path.basename(f)[:-4].split("-")[-3:]
        if tags != {f"{p}-{a}-{q}" for p in py.split(".") for a in abi.split(".") for q in plat.split(".")}:
            bad.append(f"{f}: WHEEL tags {tags}")
        rec = {r[0]: r for r in csv.reader(io.StringIO(z.read(di + "/RECORD").decode()))}
        for m in z.namelist():
            if m.endswith("/") or m == di + "/RECORD": continue
            data = z.read(m)
            h = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            if m not in rec or rec[m][1] != h or rec[m][2] != str(len(data)): bad.append(f"{f}: RECORD wrong for {m}")
        if len(rec) != len([m for m in z.namelist() if not m.endswith("/")]): bad.append(f"{f}: RECORD lists missing files")
        sos = [m for m in z.namelist() if m.endswith(".so")]
        if n in compiled.split(","):
            if plat != "manylinux_2_36_x86_64" or not sos or any(z.read(s)[18:20] != b"\x3e\x00" for s in sos):
                bad.append(f"{f}: not an x86-64 manylinux_2_36 wheel with .so files")
        elif sos or plat != "any":
            bad.append(f"{f}: expected pure Python")
for b in bad: print("wheels.sh: FAILED:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
)
"$PY" -c "$check_py" "$w" "$(
	IFS=,
	echo "${second_names[*]}"
)" "$(
	IFS=,
	echo "${compiled[*]}"
)" "${expected[@]}" || die "wheel checks (see above)"

# The compiled modules need Debian's shared libraries (libpq5, libuv1, ...):
# install what their Depends name so the import check can load them here.
libs=()
for f in "$build/debs/bookworm/"*_amd64.deb; do
	while read -r dep; do
		[[ $dep == python3* || $dep == libc6 || -z $dep ]] || libs+=("$dep")
	done < <(dpkg-deb -f "$f" Depends | tr ',' '\n' | sed 's/[|(].*//; s/:any//; s/ //g')
done
((${#libs[@]} == 0)) || need_pkgs "${libs[@]}"

venv=$build/venv
"$PY" -m venv --without-pip "$venv" || die "python3 -m venv"
pip=("$venv/bin/python" "$(echo "$w"/pip-*.whl)/pip" --disable-pip-version-check --no-input)
export PIP_CONFIG_FILE=/dev/null
excl=()
for o in "${olds[@]}"; do excl+=(! -name "$o-*"); done
mapfile -t install < <(find "$w" -maxdepth 1 -name '*.whl' "${excl[@]}" | sort)
"${pip[@]}" install -q --no-index --no-deps "${install[@]}" >&2 || die "pip install of the wheelhouse"
imports="import django, psycopg2, whitenoise, gunicorn, gunicorn.util, fastapi, starlette, pydantic, uvicorn, httptools, uvloop, websockets, yaml, dotenv, anyio, sniffio, idna, h11, click, sqlparse, asgiref, pytz, pkg_resources, typing_extensions, watchgod
import psycopg2._psycopg, httptools.parser.parser, uvloop.loop
assert yaml.__with_libyaml__, 'PyYAML without its libyaml module'"
(cd / && "$venv/bin/python" -I -c "$imports") >&2 || die "imports in a venv of the wheelhouse (newest versions)"
"${pip[@]}" check >&2 || die "pip check: the wheelhouse's Requires-Dist are inconsistent"
# The older versions must work too: they are what the benchmark starts from.
for o in "${olds[@]}"; do
	"${pip[@]}" install -q --no-index --no-deps --force-reinstall "$w/$o-"*.whl >&2 || die "pip install $o"
done
(cd / && "$venv/bin/python" -I -c "$imports") >&2 || die "imports with ${olds[*]}"
"${pip[@]}" check >&2 || die "pip check with ${olds[*]}"

# Publish: the stamp goes in last, and the rename makes OUTDIR whole or absent.
printf '%s\n' "$RECIPE" >"$w/.kiln-bench-wheels"
[[ ! -e $out ]] || mv "$out" "$build/previous"
mv "$w" "$out"
log "$(find "$out" -maxdepth 1 -name '*.whl' | wc -l) wheels in $out"
printf '%s\n' "$out"
