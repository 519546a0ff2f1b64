# shellcheck shell=bash
# Shared by the tests of deploy/ (sourced, bash): a work directory and cleanups that run on
# any exit, free ports, polling with a deadline, nginx app servers and a fulcrum config.
# Usage: source lib.sh FULCRUM_BINARY SOURCE_DIR

set -euo pipefail

fulcrum=$1
source_dir=$2
[[ -x $fulcrum ]] || { echo "FAIL: no fulcrum binary at $fulcrum" >&2; exit 1; }

work=$(mktemp -d /tmp/fulcrum-deploy-XXXXXX)
cleanups=()
run_cleanups() {
    local i
    for ((i = ${#cleanups[@]} - 1; i >= 0; i--)); do
        eval "${cleanups[i]}" || true
    done
    rm -rf "$work"
}
trap run_cleanups EXIT
# on_exit COMMAND: run COMMAND when the test ends, pass or fail, the latest first.
on_exit() { cleanups+=("$1"); }

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
pass() { echo "ok: $*"; }

# eventually SECONDS COMMAND...: runs COMMAND every 0.1 s until it succeeds; fails once
# SECONDS have passed.
eventually() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_nginx NAME [NETNS]: an app server on 127.0.0.1 that answers "NAME", on /slow after
# 30 s, on any path ending in /pause after 0.2 s, and 503 on any path ending in /fail. Sets
# nginx_port and nginx_pid; stopped when the test ends.
start_nginx() {
    local name=$1 netns=${2:-} dir=$work/nginx-$1
    local exec=()
    [[ -z $netns ]] || exec=(ip netns exec "$netns")
    mkdir -p "$dir"
    nginx_port=$(free_port)
    cat >"$dir/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $dir;
    proxy_temp_path $dir;
    fastcgi_temp_path $dir;
    uwsgi_temp_path $dir;
    scgi_temp_path $dir;
    server {
        listen 127.0.0.1:$nginx_port;
        location / { return 200 "$name\n"; }
        location = /slow { echo_sleep 30; echo "$name slow"; }
        location ~ /fail\$ { return 503 "$name failing\n"; }
        location ~ /pause\$ { echo_sleep 0.2; echo "$name paused"; }
    }
}
EOF
    "${exec[@]}" nginx -c "$dir/nginx.conf" -p "$dir" </dev/null >"$dir/out.log" 2>&1 &
    nginx_pid=$!
    on_exit "kill $nginx_pid 2>/dev/null; wait $nginx_pid 2>/dev/null"
    eventually 10 "${exec[@]}" curl -sf -o /dev/null "http://127.0.0.1:$nginx_port/" ||
        fail "nginx $name did not start: $(cat "$dir/error.log")"
}

# fulcrum_config FILE ADMIN_PORT SERVER_PORT...: one frontend on 127.0.0.1 (a port the kernel
# picks), the admin listener on ADMIN_PORT, servers HTTP-checked every 200 ms.
fulcrum_config() {
    local file=$1 admin=$2 i=0 port
    shift 2
    {
        echo "global: {threads: 1, shutdown_grace: ${shutdown_grace:-5s}}"
        echo "admin: {bind: 127.0.0.1:$admin}"
        echo "frontends:"
        echo "  - {name: http, bind: 127.0.0.1:0, default_backend: app_pool}"
        echo "backends:"
        echo "  - name: app_pool"
        echo "    health_check: {type: http, interval: 200ms, timeout: 100ms, rise: 2, fall: 2}"
        echo "    servers:"
        for port in "$@"; do
            i=$((i + 1))
            echo "      - {name: app-$i, address: 127.0.0.1:$port}"
        done
    } >"$file"
}
