"""The service navigation: the pages a signed-in user may open, in order."""

from __future__ import annotations

from dataclasses import dataclass

from vcop.web.auth import Permission, User


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
    ("Worklist", "/worklist", Permission.record),
    ("Feedback", "/feedback", Permission.record),
    ("Find a victim", "/victims", Permission.record),
    ("Audits", "/audits", Permission.qa),
    ("Inspections", "/tracker", Permission.aggregate),
    ("Data quality", "/data-quality", Permission.data_quality),
    ("Access log", "/access-log", Permission.audit),
    ("Accounts", "/users", Permission.audit),
]


def navigation(user: User | None, path: str, only: frozenset[str] | None = None) -> list[NavItem]:
    """The items ``user`` may open (and, with ``only``, that are among those pages: a build of
    published data supports only some, see :data:`vcop.web.public.PAGES`)."""
    if user is None:
        return []
    items = []
    for label, href, permission in ITEMS:
        if not user.may(permission) or (only is not None and href not in only):
            continue
        active = path == href if href == "/" else path == href or path.startswith(href + "/")
        items.append(NavItem(label, href, permission, active))
    return items
