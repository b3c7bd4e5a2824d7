#!/usr/bin/env bash
# Ops suite: the files in ops/ are valid and name only what exists.
#   - the Grafana dashboards (ops/grafana/*.json) parse, and every metric a panel's PromQL
#     names is one the daemons export (a metrics::counter!/gauge!/histogram! in daemons/*/src)
#     or one Prometheus makes itself (up);
#   - `promtool check config ops/prometheus/prometheus.yml` passes;
#   - `nginx -t` accepts ops/nginx/dcs.conf, with a throwaway self-signed certificate.
# Installs Debian's prometheus (for promtool), nginx and openssl when run as root and missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
say() { printf '[ops suite] %s\n' "$*"; }

need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v python3 >/dev/null 2>&1 || need+=(python3)
if [ "${#need[@]}" -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "missing: ${need[*]} (apt-get install ${need[*]})" >&2; exit 1; }
  say "apt-get install ${need[*]}"
  apt-get update -qq
  # policy-rc.d or not: the packages' services are not wanted running; stop them if started.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  for s in prometheus nginx; do
    case " ${need[*]} " in *" $s "*) service "$s" stop >/dev/null 2>&1 || true ;; esac
  done
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

say "Grafana dashboards: JSON, and the metrics their panels name"
for f in ops/grafana/*.json; do
  python3 -m json.tool "$f" >/dev/null
done
python3 - ops/grafana/*.json <<'PY'
import json, re, subprocess, sys

# Every metric name the daemons register (not their tests: those are fixtures).
src = subprocess.run(
    ["grep", "-rhoE", r"metrics::(counter|gauge|histogram)!\(\s*\"[a-zA-Z_:][a-zA-Z0-9_:]*\"",
     "daemons", "--include=*.rs", "--exclude-dir=tests"],
    capture_output=True, text=True, check=True).stdout
exported = {}
for m in re.finditer(r"metrics::(counter|gauge|histogram)!\(\s*\"([^\"]+)\"", src):
    exported[m.group(2)] = m.group(1)
# A macro call whose name is on the next line (rustfmt): catch those too.
multi = subprocess.run(["grep", "-rhA1", "-E", r"metrics::(counter|gauge|histogram)!\($",
                        "daemons", "--include=*.rs", "--exclude-dir=tests"],
                       capture_output=True, text=True).stdout
for m in re.finditer(r"metrics::(counter|gauge|histogram)!\(\s*\n\s*\"([^\"]+)\"", multi):
    exported[m.group(2)] = m.group(1)
assert exported, "found no metrics in daemons/: has the grep pattern gone stale?"
FROM_PROMETHEUS = {"up"}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
            "unless", "offset", "inf", "nan"}

def metric_names(expr):
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)          # strings
    e = re.sub(r"\{[^}]*\}", "", e)                         # label matchers
    e = re.sub(r"\[[^\]]*\]", "", e)                        # range selectors
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    names = []
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", e):
        word, rest = m.group(0), e[m.end():].lstrip()
        if rest.startswith("(") or word.lower() in KEYWORDS or word.startswith("$"):
            continue
        if e[max(0, m.start() - 1)] == "$":
            continue
        names.append(word)
    return names

def known(name):
    if name in FROM_PROMETHEUS or name in exported:
        return True
    for suffix, kinds in (("_bucket", {"histogram"}), ("_sum", {"histogram"}), ("_count", {"histogram"})):
        if name.endswith(suffix) and exported.get(name[: -len(suffix)]) in kinds:
            return True
    return False

bad, count = [], 0
for path in sys.argv[1:]:
    d = json.load(open(path))
    assert d.get("schemaVersion", 0) >= 36, f"{path}: schemaVersion {d.get('schemaVersion')} < 36"
    names = [v["name"] for v in d.get("templating", {}).get("list", [])]
    assert "DS_PROMETHEUS" in names, f"{path}: no DS_PROMETHEUS datasource variable"
    panels = list(d["panels"])
    for p in d["panels"]:
        panels += p.get("panels", [])
    exprs = [(p.get("title"), t["expr"]) for p in panels for t in p.get("targets", [])]
    exprs += [("variable " + v["name"], v.get("definition", ""))
              for v in d["templating"]["list"] if v.get("type") == "query"]
    for title, expr in exprs:
        for part in re.findall(r"label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)", expr) or [expr]:
            for name in metric_names(part):
                count += 1
                if not known(name):
                    bad.append(f"{path}: {title}: {name} (in {expr})")
    for p in panels:
        if p.get("type") != "row":
            ds = p.get("datasource", {})
            if ds.get("uid") != "${DS_PROMETHEUS}":
                bad.append(f"{path}: {p.get('title')}: datasource is not ${{DS_PROMETHEUS}}")
if bad:
    print("panels name metrics no daemon exports:\n  " + "\n  ".join(bad), file=sys.stderr)
    sys.exit(1)
print(f"  {count} metric references in {len(sys.argv) - 1} dashboards, all exported "
      f"({len(exported)} metrics in daemons/)")
PY

say "promtool check config ops/prometheus/prometheus.yml"
promtool check config ops/prometheus/prometheus.yml

say "nginx -t on ops/nginx/dcs.conf (self-signed certificate in a temporary directory)"
tmp=$(mktemp -d /tmp/dcs-ops-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
for name in pos admin; do
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=$name.dcs.test" \
    -keyout "$tmp/$name.key" -out "$tmp/$name.crt" 2>/dev/null
done
sed "s|/etc/ssl/dcs/|$tmp/|g" ops/nginx/dcs.conf >"$tmp/dcs.conf"
. scripts/lib/nginx-main.sh
nginx_main "$tmp" "$tmp/dcs.conf"
"$nginx_bin" -t -q -p "$tmp" -c "$tmp/nginx.conf"
grep -q 'proxy_http_version 1.1' ops/nginx/dcs.conf
grep -q 'proxy_buffering off' ops/nginx/dcs.conf
say "ok"
