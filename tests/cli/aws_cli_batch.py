"""Runs several `aws` command lines in one Python process.

The AWS CLI v1 spends most of a run importing itself; the parity tests run
dozens of commands, so they go through this driver: the same awscli code
(`awscli.clidriver.create_clidriver().main(argv)`, what the `aws` script
calls), a fresh driver per command, stdout and stderr captured per command.

stdin: a JSON list of argument lists (without the leading "aws").
stdout: a JSON list of {"rc": int, "stdout": str, "stderr": str}.
"""
import contextlib
import io
import json
import sys

from awscli.clidriver import create_clidriver


def run(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = create_clidriver().main(argv)
        except SystemExit as e:  # argparse errors exit directly
            rc = e.code if isinstance(e.code, int) else 1
    return {"rc": rc, "stdout": out.getvalue(), "stderr": err.getvalue()}


def main():
    commands = json.load(sys.stdin)
    results = [run(argv) for argv in commands]
    json.dump(results, sys.__stdout__)


if __name__ == "__main__":
    main()
