"""Two-way Telegram: the bot of an `interactive = true` telegram notifier.

- `buttons`: the inline buttons on alert messages and their callback data;
- `api`: the Bot API calls the bot makes (`getUpdates`, `answerCallbackQuery`,
  `editMessageText`, `sendMessage`);
- `commands`: what an update asks (a command, a button) and the answer, through the
  on-call desk (`monitor.alerting.oncall`), for `allowed_users` only;
- `poller`: long polling `getUpdates`, the offset kept in the store, failures backed off;
- `bots`: one poller per bot token, started and stopped as the configuration changes.
"""
