#!/bin/bash
# Drives the HTTP/1.1 example over bash's /dev/tcp: two pipelined keep-alive requests (a GET and a
# POST with a body) on one connection, then one with "Connection: close"; checks the answers.
set -u
server=$1
out=$(mktemp -d)
trap 'kill $pid 2>/dev/null; rm -rf "$out"' EXIT
"$server" 0 > "$out/server.txt" &
pid=$!
for _ in $(seq 1 100); do
  grep -q "Serving on" "$out/server.txt" 2>/dev/null && break
  sleep 0.05
done
port=$(sed -n "s/^Serving on ('127.0.0.1', \([0-9]*\))$/\1/p" "$out/server.txt")
[ -n "$port" ] || { echo "server did not start"; exit 1; }
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nweftsGET / HTTP/1.1\r\nConnection: close\r\n\r\n' >&3
got=$(timeout 10 cat <&3 | tr -d '\r')
exec 3>&-
expected=$'HTTP/1.1 200 OK\nContent-Length: 13\nContent-Type: text/plain\n\nHello, World!HTTP/1.1 200 OK\nContent-Length: 5\nContent-Type: text/plain\n\nweftsHTTP/1.1 200 OK\nContent-Length: 13\nContent-Type: text/plain\nConnection: close\n\nHello, World!'
[ "$got" == "$expected" ] || { echo "got:"; echo "$got"; exit 1; }
