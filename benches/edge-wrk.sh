#!/usr/bin/env bash
# The edge's cost measured the way an operator runs it: `accord api`, `accord edge` and nginx
# (Debian's package, `nginx.conf.in`, as `accord-edge-bench` gives it) each in its own
# process, all driven by Debian's `wrk` over loopback. Prints one `wrk --latency` summary per
# target, connection count and round, with the CPU and context switches per request of the
# process measured.
#
#   apt-get install wrk nginx
#   cargo build --release --bin accord
#   benches/edge-wrk.sh [connections...]          # default: 1 32
#
# Environment: ACCORD (the binary; default $CARGO_TARGET_DIR/release/accord), SECONDS_EACH (5),
# ROUNDS (2), WORKERS (nginx workers; default the CPU count), EDGE_THREADS (`edge.threads`;
# default 0, one per CPU), PERF (a file: `perf record -g`
# of the edge during its first 32-connection round, written there), KEEP (leave the work
# directory in place), TLS (1: also measure HTTPS through each proxy — the edge's rustls
# listener against nginx's OpenSSL one, the same self-signed ECDSA P-256 certificate, made
# here with `openssl`; wrk keeps its connections, so this is TLS records, not handshakes),
# HYPER (1: also measure `accord-hyper-proxy`, a bare hyper reverse proxy — build it with
# `cargo build --release -p accord-bench --bin accord-hyper-proxy` — as the cost of Rust's
# HTTP stack without Pingora), PCORE (1: also measure `accord-pingora-core-proxy`, the same
# bare proxy on `pingora-core`'s server, HTTP/1 sessions and pool without `pingora-proxy`'s
# request loop — `cargo build --release -p accord-bench --bin accord-pingora-core-proxy`), PIN (1: the API and wrk run on CPU 0 and each proxy on CPU 1,
# with one edge thread and one nginx worker unless EDGE_THREADS/WORKERS say otherwise — the
# proxy's cost with CPU of its own, as when it runs on its own machine or cores, instead of
# taken from the backend's; direct then runs on CPU 0 alone), COUNT (1: instead of timing,
# run the API and every proxy under `valgrind --tool=callgrind` and print the user-space
# instructions each spends per request over SECONDS_EACH of `wrk -c8` — a count that does not
# depend on the machine's speed or load; nginx then runs as one process, `master_process off`),
# HEADERS (bot: every request also carries the header fields discord.py's aiohttp session sends —
# User-Agent, Authorization, Accept, Accept-Encoding — instead of wrk's Host alone; the route
# reads none of them, so the API's own work does not change).
set -euo pipefail

target="${CARGO_TARGET_DIR:-$HOME/.cache/accord/target}"
accord="${ACCORD:-$target/release/accord}"
seconds="${SECONDS_EACH:-5}"
rounds="${ROUNDS:-2}"
# PIN=1: `on_api` before the API's and wrk's commands, `on_proxy` before each proxy's.
on_api=() on_proxy=() on_wrk=()
if [ -n "${PIN:-}" ]; then
  on_api=(taskset -c 0) on_proxy=(taskset -c 1) on_wrk=(taskset -c 0)
  : "${WORKERS:=1}" "${EDGE_THREADS:=1}"
fi
workers="${WORKERS:-$(nproc)}"
conns=("$@")
wrk_headers=()
case "${HEADERS:-}" in
  "") ;;
  bot)
    wrk_headers=(
      -H "User-Agent: DiscordBot (https://github.com/Rapptz/discord.py 2.7.1) Python/3.11 aiohttp/3.13"
      -H "Authorization: Bot MTQ0NTcwMDAwMDAwMDAwMDAwMA.aZ0k1A.edge-wrk-not-a-real-token-0000000000"
      -H "Accept: */*"
      -H "Accept-Encoding: gzip, deflate"
    )
    ;;
  *) echo "HEADERS is empty or bot" >&2; exit 1 ;;
