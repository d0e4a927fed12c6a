#!/bin/sh
# Prints a greeting for the name given (default: world); --upper prints it in upper case.
upper=no
if [ "$1" = "--upper" ]; then
    upper=yes
    shift
fi
name="${1:-world}"
if [ "$upper" = yes ]; then
    echo "Hello, $name!" | tr '[:lower:]' '[:upper:]'
else
    echo "Hello, $name!"
fi
