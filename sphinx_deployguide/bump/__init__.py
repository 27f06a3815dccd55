"""``deployguide bump``: pin the right chart version with no value typed by a person.

The 2018 incident pinned a version whose SHA was a merge commit: it was never published.
A bump therefore takes its target from chartpress's own algorithm (or checks a ``--to``
against it), compares versions by their place in the source history (never by SemVer),
refuses to pin what the index does not have (or waits for it), edits only the version
string of the pin, and writes the commit message and PR body from git and the index.

- :mod:`.run`: the whole bump, one step per line (:func:`.run.bump`), and its result;
- :mod:`.plan`: the request, the target and the pin, and the refusals;
- :mod:`.waiting`: whether the target is published, and ``--wait``;
- :mod:`.text`: the evidence (chart commits) and the commit message and PR body;
- :mod:`.branch`: the pin file and the deploy repo's branch (write, commit, undo).

Git, the index and files are reached through :mod:`..git`, :mod:`..chartindex` and
:mod:`..pinedit`.
"""
