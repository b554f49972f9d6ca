#!/bin/bash
# Runs asyncio's TCP echo server and client examples against each other on a free port and
# compares what each prints with CPython's output for the same programs (the server's peer
# port varies: it is masked).
set -u
server=$1 client=$2
out=$(mktemp -d)
trap 'kill $pid 2>/dev/null; rm -rf "$out"' EXIT
"$server" 0 > "$out/server.txt" &
pid=$!
for _ in $(seq 1 100); do
  grep -q "Serving on" "$out/server.txt" 2>/dev/null && break
  sleep 0.05
done
port=$(sed -n "s/^Serving on ('127.0.0.1', \([0-9]*\))$/\1/p" "$out/server.txt")
[ -n "$port" ] || { echo "server did not start"; cat "$out/server.txt"; exit 1; }
"$client" "$port" > "$out/client.txt" || exit 1
for _ in $(seq 1 100); do
  grep -q "Close the connection" "$out/server.txt" && break
  sleep 0.05
done
expected_client=$'Send: \'Hello World!\'\nReceived: \'Hello World!\'\nClose the connection'
expected_server=$'Serving on (\'127.0.0.1\', PORT)\nReceived \'Hello World!\' from (\'127.0.0.1\', PEER)\nSend: \'Hello World!\'\nClose the connection'
got_client=$(cat "$out/client.txt")
got_server=$(sed -e "s/('127.0.0.1', $port)/('127.0.0.1', PORT)/" \
                 -e "s/from ('127.0.0.1', [0-9]*)/from ('127.0.0.1', PEER)/" "$out/server.txt")
status=0
[ "$got_client" == "$expected_client" ] || { echo "client printed:"; echo "$got_client"; status=1; }
[ "$got_server" == "$expected_server" ] || { echo "server printed:"; echo "$got_server"; status=1; }
exit $status
