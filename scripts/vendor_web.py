"""Re-vendor the dashboard's JavaScript and CSS from npm package tarballs (run by hand, rarely).

    cd /tmp && npm pack vega@5 vega-lite@5 vega-embed@6 vega-interpreter@1 htmx.org@2 \
        axe-core@4 govuk-frontend@5
    uv run python scripts/vendor_web.py /tmp

Copies each package's built file and licence into ``src/vcop/web/static/vendor/`` (axe-core, used
only by the browser tests, into ``tests/browser/vendor/``) and rewrites ``VENDOR.md`` with the
versions. GOV.UK Frontend's compiled CSS is used with Crown copyright assets taken out: its
``@font-face`` rules for GDS Transport (a font only gov.uk services may use) are removed, its font
stack becomes the system sans-serif one, and the footer crest rules are removed. The crown logo
and the fonts themselves are never copied.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "src/vcop/web/static/vendor"
BROWSER = ROOT / "tests/browser/vendor"

BSD3 = """Copyright (c) 2015-2024, University of Washington Interactive Data Lab
All rights reserved.

Redistribution and use in source and binary forms, with or without
modification, are permitted provided that the following conditions are met:

1. Redistributions of source code must retain the above copyright notice, this
   list of conditions and the following disclaimer.

2. Redistributions in binary form must reproduce the above copyright notice,
   this list of conditions and the following disclaimer in the documentation
   and/or other materials provided with the distribution.

3. Neither the name of the copyright holder nor the names of its contributors
   may be used to endorse or promote products derived from this software
   without specific prior written permission.

THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"
AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE
DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT OWNER OR CONTRIBUTORS BE LIABLE
FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR
SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER
CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY,
OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
"""

MIT_GOVUK = """The MIT License (MIT)

Copyright (c) 2018 Crown Copyright (Government Digital Service)

Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of
the Software, and to permit persons to whom the Software is furnished to do so,
subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS
FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR
COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER
IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
"""

#: (npm package, file in the tarball, destination folder, fallback licence text)
PACKAGES = [
    ("vega", "package/build/vega.min.js", STATIC / "vega", BSD3),
    ("vega-lite", "package/build/vega-lite.min.js", STATIC / "vega-lite", None),
    ("vega-embed", "package/build/vega-embed.min.js", STATIC / "vega-embed", None),
    (
        "vega-interpreter",
        "package/build/vega-interpreter.min.js",
        STATIC / "vega-interpreter",
        BSD3,
    ),
    ("htmx.org", "package/dist/htmx.min.js", STATIC / "htmx", None),
    (
        "govuk-frontend",
        "package/dist/govuk/govuk-frontend.min.css",
        STATIC / "govuk-frontend",
        MIT_GOVUK,
    ),
    # its components' script (an ES module: the service navigation's "Menu" button and others),
    # started by static/govuk-init.js
    (
        "govuk-frontend",
        "package/dist/govuk/govuk-frontend.min.js",
        STATIC / "govuk-frontend",
        MIT_GOVUK,
    ),
    ("axe-core", "package/axe.min.js", BROWSER / "axe-core", None),
]


def strip_crown_assets(css: str) -> str:
    """GOV.UK Frontend's CSS without GDS Transport or the crest (Crown copyright, gov.uk only)."""
    css = re.sub(r"@font-face\{font-family:GDS Transport;[^}]*\}", "", css)
    css = css.replace("font-family:GDS Transport,arial,sans-serif", "font-family:arial,sans-serif")
    css = css.replace("font-family:GDS Transport", "font-family:arial,sans-serif")
    css = re.sub(
        r"@supports \(\(-webkit-mask-position:initial\) or \(mask-position:initial\)\)"
        r"\{\.govuk-footer__copyright-logo:before\{[^}]*\}\}",
        "",
        css,
    )
    css = re.sub(r"\.govuk-footer__copyright-logo:before\{[^}]*\}", "", css)
    if "GDS Transport" in css or "govuk-crest" in css or "/assets/" in css:
        raise SystemExit("govuk-frontend CSS still refers to Crown copyright assets")
    return css


def strip_source_map(text: str) -> str:
    return re.sub(
        r"\n?//# sourceMappingURL=\S+\s*$|\n?/\*# sourceMappingURL=\S+ \*/\s*$", "\n", text
    )


def main(source: Path) -> None:
    lines = [
        "# Vendored front-end files",
        "",
        "Copied from npm package tarballs by `scripts/vendor_web.py` (never fetched at run time: the",
        "dashboard works with no internet). Each folder holds the built file and its licence.",
        "",
        "| package | version | licence | file | sha256 |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, member, dest, fallback in PACKAGES:
        tarballs = sorted(source.glob(f"{name}-[0-9]*.tgz"))
        if not tarballs:
            raise SystemExit(f"{source}: no {name}-*.tgz (run npm pack {name})")
        with tarfile.open(tarballs[-1]) as tar:
            meta = json.load(tar.extractfile("package/package.json"))  # type: ignore[arg-type]
            text = tar.extractfile(member).read().decode()  # type: ignore[union-attr]
            names = tar.getnames()
            licence_member = next(
                (n for n in names if re.fullmatch(r"package/LICEN[CS]E(\.txt|\.md)?", n)), None
            )
            licence = (
                tar.extractfile(licence_member).read().decode()  # type: ignore[union-attr]
                if licence_member
                else fallback
            )
        if licence is None:
            raise SystemExit(f"{name}: no licence file")
        if name == "govuk-frontend" and member.endswith(".css"):
            text = strip_crown_assets(text)
        text = strip_source_map(text)
        dest.mkdir(parents=True, exist_ok=True)
        out = dest / Path(member).name
        out.write_text(text)
        (dest / "LICENSE").write_text(licence)
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        rel = out.relative_to(ROOT)
        lines.append(f"| {name} | {meta['version']} | {meta['license']} | `{rel}` | {digest} |")
        if dest.parent == BROWSER:
            (BROWSER / "VERSION").write_text(f"{name} {meta['version']} ({meta['license']})\n")
    lines += [
        "",
        "GOV.UK Frontend is used for its patterns, styles and its components' script (an ES",
        "module, started by `static/govuk-init.js`; it holds no Crown copyright asset). Its",
        "`@font-face` rules for GDS Transport and its footer crest rules are removed (Crown copyright",
        "assets may be used only on gov.uk); text uses the system sans-serif font. No crown logo,",
        "font or image is copied.",
        "",
        "Vega is run with `vega-interpreter` so charts render under a Content-Security-Policy",
        "without `unsafe-eval`.",
        "",
    ]
    (STATIC / "VENDOR.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp"))
