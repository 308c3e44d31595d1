"""Before a watch period: will everything hold until it ends? (`monitor preflight`)

- `model`: `Row` (status ok / warning / problem, the ids concerned, what was found,
  what to do, as catalogue keys with values) and `Checklist`;
- `facts`: `Facts`, everything the checks judge, and `read_history` (through the store
  seam);
- `host`: what the machine tells (free space, open-file limits, the clock);
- `checks`: one function per check, `CHECKS` in order;
- `run`: the command (the window, the stored history, certificates read now,
  `--send-test`);
- `inside`: the same checklist in the running monitor (the admin view's section, one
  alert at a watch's start);
- `render`: text, HTML, Markdown and JSON in the configured language.
"""
