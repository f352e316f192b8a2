"""Copy Mirador's prebuilt bundle from the pinned npm package into web/vendor/ (run by scripts/setup.sh).

Mirador 4 ships ``dist/mirador.min.js`` (React included): copying that one
file of the pinned release is the whole build. The package is fetched with
``npm pack`` (the npm registry, no CDN at run time), checked against the
integrity hash pinned here, and only that file is taken out of it, so none of
Mirador's 199 dependencies is installed. The copy is not committed
(web/vendor/ is ignored): the set-up makes it, and `sls package` ships it.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSION = "4.0.0"
# `npm view mirador@4.0.0 dist.integrity`
INTEGRITY = "sha512-uWsE9e2oqSc/lUu+vVwDGhTsycuhGsfZ2KfX6CLfXiT3wgGy6qT9+q5M3V9Zz72hkdIgsJugKesaowmRtYmvrA=="
CACHE = ROOT / ".cache" / "mirador"
TARGET = ROOT / "web" / "vendor" / "mirador.min.js"
MEMBER = "package/dist/mirador.min.js"


def _integrity(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def main() -> int:
    tarball = CACHE / f"mirador-{VERSION}.tgz"
    stamp = TARGET.with_suffix(".version")
    if TARGET.exists() and stamp.exists() and stamp.read_text() == INTEGRITY:
        return 0
    if not tarball.exists() or _integrity(tarball) != INTEGRITY:
        CACHE.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["npm", "pack", f"mirador@{VERSION}", "--pack-destination", str(CACHE), "--silent"],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            print(f"vendor_mirador: npm pack mirador@{VERSION} failed: {done.stderr.strip()[-300:]}", file=sys.stderr)
            return 1
    if _integrity(tarball) != INTEGRITY:
        print(f"vendor_mirador: {tarball} does not match the pinned integrity: refusing it", file=sys.stderr)
        return 1
    with tarfile.open(tarball) as archive:
        member = archive.extractfile(MEMBER)
        if member is None:
            print(f"vendor_mirador: {MEMBER} missing from mirador {VERSION}", file=sys.stderr)
            return 1
        TARGET.parent.mkdir(parents=True, exist_ok=True)
        TARGET.write_bytes(member.read())
    stamp.write_text(INTEGRITY)
    size = TARGET.stat().st_size
    print(f"vendor_mirador: mirador {VERSION} -> {TARGET.relative_to(ROOT)} ({size / 1e6:.1f} MB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
