# Sourced by the test suites: `apt_need PKG…` installs the Debian packages given (the caller
# lists only what is missing) on a bare root machine, or stops with the command to run.
# Uses the caller's `say` for its one line of output.
apt_need() {
  [ $# -gt 0 ] || return 0
  if [ "$(id -u)" != 0 ]; then
    echo "missing $*: install them (apt-get install $*) or run as root" >&2
    exit 1
  fi
  say "apt-get install $*"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# `need_node_and_chromium`: installs what a browser suite needs (Node, npm, Chromium or
# $DCS_CHROMIUM) and this machine lacks.
need_node_and_chromium() {
  local missing=()
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  [ -x "${DCS_CHROMIUM:-/usr/bin/chromium}" ] || missing+=(chromium)
  apt_need ${missing[@]+"${missing[@]}"}
}
