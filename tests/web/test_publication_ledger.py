"""The publication ledger: the first release of a month end partners see is kept, with every
figure it shows; later builds show partners that same release, and the next month's is suppressed
knowing what was published."""

from __future__ import annotations

from pathlib import Path

from tests.web.conftest import THRESHOLD
from tests.web.helpers import served_copy, sign_in
from tests.webdata import WebData
from vcop.metrics.release import Release
from vcop.store.build import changing
from vcop.store.publications import cell_key, cell_text, known_cells, releases


def test_partners_keep_seeing_the_release_first_published(
    webdata: WebData, published: Release, tmp_path: Path
) -> None:
    with served_copy(webdata, tmp_path, suppression_threshold=THRESHOLD) as app:
        partner = sign_in(app, "partner1")
        analyst = sign_in(app, "analyst1")
        before = partner.get("/compliance.json").json()
        seen_by_analyst = analyst.get("/compliance.json").json()
        ops = app.state.vcop.ops
        mine = [r for r in releases(ops) if r["threshold"] == THRESHOLD]
        (kept,) = [r for r in mine if r["as_of"] == published.as_of.isoformat()]
        assert kept["first_output"]  # the dashboard, or a return or pack written before
        # every figure it showed is recorded (an earlier window it compares with may be counted
        # as it stood then: the figure's own date is not the release's)
        recorded = ops.scalar(
            "SELECT count(*) FROM published_cells WHERE threshold = ? AND as_of = ?",
            [THRESHOLD, published.as_of.isoformat()],
        )
        assert recorded == kept["cells"] > 0
        cells = known_cells(ops, THRESHOLD)
        assert set(published.visible) <= set(cells)

        db = app.state.vcop.builds.db
        with changing(db, "test: late records") as change:  # a later build with fewer updates
            change.con.execute("DELETE FROM contacts WHERE contact_id IN "
                               "(SELECT contact_id FROM contacts ORDER BY contact_id LIMIT 400)")  # fmt: skip
            change.con.execute("DELETE FROM entitlements WHERE status = 'met' AND victim_id IN "
                               "(SELECT victim_id FROM entitlements ORDER BY 1 LIMIT 300)")  # fmt: skip
        assert app.state.vcop.builds.check()
        assert (
            analyst.get("/compliance.json").json() != seen_by_analyst
        )  # the force sees the change
        assert partner.get("/compliance.json").json() == before  # partners: the same release
        assert len([r for r in releases(ops) if r["threshold"] == THRESHOLD]) == len(mine)


def test_cell_keys_round_trip(published: Release) -> None:
    for key in list(published.visible)[:200]:
        assert cell_key(cell_text(key)) == key
