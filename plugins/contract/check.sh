#!/bin/sh
# Compiles oms_policy_v1.h so that its _Static_asserts prove the documented byte layout:
# as C11 on this machine, as 32-bit C (-m32: int64_t is only 4-aligned on i386, so the
# explicit padding fields are what keep the offsets), as C++11 when g++ is present, and for
# wasm32 — the real target — when clang is present. Fails on the first error.
set -eu
cd "$(dirname "$0")"
header=oms_policy_v1.h
warn="-Wall -Wextra -Wpedantic -Werror"

gcc -fsyntax-only -std=c11 $warn "$header"
echo "ok: gcc -std=c11"

# -ffreestanding takes <stdint.h> from the compiler, so no 32-bit libc headers are needed.
if echo 'int x;' | gcc -m32 -ffreestanding -fsyntax-only -x c - 2>/dev/null; then
    gcc -m32 -ffreestanding -fsyntax-only -std=c11 $warn "$header"
    echo "ok: gcc -m32 -std=c11"
else
    echo "skipped: gcc -m32 (not supported here)"
fi

if command -v g++ >/dev/null 2>&1; then
    g++ -fsyntax-only -std=c++11 $warn -x c++ "$header"
    echo "ok: g++ -std=c++11"
fi

if command -v clang >/dev/null 2>&1 &&
    echo 'int x;' | clang --target=wasm32 -ffreestanding -fsyntax-only -x c - 2>/dev/null; then
    clang --target=wasm32 -ffreestanding -fsyntax-only -std=c11 $warn "$header"
    echo "ok: clang --target=wasm32 -std=c11"
else
    echo "skipped: clang --target=wasm32 (no clang with the WebAssembly target)"
fi
