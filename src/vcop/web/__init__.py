"""The dashboard: FastAPI, server-rendered pages in the GOV.UK Design System's style.

``vcop serve`` runs it; :func:`create_app` builds it (tests use it in-process).
"""

from vcop.web.app import create_app

__all__ = ["create_app"]