esac
[ ${#conns[@]} -gt 0 ] || conns=(1 32)
for tool in wrk nginx "$accord"; do
  command -v "$tool" >/dev/null || { echo "missing $tool (see the header of $0)" >&2; exit 1; }
done

dir="$(mktemp -d /tmp/accord-edge-wrk.XXXXXX)"
if [ -n "${COUNT:-}" ]; then
  command -v valgrind >/dev/null || { echo "COUNT=1 needs valgrind" >&2; exit 1; }
  # Each process's counts go to callgrind.<pid>.<n>, one file per dump.
  callgrind=(valgrind --tool=callgrind "--callgrind-out-file=$dir/callgrind.%p")
  on_api+=("${callgrind[@]}") on_proxy+=("${callgrind[@]}")
  : "${WORKERS:=1}" "${EDGE_THREADS:=1}"
fi
api_port=3101 edge_port=3100 admin_port=3110 nginx_port=3120 edge_tls_port=3143 nginx_tls_port=3144 hyper_port=3130 pcore_port=3131
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$dir"
}
trap cleanup EXIT

# One config for both Accord processes: the API on SQLite with its rate limits off; the edge
# with one route to it and its throttle, blocking and access log off (nginx has none of them).
tls_edge="" tls_nginx=""
if [ -n "${TLS:-}" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
  tls_edge="[edge.tls]
enabled = true
listen = \"127.0.0.1:$edge_tls_port\"
default = { cert_path = \"$dir/cert.pem\", key_path = \"$dir/key.pem\" }"
  tls_nginx="listen 127.0.0.1:$nginx_tls_port ssl; ssl_certificate $dir/cert.pem; ssl_certificate_key $dir/key.pem;"
fi

cat >"$dir/accord.toml" <<EOF
data_dir = "$dir/data"
[instance]
name = "edge-wrk"
[api]
listen = "127.0.0.1:$api_port"
[database]
url = "sqlite://$dir/accord.db?mode=rwc"
[rate_limits]
enabled = false
[log]
filter = "warn"
[edge]
listen = "127.0.0.1:$edge_port"
threads = ${EDGE_THREADS:-0}
admin_listen = "127.0.0.1:$admin_port"
accord_routes = false
routes = [{ path_prefix = "/", upstream = "api" }]
access_log = "off"
upgrade_sock = "$dir/upgrade.sock"
[edge.upstreams]
api = ["127.0.0.1:$api_port"]
[edge.blocking]
enabled = false
[edge.throttle]
enabled = false
$tls_edge
EOF

mkdir -p "$dir/nginx"
sed -e "s|@WORKERS@|$workers|; s|@DIR@|$dir/nginx|g; s|@ACCESS_LOG@|access_log off;|" \
  -e "s|@TLS@|$tls_nginx|" \
  -e "s|@API@|127.0.0.1:$api_port|; s|@PORT@|$nginx_port|" \
  "$(dirname "$0")/nginx.conf.in" >"$dir/nginx.conf"
[ -z "${COUNT:-}" ] || sed -i '1i master_process off;' "$dir/nginx.conf"

wait_port() {
  for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on 127.0.0.1:$1 ($2); see $dir" >&2
  exit 1
}

# A process left on one of the ports would be measured instead of the one started here.
for port in "$api_port" "$edge_port" "$admin_port" "$nginx_port" "$edge_tls_port" "$nginx_tls_port" "$hyper_port" "$pcore_port"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "127.0.0.1:$port is already in use; stop what listens there first" >&2
    exit 1
  fi
done

"${on_api[@]}" "$accord" --config "$dir/accord.toml" api >"$dir/api.log" 2>&1 &
pids+=($!)
wait_port "$api_port" "accord api"
"${on_proxy[@]}" "$accord" --config "$dir/accord.toml" edge >"$dir/edge.log" 2>&1 &
edge_pid=$!
pids+=("$edge_pid")
wait_port "$edge_port" "accord edge"
"${on_proxy[@]}" nginx -c "$dir/nginx.conf" -p "$dir/nginx" >"$dir/nginx.log" 2>&1 &
nginx_pid=$!
pids+=("$nginx_pid")
wait_port "$nginx_port" nginx
targets=(direct:$api_port edge:$edge_port nginx:$nginx_port)
if [ -n "${TLS:-}" ]; then
  wait_port "$edge_tls_port" "accord edge (TLS)"
  wait_port "$nginx_tls_port" "nginx (TLS)"
  targets+=(edge-tls:$edge_tls_port nginx-tls:$nginx_tls_port)
fi
hyper_pid=""
if [ -n "${HYPER:-}" ]; then
  "${on_proxy[@]}" "${HYPER_PROXY:-$target/release/accord-hyper-proxy}" "127.0.0.1:$hyper_port" "127.0.0.1:$api_port" \
    >"$dir/hyper.log" 2>&1 &
  hyper_pid=$!
  pids+=("$hyper_pid")
  wait_port "$hyper_port" accord-hyper-proxy
  targets+=(hyper:$hyper_port)
fi
pcore_pid=""
if [ -n "${PCORE:-}" ]; then
  EDGE_THREADS="${EDGE_THREADS:-0}" "${on_proxy[@]}" "${PCORE_PROXY:-$target/release/accord-pingora-core-proxy}" \
    "127.0.0.1:$pcore_port" "127.0.0.1:$api_port" >"$dir/pcore.log" 2>&1 &
  pcore_pid=$!
  pids+=("$pcore_pid")
  wait_port "$pcore_port" accord-pingora-core-proxy
  targets+=(pcore:$pcore_port)
fi
api_pid="${pids[0]}"
nginx_workers="$(pgrep -P "$nginx_pid" | tr '\n' ' ' || true)"

# User and system CPU ticks used so far by the processes given.
ticks() { for p in "$@"; do awk '{print $14, $15}' "/proc/$p/stat"; done | awk '{u+=$1; s+=$2} END {print u+0, s+0}'; }
tick_us=$((1000000 / $(getconf CLK_TCK)))
# Context switches so far by every thread of the processes given: voluntary (a thread blocked:
# it went to sleep waiting for work) and involuntary (the scheduler took its CPU).
switches() {
  for p in "$@"; do cat /proc/"$p"/task/*/status 2>/dev/null; done |
    awk '/^voluntary_ctxt_switches/ {v+=$2} /^nonvoluntary_ctxt_switches/ {n+=$2} END {print v+0, n+0}'
}

url() {
  case "$1" in
    "$edge_tls_port" | "$nginx_tls_port") echo "https://127.0.0.1:$1/api/v10/gateway" ;;
    *) echo "http://127.0.0.1:$1/api/v10/gateway" ;;
  esac
}
# Every target answers before the runs start (and warms up its connections).
for target in "${targets[@]}"; do
  port="${target##*:}"
  curl -fsSk "$(url "$port")" >/dev/null
  wrk "${wrk_headers[@]}" -t1 -c8 -d1s "$(url "$port")" >/dev/null
done

# COUNT=1: each measured process's instructions over one run of wrk, from callgrind's counts
# zeroed before and dumped after it.
if [ -n "${COUNT:-}" ]; then
  for target in "${targets[@]}"; do
    name="${target%%:*}" port="${target##*:}"
    case "$name" in
      direct) pid="$api_pid" ;;
      edge | edge-tls) pid="$edge_pid" ;;
      nginx | nginx-tls) pid="$nginx_pid" ;;
      hyper) pid="$hyper_pid" ;;
      pcore) pid="$pcore_pid" ;;
    esac
    callgrind_control -z "$pid" >/dev/null 2>&1
    n="$("${on_wrk[@]}" wrk "${wrk_headers[@]}" -t1 -c8 -d"${seconds}s" "$(url "$port")" | awk '/requests in/ {print $1}')"
    callgrind_control -d "$pid" >/dev/null 2>&1
    sleep 1
    dump="$(ls -t "$dir/callgrind.$pid".* | head -1)"
    awk -v n="$n" -v who="$name" '/^totals:/ {printf "%s: %d requests, %.1f thousand instructions per request (%s)\n", who, n, $2 / n / 1000, who == "direct" ? "the API" : "the proxy"}' "$dump"
  done
  exit 0
fi

echo "uptime: $(uptime)${PIN:+; pinned: API and wrk on CPU 0, proxies on CPU 1}"
profiled=""
for round in $(seq 1 "$rounds"); do
  for c in "${conns[@]}"; do
    for target in "${targets[@]}"; do
      name="${target%%:*}" port="${target##*:}"
      perf_pid=""
      if [ -n "${PERF:-}" ] && [ -z "$profiled" ] && [ "$name" = edge ] && [ "$c" -ge 32 ]; then
        perf record -g -o "$PERF" -p "$edge_pid" -- sleep "$seconds" >/dev/null 2>&1 &
        perf_pid=$!
        profiled=1
      fi
      # The CPU per request of the process measured: the API when direct, the proxy's own
      # (the API's per request is the same behind either proxy) otherwise.
      case "$name" in
        direct) cpu_pids=("$api_pid") ;;
        edge | edge-tls) cpu_pids=("$edge_pid") ;;
        nginx | nginx-tls) cpu_pids=($nginx_workers) ;;
        hyper) cpu_pids=("$hyper_pid") ;;
        pcore) cpu_pids=("$pcore_pid") ;;
      esac
      echo "== round $round, $c connections, $name"
      read -r u0 s0 < <(ticks "${cpu_pids[@]}")
      read -r v0 i0 < <(switches "${cpu_pids[@]}")
      out="$("${on_wrk[@]}" wrk "${wrk_headers[@]}" -t1 -c"$c" -d"${seconds}s" --latency "$(url "$port")")"
      read -r u1 s1 < <(ticks "${cpu_pids[@]}")
      read -r v1 i1 < <(switches "${cpu_pids[@]}")
      echo "$out" | grep -E 'Requests/sec|^ +(50|99)%|Latency  '
      n="$(echo "$out" | awk '/requests in/ {print $1}')"
      awk -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v t="$tick_us" -v n="$n" -v who="$name" \
        -v v=$((v1 - v0)) -v i=$((i1 - i0)) \
        'BEGIN {printf "  CPU per request (%s): user %.1f µs, system %.1f µs; context switches per request: %.2f voluntary, %.2f involuntary\n", who == "direct" ? "API" : who, u * t / n, s * t / n, v / n, i / n}'
      [ -z "$perf_pid" ] || wait "$perf_pid" || true
    done
  done
done
