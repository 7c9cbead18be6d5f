#!/usr/bin/env bash
# deploy/ and the shell scripts pass scripts/lint-deploy.sh (systemd
# units, YAML, ShellCheck, Dockerfile); skipped (77) without the tools.
: "${DF_SOURCE:?project source directory}"
exec bash "$DF_SOURCE/scripts/lint-deploy.sh"
