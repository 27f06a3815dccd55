"""Every exit status of ``deployguide``, in one place.

Scripts and CI jobs branch on these numbers, so they never change; each command's
``--help`` says what its own ones mean. The same number can mean different things to
different commands (1 is a refusal for ``bump``, findings for ``lint``, a legitimate
failure for ``diagnose``): each meaning has its own name.
"""

from __future__ import annotations

from typing import Final

#: Success: the command did what was asked (or found nothing wrong).
EXIT_OK: Final = 0
#: ``lint``: findings that fail the gate.
EXIT_FINDINGS: Final = 1
#: ``bump``: the bump would be wrong (dirty pin file, downgrade, not a chart commit).
EXIT_REFUSED: Final = 1
#: Bad input: the model, a file or an option is wrong (also a command that cannot run).
EXIT_BAD_INPUT: Final = 2
#: ``bump``: the target is not installable from the chart index yet (or ``--wait`` timed out).
EXIT_UNPUBLISHED: Final = 3
#: ``diagnose``: it could not run (unreadable log, invalid model or catalog, bad option);
#: not 2, which is one of its verdicts.
EXIT_COULD_NOT_RUN: Final = 4

#: ``diagnose``: the failure is spurious (safe to rerun, maybe after waiting).
EXIT_SPURIOUS: Final = 0
#: ``diagnose``: the failure is legitimate (a human must fix something).
EXIT_LEGITIMATE: Final = 1
#: ``diagnose``: a known failure whose verdict needs a check that could not run, or nothing
#: in the catalog matched.
EXIT_UNDETERMINED: Final = 2
#: ``diagnose``: the exit status of each verdict.
VERDICT_EXIT_CODES: Final = {
    "spurious": EXIT_SPURIOUS,
    "legitimate": EXIT_LEGITIMATE,
    "undetermined": EXIT_UNDETERMINED,
    "unknown": EXIT_UNDETERMINED,
}

#: Ctrl-C (what a shell reports for SIGINT).
EXIT_INTERRUPTED: Final = 130
#: The output pipe was closed (``| head``; what a shell reports for SIGPIPE).
EXIT_BROKEN_PIPE: Final = 141
#: SIGTERM, after the cleanups ran (what a shell reports for it).
EXIT_TERMINATED: Final = 143
