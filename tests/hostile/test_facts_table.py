"""The ``facts`` table stays a table: a long list folds (the JSON keeps every item), and a
long value puts its provenance on the next line, in the provenance column."""

from __future__ import annotations

import json

from tests.driftfixtures import pin

from .conftest import deployguide, expect


def test_a_long_pending_list_folds_and_the_provenance_keeps_its_column(hworld):
    pin(hworld, hworld.versions[0].version)  # far back: many chart commits pending
    data = deployguide("facts", "--json", "charts.binderhub", cwd=hworld.deploy)
    expect(data, 0)
    pending = json.loads(data.out)["facts"]["charts.binderhub.pending"]["value"]
    assert len(pending) > 10
    text = deployguide("facts", "charts.binderhub", cwd=hworld.deploy)
    expect(text, 0)
    lines = text.out.splitlines()
    column = lines[0].index("provenance")
    [row] = [line for line in lines if line.startswith("charts.binderhub.pending ")]
    assert row.endswith(f"{', '.join(pending[:3])} and {len(pending) - 3} more")
    assert pending[3] not in text.out  # folded: the JSON has the rest
    follows = lines[lines.index(row) + 1]
    assert follows[:column].strip() == "" and follows[column:].startswith("../binderhub @ main@")
    for number, line in enumerate(lines[1:], start=1):  # every provenance starts in its column
        if line.startswith(" "):
            continue  # the provenance of a long value, checked with it
        if line[column - 2 : column] != "  " or line[column] == " ":  # a long value ...
            below = lines[number + 1]  # ... has its provenance below, in the column
            assert below[:column].strip() == "" and below[column] != " ", line
