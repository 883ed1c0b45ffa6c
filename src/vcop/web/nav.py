"""The service navigation: the pages a signed-in user may open, in order.

Some pages are offered only where the data have them: the most-similar-forces comparison
(``/peers``) only when the database holds more than one force — a single force's dashboard looks
as it always has — and, for a partner, only when the release publishes figures by force (see
:func:`offered`).
"""

from __future__ import annotations

from dataclasses import dataclass

from vcop.web.auth import Permission, User
from vcop.web.db import WebStore


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    permission: Permission
    active: bool = False


#: (label, path, permission) in the order they appear.
ITEMS: list[tuple[str, str, Permission]] = [
    ("Overview", "/", Permission.aggregate),
    ("Compliance", "/compliance", Permission.aggregate),
    ("Satisfaction", "/satisfaction", Permission.aggregate),
    ("Response times", "/response-times", Permission.aggregate),
    ("Outcomes", "/outcomes", Permission.aggregate),
    ("Support services", "/services", Permission.aggregate),
    ("Similar forces", "/peers", Permission.aggregate),
    ("Worklist", "/worklist", Permission.record),
    ("Feedback", "/feedback", Permission.record),
    ("Find a victim", "/victims", Permission.record),
    ("Audits", "/audits", Permission.qa),
    ("Inspections", "/tracker", Permission.aggregate),
    ("Data quality", "/data-quality", Permission.data_quality),
    ("Access log", "/access-log", Permission.audit),
    ("Accounts", "/users", Permission.audit),
]


#: Pages offered only when the data hold more than one force.
SEVERAL_FORCES: frozenset[str] = frozenset({"/peers"})


def navigation(
    user: User | None,
    path: str,
    only: frozenset[str] | None = None,
    hidden: frozenset[str] = frozenset(),
) -> list[NavItem]:
    """The items ``user`` may open (and, with ``only``, that are among those pages: a build of
    published data supports only some, see :data:`vcop.web.public.PAGES`), less ``hidden``
    (those :func:`offered` does not offer)."""
    if user is None:
        return []
    items = []
    for label, href, permission in ITEMS:
        if not user.may(permission) or (only is not None and href not in only) or href in hidden:
            continue
        active = path == href if href == "/" else path == href or path.startswith(href + "/")
        items.append(NavItem(label, href, permission, active))
    return items


def force_count(store: WebStore) -> int:
    """How many forces the database's crimes belong to (read once per build)."""

    def count() -> int:
        if not store.has_table("crimes") or "force" not in store.columns("crimes"):
            return 0
        return int(store.scalar("SELECT count(DISTINCT force) FROM crimes") or 0)

    return store.cached(("force_count",), count)


def several_forces(store: WebStore) -> bool:
    """Whether the database holds more than one force (a regional or national build)."""
    return force_count(store) > 1


def offered(store: WebStore, user: User | None) -> bool:
    """Whether the pages of :data:`SEVERAL_FORCES` are offered to ``user``: only with more than
    one force, and to a partner only when the release publishes figures by force (the partner
    release decides what is published: :func:`vcop.metrics.release.partner_splits`)."""
    if user is None or not several_forces(store):
        return False
    if user.suppressed:
        from vcop.metrics.release import partner_splits
        from vcop.spec.metrics import load_catalogue

        return "force" in partner_splits(load_catalogue())
    return True


def hidden_pages(store: WebStore, user: User | None) -> frozenset[str]:
    """The pages the navigation leaves out for ``user`` over ``store``."""
    return frozenset() if offered(store, user) else SEVERAL_FORCES
