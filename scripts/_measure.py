"""Runs one command with a file on stdin and prints its wall time, CPU time and
peak memory as JSON. Python's getrusage(RUSAGE_CHILDREN) gives microsecond CPU
times and the child's peak RSS, which neither Deno nor GNU time (10 ms steps) do.

Usage: python3 scripts/_measure.py STDIN_FILE COMMAND [ARG...]
"""
import json
import resource
import subprocess
import sys
import time


def main():
    stdin_path, command = sys.argv[1], sys.argv[2:]
    # A pyenv shim runs helpers before it execs Python; their CPU time is already in RUSAGE_CHILDREN.
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(stdin_path, "rb") as stdin:
        start = time.perf_counter()
        completed = subprocess.run(command, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({
        "code": completed.returncode,
        "wall_ms": wall * 1000,
        "cpu_ms": (usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime) * 1000,
        "peak_kib": usage.ru_maxrss,
    }))


if __name__ == "__main__":
    main()
