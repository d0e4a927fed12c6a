#!/bin/sh
# The visible tests: exit 1 on the first failure.
fail() { echo "FAIL: $1"; exit 1; }
[ "$(sh bin/greet.sh Ada)" = "Hello, Ada!" ] || fail "greet Ada"
[ "$(sh bin/greet.sh)" = "Hello, world!" ] || fail "greet default"
echo "ok"
