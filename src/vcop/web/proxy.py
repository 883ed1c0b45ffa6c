"""Serving under a path prefix behind the force's reverse proxy (``vcop serve --root-path /vcop``).

The pages link to site paths (``/compliance``, ``/static/vcop.css``, forms posting to
``/login``). Behind a proxy that serves vcop at ``https://intranet.example/vcop/`` and strips the
prefix before passing requests on, those links must carry the prefix. :class:`RootPath` adds it,
in one place: to the ``href``, ``src``, ``action`` and ``hx-*`` attributes of every HTML page, to
redirects' ``Location`` and to cookies' ``Path``. A link that already carries the prefix is left
alone, so a page built from the request's full URL is not prefixed twice.
"""

from __future__ import annotations

import re

from vcop.web.asgi import ASGIApp, Message, Receive, Scope, Send

_ATTRIBUTE = re.compile(rb'(\s(?:href|src|action|hx-get|hx-post)=")(/(?!/)[^"]*)"')
_COOKIE_PATH = re.compile(rb"(?i)(;\s*path=)(/[^;]*)")


def normalise(root_path: str) -> str:
    """``vcop/`` -> ``/vcop``; empty stays empty."""
    root = "/" + root_path.strip().strip("/")
    return "" if root == "/" else root


class RootPath:
    """Prefix the site's own links with ``root`` (see the module docstring)."""

    def __init__(self, app: ASGIApp, root: str) -> None:
        self.app = app
        self.root = normalise(root).encode()

    def _prefix(self, path: bytes) -> bytes:
        if path == self.root or path.startswith(self.root + b"/"):
            return path
        return self.root + path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.root:
            await self.app(scope, receive, send)
            return
        if not scope.get("root_path"):
            scope["root_path"] = self.root.decode()
        start: Message | None = None
        html = False
        body: list[bytes] = []

        async def rewrite(message: Message) -> None:
            nonlocal start, html
            if message["type"] == "http.response.start":
                headers = []
                for name, value in message.get("headers", []):
                    if (
                        name.lower() == b"location"
                        and value.startswith(b"/")
                        and not value.startswith(b"//")
                    ):
                        value = self._prefix(value)
                    elif name.lower() == b"set-cookie":
                        value = _COOKIE_PATH.sub(
                            lambda m: m.group(1) + self._prefix(m.group(2)), value
                        )
                    elif name.lower() == b"content-type" and value.startswith(b"text/html"):
                        html = True
                    headers.append((name, value))
                message["headers"] = headers
                if not html:
                    await send(message)
                else:
                    start = message
                return
            if not html:
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            page = _ATTRIBUTE.sub(
                lambda m: m.group(1) + self._prefix(m.group(2)) + b'"', b"".join(body)
            )
            assert start is not None
            start["headers"] = [
                (n, str(len(page)).encode() if n.lower() == b"content-length" else v)
                for n, v in start["headers"]
            ]
            await send(start)
            await send({"type": "http.response.body", "body": page, "more_body": False})

        await self.app(scope, receive, rewrite)
