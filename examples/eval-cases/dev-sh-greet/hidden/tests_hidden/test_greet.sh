#!/bin/sh
fail() { echo "FAIL: $1"; exit 1; }
[ "$(sh bin/greet.sh Ada)" = "Hello, Ada!" ] || fail "greet Ada"
[ "$(sh bin/greet.sh --upper Ada)" = "HELLO, ADA!" ] || fail "--upper Ada"
[ "$(sh bin/greet.sh --upper)" = "HELLO, WORLD!" ] || fail "--upper default"
[ "$(sh bin/greet.sh)" = "Hello, world!" ] || fail "default"
echo "ok"
