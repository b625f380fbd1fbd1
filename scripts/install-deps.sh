#!/bin/sh
# Installs the Debian 12 packages libnna needs to build, test and benchmark.
# Uses sudo when not root. Safe to run again.
set -e
PKGS="build-essential autoconf automake libtool pkg-config
      libcurl4-openssl-dev libev-dev libuv1-dev libcjson-dev check
      libmicrohttpd-dev libhiredis-dev curl valgrind
      redis-server nghttp2-proxy openssl clang libclang-rt-14-dev
      groff-base"
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq $PKGS >/dev/null
