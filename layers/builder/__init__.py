"""Build the Tesseract Lambda layer from Debian bookworm's signed packages, without Docker or root.

One module per step, in the order a build runs them:

- ``sources``: which mirror (the bookworm sources apt itself uses)
- ``index``: the signed InRelease and Packages indexes of one architecture
- ``fetch``: downloads checked against those indexes, kept in the cache
- ``debs``: unpacked .deb files and the files inside them
- ``elf``: what an ELF file loads (its dynamic section and interpreter)
- ``resolve``: which packages and libraries tesseract needs
- ``lock``: the pinned packages, ``layers/tesseract.lock.json``
- ``assemble``: the layer tree, its wrapper script and the reproducible zip
- ``cli``: one build from arguments to a layer, and the tests' entry points

``config`` holds the fixed facts (suites, architectures, paths) and ``report``
how the build talks to its user. ``layers/build.py`` is the command.
"""
