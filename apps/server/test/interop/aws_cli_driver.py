"""The AWS CLI (v1) kept in one process: each stdin line is the argv of one `aws` command, run
through awscli.clidriver exactly as the `aws` entry point runs it (a fresh driver per command), and
answered with one JSON line {rc, stdout, stderr}. Starting `aws` costs about 0.6 s per command on
a small machine; this way a whole key lifecycle through the CLI takes a second or two. The jest
test still runs the real `aws` executable once, so the installed entry point is covered too."""
import contextlib
import io
import json
import sys

from awscli.clidriver import create_clidriver

for line in sys.stdin:
    argv = json.loads(line)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = create_clidriver().main(argv)
        except SystemExit as e:  # argument errors exit like the real command
            rc = e.code if isinstance(e.code, int) else 255
    sys.stdout.write(json.dumps({"rc": rc, "stdout": out.getvalue(), "stderr": err.getvalue()}) + "\n")
    sys.stdout.flush()
