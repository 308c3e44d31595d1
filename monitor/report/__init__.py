"""`monitor report`: availability over a window from the stored history.

- `build`: the figures (per target, group and overall) and the command;
- `render`: the figures as HTML, Markdown or CSV in the configured language.
"""
