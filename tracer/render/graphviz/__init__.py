"""SVG, PNG and PDF through graphviz: ipctrace places everything, `neato -n2` only draws it.

- `themes`: the colours; `canvas`: DOT nodes and edges at fixed positions; `sheet`: one drawing surface.
- `paint_lanes`, `paint_arrows`, `paint_text`: what is drawn, by kind; `painter`: the master and each slide.
- `neato`: running graphviz (in parallel); `files`: cutting and joining its PNG and PDF output; `pngfast`: the
  small `LD_PRELOAD` library (`pngfast.c`, built on first use) that sets the PNG pages' zlib level and filter.
- `early`: the neato processes `ipctrace run` starts while its programs run, taken by the drawing's jobs.
- `renderers`: `draw` (every format in one pass) and the registry's SVG, PNG and PDF renderers.
"""
