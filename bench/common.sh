# Shared by the scripts in bench/ (sourced, not run): installing what a fresh machine of
# the project's kind lacks, and asking whether PostgreSQL answers.

# as_root CMD...: runs CMD as root (directly when we are root, else through sudo).
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# apt_install PKG...: installs Debian packages with apt-get, quietly (its output on stderr).
apt_install() {
    echo "installing $* with apt-get" >&2
    as_root apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >&2
}

# pg_answers URL: whether PostgreSQL at URL answers a query.
pg_answers() {
    psql "$1" -Atqc 'select 1' >/dev/null 2>&1
}
