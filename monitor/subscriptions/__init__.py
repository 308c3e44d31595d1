"""Citizens' e-mail subscriptions (`[subscriptions]`): double opt-in, signed links, mails
on incidents, through their own durable queue.

- `tokens`: the signed links (confirmation: address, choice, language and expiry;
  unsubscription: the subscriber's id), HMAC-SHA256 with the store's key;
- `mails`: each message as RFC 5322 text in the subscriber's language, with the
  one-click unsubscribe link and headers (RFC 8058);
- `delivery`: `MailSender`, the one worker draining the subscriber mail queue through
  the e-mail notifier's SMTP code, with backoff (a failing server delays, never drops);
- `notices`: which of the configuration's maintenance windows to mail (new,
  rescheduled, cancelled), against what the store remembers was told;
- `service`: `Subscriptions`, what the web routes and the runtime call: `request`,
  `confirm`, `unsubscribe`, `on_event` (DOWN and recovery), `on_maintenance`,
  `on_configuration` (the configuration's maintenance windows), `send_incident_update`
  (the hook of the incident-update path) and `prune` (sent mails after 30 days).
"""
