"""The configuration: `targets.toml` read, validated and frozen.

- `model`: the frozen values (`Config`, `Settings`, `Target`, ...), re-exported here;
- `loader`: `load_config(path)`, every problem at once with its key path and line;
- `duty`: `[[duty]]` shifts and `[rosters.NAME]`, and the gaps in a roster (warnings);
- `reader`: the TOML `Table` reader that the loader and every probe and notifier kind
  validate their keys with, and durations.

The loader is not re-exported: it imports the probe and notifier registries, which
import `reader`, so importing it here would make a cycle.
"""

from monitor.config.model import Config, Maintenance, NotifierConfig, Roster, Settings, Shift, Target, Watch

__all__ = ["Config", "Maintenance", "NotifierConfig", "Roster", "Settings", "Shift", "Target", "Watch"]
